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
