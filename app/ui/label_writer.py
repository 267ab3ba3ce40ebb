"""Saving labels off the GUI thread, in the order they were made.

A label key shows its effect at once (the table's "mine" column, the detail
pane, the next sample) and hands the write to this writer: one thread, one
queue, so labels reach the store in keystroke order (undo and redo too).
The thread waits DELAY_S after a label arrives before writing it, so the
store work (a transaction with its audit entry, ~4 ms on SQLite, most of it
Python holding the GIL) runs after the window has painted the next sample
instead of competing with it; a label is in the store ~30 ms after its key.

Each label is a signed batch of one (docs/trust.md): `service.set_label` signs
the labels statement with the reviewer's key here, on the writer thread, so an
ssh-agent round trip never holds up the window; a refused signature (no key)
comes back through `failed` like any other refusal.

Whatever reads labels back from the store (the policy verdict, the
approval dialog, reloading an eval set, exports) reads through
ReviewOps.service (app/ui/concurrent.py), which calls `flush()` first: it
waits until every queued label is written. A label the store refuses
(a lost connection, an unknown error category) comes back through `failed`:
the window says so in its banner and shows the label as it was before.
"""

from __future__ import annotations

import logging
import queue
import threading

from PySide6.QtCore import QObject, Signal

from signoff.core.errors import SignoffError

log = logging.getLogger(__name__)
DELAY_S = 0.03   # after a key: let the window paint the next sample first


class LabelWriter(QObject):
    saved = Signal(object, object)          # key (request id, eval set, sample id), the saved Label
    failed = Signal(object, object, str, str)   # key, the fields as they were before, message, details

    def __init__(self, service, parent: QObject | None = None):
        super().__init__(parent)
        self._service = service
        self._queue: queue.Queue = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._hurry = threading.Event()     # set by flush(): write now

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, key: tuple[int, str, str], fields: dict, before: dict, kwargs: dict | None = None) -> None:
        """Queue `service.set_label(*key, **fields, **kwargs)`."""
        if self._closed:
            raise SignoffError("the window is closing: the label was not saved")
        with self._idle:
            self._pending += 1
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="label-writer", daemon=True)
            self._thread.start()
        self._queue.put((key, dict(fields), dict(before), dict(kwargs or {})))

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued label is written (True), or `timeout` passed (False)."""
        self._hurry.set()
        try:
            with self._idle:
                return self._idle.wait_for(lambda: self._pending == 0, timeout)
        finally:
            self._hurry.clear()

    def close(self, timeout: float = 30.0) -> bool:
        """Write what is queued, then stop the thread."""
        done = self.flush(timeout)
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        return done

    def _run(self) -> None:  # the writer thread
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._hurry.wait(DELAY_S)
            key, fields, before, kwargs = item
            try:
                saved = self._service.set_label(*key, **fields, **kwargs)
            except SignoffError as exc:
                self._emit(self.failed, key, before, str(exc), "")
            except Exception as exc:  # a store failure must not kill the thread, nor lose the message
                log.exception("saving a label failed")
                self._emit(self.failed, key, before, f"{type(exc).__name__}: {exc}", repr(exc))
            else:
                self._emit(self.saved, key, saved)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window is gone (app quitting): nothing left to tell
            pass
