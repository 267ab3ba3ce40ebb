"""Run plain functions off the GUI thread (superqt/napari `thread_worker` style).

    worker = run_in_thread(load, request_id, eval_set, with_task=True,
                           on_progress=bar.update,      # (message, fraction or -1)
                           on_finished=show,            # (result)
                           on_failed=show_error,        # (message, details)
                           on_cancelled=reset)

The function runs on QThreadPool; it must not touch any widget. With
`with_task=True` it gets a TaskState (signoff.core.tasks) as keyword `task`:
`task.report(message, fraction)` becomes the progress signal, and
`worker.cancel()` makes `task.check()` raise Cancelled. A result that
arrives after cancel() is dropped and `cancelled` is emitted instead, so a
function that cannot check for cancel still lets the UI move on at once.

Signals are emitted from the worker thread; their QObject lives in the GUI
thread, so connected slots run there (queued). Every running worker is
referenced from `_RUNNING` until it ends, so Python never collects a
QRunnable that Qt still runs.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from signoff.core.errors import SignoffError
from signoff.core.tasks import Cancelled, TaskState

log = logging.getLogger(__name__)

_RUNNING: set["Worker"] = set()
_RUNNING_LOCK = threading.Lock()


class WorkerSignals(QObject):
    progress = Signal(str, float)      # message, fraction 0..1 or -1 when unknown
    finished = Signal(object)          # the function's result
    failed = Signal(str, str)          # one-line message, details (traceback)
    cancelled = Signal()
    done = Signal()                    # after any of the three above


class Worker(QRunnable):
    def __init__(self, fn: Callable[..., Any], *args, with_task: bool = False, **kwargs):
        super().__init__()
        self.setAutoDelete(False)
        self.signals = WorkerSignals()
        self.task = TaskState(on_progress=self._on_progress)
        self._fn = fn
        self._args = args
        self._kwargs = dict(kwargs)
        if with_task:
            self._kwargs["task"] = self.task
        self._ended = threading.Event()

    # Called in the worker thread through TaskState.report.
    def _on_progress(self, message: str, fraction: float | None) -> None:
        self._emit(self.signals.progress, str(message), -1.0 if fraction is None else float(fraction))

    def _emit(self, signal, *args) -> None:
        # The receiver (and the signals' QObject) can be gone when the app quits while the
        # function still runs: then there is no one left to tell, and the worker just ends.
        try:
            signal.emit(*args)
        except RuntimeError:
            self.task.cancel()

    def cancel(self) -> None:
        """Ask the function to stop; its result, if any, is dropped."""
        self.task.cancel()

    @property
    def is_running(self) -> bool:
        return not self._ended.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the function has returned (tests, shutdown)."""
        return self._ended.wait(timeout)

    def run(self) -> None:  # worker thread
        try:
            result = self._fn(*self._args, **self._kwargs)
        except Cancelled:
            self._emit(self.signals.cancelled)
        except SignoffError as exc:
            self._emit_failed(str(exc), traceback.format_exc())
        except Exception as exc:  # shown to the user with details, never a dead thread
            log.exception("background task failed")
            self._emit_failed(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            if self.task.cancelled:
                self._emit(self.signals.cancelled)
            else:
                self._emit(self.signals.finished, result)
        finally:
            self._ended.set()
            self._emit(self.signals.done)

    def _emit_failed(self, message: str, details: str) -> None:
        if self.task.cancelled:
            self._emit(self.signals.cancelled)
        else:
            self._emit(self.signals.failed, message, details)


def _forget(worker: Worker) -> None:
    with _RUNNING_LOCK:
        _RUNNING.discard(worker)


def start(worker: Worker, pool: QThreadPool | None = None) -> Worker:
    with _RUNNING_LOCK:
        _RUNNING.add(worker)
    worker.signals.done.connect(lambda w=worker: _forget(w))
    (pool or QThreadPool.globalInstance()).start(worker)
    return worker


def run_in_thread(fn: Callable[..., Any], *args, with_task: bool = False,
                  on_finished: Callable[[Any], None] | None = None,
                  on_failed: Callable[[str, str], None] | None = None,
                  on_cancelled: Callable[[], None] | None = None,
                  on_progress: Callable[[str, float], None] | None = None, **kwargs) -> Worker:
    """Start `fn(*args, **kwargs)` on the thread pool; returns the Worker.

    Pass the callbacks here rather than connecting to the returned worker's
    signals afterwards: a quick function can end before the caller connects.
    """
    worker = Worker(fn, *args, with_task=with_task, **kwargs)
    for signal, slot in ((worker.signals.finished, on_finished), (worker.signals.failed, on_failed),
                         (worker.signals.cancelled, on_cancelled), (worker.signals.progress, on_progress)):
        if slot is not None:
            signal.connect(slot)
    return start(worker)


def running_workers() -> list[Worker]:
    with _RUNNING_LOCK:
        return [w for w in _RUNNING if w.is_running]

