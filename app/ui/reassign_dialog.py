"""Review ▸ Reassign…: move a reviewer's OPEN items to others (issue 12), as `signoff assign
REQUEST --from bob@… --to carol@…` does. The team's queues are read on a worker before the dialog
opens; the move runs ReviewService.reassign on a worker (it checks who may reassign and to whom,
and audits the move). Names are shown as plain text.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QListWidget,
                               QListWidgetItem, QVBoxLayout)

from signoff.ui import workers
from signoff.ui.diff_view import plain_label


def read_team(service, request_id: int) -> dict:
    """Worker side: {"roles": {role: [members]}, "progress": queue_progress} (dealt on first use)."""
    config = service.config(request_id)
    if not getattr(config.policy, "overlap", None):
        return {"request_id": request_id, "roles": {}, "progress": {}}
    service.assignments(request_id)
    return {"request_id": request_id,
            "roles": {r: [m.strip().lower() for m in ms] for r, ms in config.roles.items()},
            "progress": service.queue_progress(request_id)}


class ReassignDialog(QDialog):
    """From: a reviewer with open items; to: members of the same role (none ticked: all the others)."""

    def __init__(self, team: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Reassign open items")
        self.team = team
        self.from_combo = QComboBox()
        self.from_combo.setAccessibleName("from reviewer")
        for role, r in sorted(team["progress"].items()):
            for user, u in sorted(r["reviewers"].items()):
                still = u["assigned"] - u["done"]
                self.from_combo.addItem(f"{user} ({role}): {still} open of {u['assigned']}", (user, role))
        self.to_list = QListWidget()
        self.to_list.setAccessibleName("to reviewers")
        self.note = plain_label("")
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.addRow(plain_label("from:"), self.from_combo)
        form.addRow(plain_label("to:"), self.to_list)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Reassign")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label("Only items not labeled yet move, each to the least loaded person ticked who "
                                     "does not hold that sample already; the move is recorded in the audit log."))
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.from_combo.currentIndexChanged.connect(self._fill_to)
        self._fill_to()

    def _fill_to(self) -> None:
        self.to_list.clear()
        data = self.from_combo.currentData()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if data is None:
            self.note.setText("Nobody has items assigned on this request ([policy] overlap deals them).")
            ok.setEnabled(False)
            return
        who, role = data
        for member in self.team["roles"].get(role, []):
            if member == who:
                continue
            item = QListWidgetItem(member)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.to_list.addItem(item)
        self.note.setText(f"None ticked: to the other members of {role}.")
        ok.setEnabled(self.to_list.count() > 0)

    def choose(self, from_user: str, to: list[str] | None = None) -> None:
        """Pick the reviewer and tick `to` (tests, and keyboard users)."""
        for i in range(self.from_combo.count()):
            if self.from_combo.itemData(i)[0] == from_user.lower():
                self.from_combo.setCurrentIndex(i)
        wanted = {t.lower() for t in (to or [])}
        for i in range(self.to_list.count()):
            item = self.to_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)

    def selection(self) -> tuple[str, list[str] | None]:
        who, _role = self.from_combo.currentData()
        ticked = [self.to_list.item(i).text() for i in range(self.to_list.count())
                  if self.to_list.item(i).checkState() == Qt.CheckState.Checked]
        return who, (ticked or None)


class Reassign(QObject):
    reassigned = Signal(int)         # how many items moved
    dialogOpened = Signal(object)    # the dialog (tests drive it)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.dialog: ReassignDialog | None = None
        self._worker: workers.Worker | None = None
        self.action = QAction("Reassign…", window)
        self.action.setObjectName("review.reassign")
        self.action.setStatusTip("move a reviewer's open items to others ([policy] overlap)")
        self.action.triggered.connect(self.open)
        review = next((a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Review"), None)
        if review is not None:
            review.addAction(self.action)
        window.addAction(self.action)

    def open(self) -> None:
        w = self.window
        if w.request is None:
            w.statusBar().showMessage("Open a review request first.", 3000)
            return
        worker = workers.Worker(read_team, w.service, w.request.id)
        worker.signals.finished.connect(self._show)
        worker.signals.failed.connect(lambda message, details: w.banner.show_message(
            f"Could not read the team's queues: {message}", details))
        self._worker = workers.start(worker)

    def _show(self, team: dict) -> None:
        w = self.window
        if w.request is None or w.request.id != team["request_id"]:
            return
        if not team["progress"]:
            w.statusBar().showMessage("Nothing is assigned on this request: the policy sets no [policy] overlap.",
                                      5000)
            return
        self.dialog = ReassignDialog(team, w)
        self.dialog.accepted.connect(self._accepted)
        self.dialog.open()
        self.dialogOpened.emit(self.dialog)

    def _accepted(self) -> None:
        w = self.window
        who, to = self.dialog.selection()
        worker = workers.Worker(w.service.reassign, w.request.id, who, to)
        worker.signals.finished.connect(lambda n, who=who: self._moved(who, int(n)))
        worker.signals.failed.connect(lambda message, details: w.banner.show_message(
            f"Not reassigned: {message}", details))
        self._worker = workers.start(worker)

    def _moved(self, who: str, n: int) -> None:
        w = self.window
        w.statusBar().showMessage(f"moved {n} open item{'s' if n != 1 else ''} of {who}", 5000)
        team_queue = getattr(w, "team_queue", None)
        if team_queue is not None:
            team_queue.reload()
            team_queue.refresh_inbox_queues()
        self.reassigned.emit(n)


def install_reassign(window) -> Reassign:
    window.reassign = Reassign(window)
    return window.reassign
