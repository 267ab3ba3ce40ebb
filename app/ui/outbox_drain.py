"""The app posts what waits in the outbox in the background: on a timer and
right after a decision, one drain at a time, on a worker (a slow or down forge
never freezes the window). The status bar shows what still waits and why,
and, when some posts failed for good (a bad token: 401), offers to retry them
(`RetryFailedControl`: a button beside the indicator and its context menu)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu, QToolButton

from signoff.service.publishing import OutboxState
from signoff.ui import workers

DRAIN_INTERVAL_MS = 30_000


class BackgroundDrain(QObject):
    changed = Signal(object)   # OutboxState, on the GUI thread

    def __init__(self, service, parent: QObject | None = None, interval_ms: int = DRAIN_INTERVAL_MS):
        """`service`: the ReviewPort (drain_outbox, requeue_failed), called on a worker."""
        super().__init__(parent)
        self.service = service
        self.state: OutboxState | None = None
        self._worker: workers.Worker | None = None
        self._again = False
        self._retry_actor: str | None = None    # set: the next drain first requeues failed entries
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.drain_now)
        self.timer.start()

    def drain_now(self) -> None:
        if self._worker is not None and self._worker.is_running:
            self._again = True          # a decision arrived mid-drain: drain once more after
            return
        worker = workers.Worker(self._drain)
        # A worker's report reaches the GUI thread queued, possibly after the next worker started:
        # each report names its worker, so a late one never ends (or drops the redrain of) another.
        worker.signals.finished.connect(lambda state, w=worker: self._drained(w, state))
        worker.signals.failed.connect(lambda *_, w=worker: self._drained(w, None))
        self._worker = workers.start(worker)

    def retry_failed(self, actor: str = "") -> None:
        """Put the failed entries back in the queue (the newest per target; the
        store's requeue_failed), then drain: both on the worker."""
        self._retry_actor = actor or "signoff"
        self.drain_now()

    def _drain(self):
        actor, self._retry_actor = self._retry_actor, None
        if actor is not None:
            self.service.requeue_failed(actor)
        return self.service.drain_outbox()

    def _drained(self, worker, state) -> None:
        if state is not None:
            self.state = state
            self.changed.emit(state)
        if worker is not self._worker:
            return                      # a late report of an earlier drain: the current one goes on
        self._worker = None
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


class RetryFailedControl(QObject):
    """"Retry failed posts" next to the window's outbox indicator: a small button,
    shown only while some posts failed for good, and the same action in the
    indicator's context menu. Both requeue the failed entries and drain at once."""

    def __init__(self, window: QMainWindow, drain: BackgroundDrain, actor: str = ""):
        super().__init__(window)
        self.window, self.drain, self.actor = window, drain, actor
        self.action = QAction("Retry failed posts", window)
        self.action.setObjectName("outbox.retry_failed")
        self.action.setToolTip("post the status updates that failed for good again, e.g. after fixing the token")
        self.action.triggered.connect(self.retry)
        self.button = QToolButton()
        self.button.setDefaultAction(self.action)
        self.button.setAutoRaise(True)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Right after the indicator: the window adds it first, then the Approve button
        # (an index out of range appends instead).
        window.statusBar().insertPermanentWidget(1, self.button)
        label = getattr(window, "status_label", None)
        if label is not None:
            label.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            label.customContextMenuRequested.connect(self._menu)
        drain.changed.connect(self.refresh)
        self.refresh()

    @property
    def failed(self) -> int:
        state = self.drain.state
        return state.failed if state is not None else 0

    def refresh(self, *_):
        self.action.setEnabled(self.failed > 0 and not self.drain.busy)
        self.action.setText(f"Retry {self.failed} failed post(s)" if self.failed else "Retry failed posts")
        self.button.setVisible(self.failed > 0)

    def retry(self) -> None:
        if not self.failed:
            return
        self.action.setEnabled(False)   # until the drain reports back
        self.window.statusBar().showMessage("retrying the failed status posts…", 5000)
        self.drain.retry_failed(self.actor)

    def _menu(self, pos) -> None:
        label = self.window.status_label
        menu = QMenu(label)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction(self.action)
        self.refresh()
        menu.popup(label.mapToGlobal(pos))
