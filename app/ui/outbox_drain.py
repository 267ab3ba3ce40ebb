"""The app posts what waits in the outbox in the background: on a timer and
right after a decision, one drain at a time, on a worker (a slow or down forge
never freezes the window). The status bar shows what still waits and why."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from app.service.publishing import OutboxDrainer, OutboxState
from app.ui import workers

DRAIN_INTERVAL_MS = 30_000


class BackgroundDrain(QObject):
    changed = Signal(object)   # OutboxState, on the GUI thread

    def __init__(self, store, parent: QObject | None = None, interval_ms: int = DRAIN_INTERVAL_MS):
        super().__init__(parent)
        self.drainer = OutboxDrainer(store)
        self.state: OutboxState | None = None
        self._worker: workers.Worker | None = None
        self._again = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.drain_now)
        self.timer.start()

    def drain_now(self) -> None:
        if self._worker is not None and self._worker.is_running:
            self._again = True          # a decision arrived mid-drain: drain once more after
            return
        worker = workers.Worker(self._drain)
        worker.signals.finished.connect(self._drained)
        worker.signals.failed.connect(lambda *_: self._drained(None))
        self._worker = workers.start(worker)

    def _drain(self):
        self.drainer.drain()
        return self.drainer.state()

    def _drained(self, state) -> None:
        self._worker = None
        if state is not None:
            self.state = state
            self.changed.emit(state)
        if self._again:
            self._again = False
            self.drain_now()

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_running

    def stop(self, wait: float = 5.0) -> None:
        self.timer.stop()
        self._again = False
        if self._worker is not None:
            self._worker.wait(wait)
            self._worker = None
