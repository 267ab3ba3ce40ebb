"""The window's two ways of working off the GUI thread.

`SingleTask`: one task per widget (Orange's ConcurrentMixin). Starting a task
cancels the one before it; a result, failure or cancel of a task that is no
longer the current one never reaches its callbacks, so a slow answer to an old
question cannot overwrite the answer to the new one.

    self.search = SingleTask(self)
    self.search.start(search_rows, frame, needle, on_finished=self._found)
    self.search.cancel()        # the late result is dropped

`ReviewOps`: every write to the review (Anki's CollectionOp). `ops.write(fn,
…, on_success=, on_failure=)` runs `fn` on the thread pool after the labels
still queued (app/ui/label_writer.py) are written, then calls back on the GUI
thread and emits `reviewChanged(request_id)`, the one signal views listen to
(the verdict, the inbox, the charts, the status bar). A SignoffError (or any
exception) reaches `on_failure(exc)` with the exception itself, so a caller
can tell a policy refusal from a lost connection.

`ops.service` is the review service for reading: each call first waits for
the queued labels (one place, instead of a flush before every read), so what
comes back includes the label typed a moment ago. The label writer itself
calls the raw service (it is what the flush waits for).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, Signal

from signoff.core.errors import SignoffError
from signoff.ui import workers

log = logging.getLogger(__name__)


class SingleTask(QObject):
    """At most one running task; a new one cancels the old, late results are dropped."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._worker: workers.Worker | None = None
        self._generation = 0

    @property
    def running(self) -> bool:
        """A task was started and its outcome has not been delivered yet."""
        return self._worker is not None

    @property
    def worker(self) -> workers.Worker | None:
        return self._worker

    def start(self, fn: Callable[..., Any], *args, with_task: bool = True,
              on_finished: Callable[[Any], None] | None = None,
              on_failed: Callable[[str, str], None] | None = None,
              on_cancelled: Callable[[], None] | None = None,
              on_progress: Callable[[str, float], None] | None = None, **kwargs) -> workers.Worker:
        """Cancel the running task (its outcome is dropped) and start `fn(*args, **kwargs)`;
        with `with_task` it gets the worker's TaskState as `task=` (progress and cancel)."""
        self.cancel()
        generation = self._generation
        worker = workers.Worker(fn, *args, with_task=with_task, **kwargs)
        # Connected before the start: a quick function can end before the next line runs.
        worker.signals.finished.connect(lambda result, g=generation: self._deliver(g, on_finished, result))
        worker.signals.failed.connect(lambda msg, details, g=generation: self._deliver(g, on_failed, msg, details))
        worker.signals.cancelled.connect(lambda g=generation: self._deliver(g, on_cancelled))
        if on_progress is not None:
            worker.signals.progress.connect(
                lambda msg, fraction, g=generation: g == self._generation and on_progress(msg, fraction))
        self._worker = worker
        return workers.start(worker)

    def cancel(self) -> bool:
        """Ask the running task to stop and drop whatever it still delivers; True if there was
        one (running, or ended with its outcome not yet delivered: that outcome is dropped too)."""
        self._generation += 1
        worker, self._worker = self._worker, None
        if worker is None:
            return False
        worker.cancel()
        return True

    def shutdown(self, wait: float = 3.0) -> None:
        """Cancel, and wait for the function to return (no thread outlives the window)."""
        worker = self._worker
        self.cancel()
        if worker is not None:
            worker.wait(wait)

    def _deliver(self, generation: int, callback, *args) -> None:
        if generation != self._generation:
            return        # a task that was replaced or cancelled: its outcome is no one's
        if not shiboken6.isValid(self):
            return        # the widget it served is gone (a window closed while the task ran)
        self._worker = None
        if callback is not None:
            callback(*args)


class _ReadsAfterLabels:
    """The service, each call made once the queued labels are written (ReviewOps.service)."""

    def __init__(self, service, flush: Callable[[], object]):
        object.__setattr__(self, "_service", service)
        object.__setattr__(self, "_flush", flush)

    def __getattr__(self, name: str):
        value = getattr(self._service, name)
        if not callable(value):
            return value          # `user`, read live

        def call(*args, **kwargs):
            self._flush()
            return value(*args, **kwargs)

        return call

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError("the review service is changed through its methods (act_as), not its attributes")


def _attempt(fn: Callable[..., Any], args: tuple, kwargs: dict, before: Callable[[], object]) -> tuple:
    """Worker side of a write: ("ok", result) or ("error", the exception), never a raise."""
    try:
        before()
        return "ok", fn(*args, **kwargs)
    except SignoffError as exc:
        return "error", exc
    except Exception as exc:  # shown to the user like a refusal, with the log for details
        log.exception("a write to the review failed")
        return "error", exc


class ReviewOps(QObject):
    """Writes off the GUI thread with callbacks, one `reviewChanged` signal, reads after the labels."""

    reviewChanged = Signal(int)      # the request whose review changed (labels, status, decisions)

    def __init__(self, service, parent: QObject | None = None, *,
                 flush_labels: Callable[[], object] | None = None):
        super().__init__(parent)
        self._raw = service
        self._flush = flush_labels or (lambda: True)
        self.service = _ReadsAfterLabels(service, self._flush)
        self._running: list[workers.Worker] = []

    def write(self, fn: Callable[..., Any], *args, request_id: int | None = None,
              on_success: Callable[[Any], None] | None = None,
              on_failure: Callable[[BaseException], None] | None = None, **kwargs) -> workers.Worker:
        """Run `fn(*args, **kwargs)` (a write on the service) on the thread pool, after the queued
        labels; then, on the GUI thread, `on_success(result)` and reviewChanged(request_id), or
        `on_failure(exception)`."""
        worker = workers.Worker(_attempt, fn, args, kwargs, self._flush)
        worker.signals.finished.connect(lambda outcome, w=worker: self._done(w, outcome, request_id,
                                                                              on_success, on_failure))
        worker.signals.failed.connect(lambda message, _details, w=worker: self._done(
            w, ("error", RuntimeError(message)), request_id, on_success, on_failure))
        self._running.append(worker)
        return workers.start(worker)

    def changed(self, request_id: int) -> None:
        """Tell the views a request's review changed (a write that did not go through write())."""
        self.reviewChanged.emit(int(request_id))

    def _done(self, worker, outcome: tuple, request_id, on_success, on_failure) -> None:
        if worker in self._running:
            self._running.remove(worker)
        if not shiboken6.isValid(self):
            return        # the window closed while the write ran: the write is done, no one to tell
        kind, value = outcome
        if kind == "error":
            if on_failure is not None:
                on_failure(value)
            return
        if on_success is not None:
            on_success(value)
        if request_id is not None:
            self.changed(request_id)

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until every write started here has returned (shutdown)."""
        return all(w.wait(timeout) for w in list(self._running))
