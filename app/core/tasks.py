"""Progress and cancel for long work, with no Qt: the UI adapts it to signals."""

from __future__ import annotations

import threading
from typing import Callable


class Cancelled(Exception):
    """The user cancelled; not an error."""


class TaskState:
    """Handed to long-running functions: they report progress and check for cancel.

    `on_progress(message, fraction)` is called from the worker thread; the UI
    forwards it to the GUI thread by a queued signal.
    """

    def __init__(self, on_progress: Callable[[str, float | None], None] | None = None):
        self._cancel = threading.Event()
        self._on_progress = on_progress

    def report(self, message: str, fraction: float | None = None) -> None:
        self.check()
        if self._on_progress is not None:
            self._on_progress(message, fraction)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()


NULL_TASK = TaskState()


class Ahead:
    """`work()` on a thread of its own, started at once, for what the caller needs later (issue 16:
    the inputs read while the store opens). result(): its value, or the exception it raised;
    handed out once."""

    def __init__(self, work: Callable[[], object], name: str = "signoff-ahead"):
        self._value: object = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _run(self, work) -> None:
        try:
            self._value = work()
        except BaseException as exc:   # for whoever asks for the result
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def discard(self) -> None:
        """Wait for the work to end and let its value go (an attempt given up, whose value nobody takes)."""
        self.wait()
        self._value = self._error = None

    def result(self):
        self.wait()
        value, error, self._value, self._error = self._value, self._error, None, None
        if error is not None:
            raise error
        return value
