"""The header's title and the policy's verdict, the request's policy change, and deciding.

After labeling, the statuses of the requests labeled are re-evaluated (and
queued for posting) debounced, on a worker: the policy's coverage reads
every label and every eval set's classes (~0.1 s at a million samples).
Deciding runs off the GUI thread through ReviewOps (app/ui/concurrent.py);
the window follows its `reviewChanged`.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton

from signoff.core.errors import SignoffError
from signoff.core.policy import PolicyVerdict
from signoff.core.policy_change import PolicyChange
from signoff.store.records import RequestRecord
from signoff.ui.approval_dialog import ApprovalDialog, status_line
from signoff.ui.concurrent import SingleTask
from signoff.ui.diff_view import plain_label
from signoff.ui.inbox import commit_text, dot_icon
from signoff.ui.palette import STATUS_STYLE
from signoff.ui.policy_change_view import PolicyChangeBox

log = logging.getLogger(__name__)
DEBOUNCE_MS = 400


def header_text(r: RequestRecord) -> str:
    """The comparison header: "1a69639 vs 783bc14e0f1a · title"; for a comparison about no commit
    (two MLflow versions opened by browsing, a local review of two files), its refs: "v2 vs v1 · title"."""
    changed = " · signoff.toml changed (not applied)" if getattr(r, "candidate_config_toml", "") else ""
    if r.kind == "comparison":   # about no commit (browsed versions, a local review): its refs
        return f"{commit_text(r)} · {r.title}{changed}"
    return f"{r.sha[:7]} vs {r.baseline_ref[:12]} · {r.title}{changed}"


def _refresh_each(service, request_ids: set[int]) -> dict:
    """service.refresh_status of each request: its verdict, by request id (a failure is logged:
    the labels are saved, the status follows on the next refresh)."""
    refreshed = {}
    for request_id in request_ids:
        try:
            refreshed[request_id] = service.refresh_status(request_id)
        except Exception:
            log.exception("refresh_status failed")
    return refreshed


def refresh_statuses(service, dirty: set[int], current: int) -> tuple:
    """Worker side of the debounced verdict: re-evaluate (and queue for posting) the statuses
    of the requests labeled, and the open one's verdict. `service` reads after the queued
    labels (ReviewOps.service). Returns (open request id, its verdict, whether any status
    was re-evaluated)."""
    refreshed = _refresh_each(service, dirty)
    verdict = refreshed.get(current)
    if not isinstance(verdict, PolicyVerdict):
        verdict = service.verdict(current)
    return current, verdict, bool(refreshed)


class VerdictPanel(QObject):
    def __init__(self, window, ops):
        super().__init__(window)
        self.w = window
        self.ops = ops
        self.approval_dialog: ApprovalDialog | None = None   # the last one opened (tests drive it)
        self._dirty: set[int] = set()
        self.task = SingleTask(self)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh_in_background)

        self.title_label = plain_label("Open a review request from the inbox")
        f = self.title_label.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.title_label.setFont(f)
        self.title_label.setWordWrap(True)
        self.verdict_label = plain_label("")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict_dot = QLabel()
        self.verdict_dot.setFixedWidth(14)
        self.policy_change_box = PolicyChangeBox()   # a candidate's change to signoff.toml: line + diff
        self.approve_button = QPushButton("Approve…  (Ctrl+Enter)")
        self.approve_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.approve_button.clicked.connect(self.open_approval_dialog)
        self.approve_button.setEnabled(False)

    def verdict_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(self.verdict_dot, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.verdict_label, 1)
        return row

    # -- after labeling -------------------------------------------------------------------------
    def labeled(self, request_id: int) -> None:
        """A label of `request_id` was queued: its status follows, debounced."""
        self._dirty.add(request_id)
        self._timer.start()

    def flush_status(self) -> dict:
        """Re-evaluate (and queue for posting) the status of requests labeled since the last
        time, here and now (closing, or the verdict shown next needs it); returns the verdicts
        it computed, by request id."""
        dirty, self._dirty = self._dirty, set()
        out = _refresh_each(self.ops.service, dirty)
        for request_id in out:
            self.ops.changed(request_id)
        return out

    def post_statuses(self) -> None:
        """flush_status off the GUI thread (ReviewOps.write): before a request opens or the
        approval dialog shows, the statuses of the requests labeled go out without a wait."""
        dirty, self._dirty = self._dirty, set()
        if dirty:
            self.ops.write(_refresh_each, self.ops.service, dirty,
                           on_success=lambda done: [self.ops.changed(rid) for rid in done])

    def refresh_in_background(self) -> None:
        """The debounced refresh after labeling, on a worker."""
        w = self.w
        if w.request is None:
            return
        if self.task.running:
            self._timer.start()      # one at a time: try again shortly
            return
        dirty, self._dirty = self._dirty, set()
        self.task.start(refresh_statuses, self.ops.service, dirty, w.request.id, with_task=False,
                        on_finished=self._background_verdict,
                        on_failed=lambda message, _details: self.not_evaluated(message))

    def _background_verdict(self, result) -> None:
        request_id, verdict, posted = result
        if self.w.request is not None and self.w.request.id == request_id:
            self.show_verdict(verdict)
        if posted:
            self.ops.changed(request_id)

    # -- the header -----------------------------------------------------------------------------
    def checking(self, request: RequestRecord) -> None:
        self.title_label.setText(header_text(request))
        self.verdict_label.setText("checking the policy…")

    def not_evaluated(self, why) -> None:
        self.verdict_label.setText(f"policy could not be evaluated: {why}")

    def refresh_verdict(self) -> None:
        w = self.w
        if w.request is None:
            return
        fresh = self.flush_status().get(w.request.id)
        try:
            verdict = fresh if isinstance(fresh, PolicyVerdict) else self.ops.service.verdict(w.request.id)
        except SignoffError as exc:
            self.not_evaluated(exc)
            return
        self.show_verdict(verdict)

    def show_verdict(self, verdict: PolicyVerdict) -> None:
        w = self.w
        w.verdict = verdict
        r = w.request
        self.title_label.setText(header_text(r))
        colour = STATUS_STYLE.get(verdict.status.value, ("#999999", ""))[0]
        self.verdict_dot.setPixmap(dot_icon(colour).pixmap(12, 12))
        self.verdict_label.setText(status_line(verdict))
        self._show_policy_change(r, verdict)
        # The inbox shows the live verdict of the open request, not the last one posted.
        w.inbox.update_status(r.id, verdict.status.value, verdict.description)

    def _show_policy_change(self, r, verdict: PolicyVerdict) -> None:
        if not r.candidate_config_toml:
            self.policy_change_box.set_change(PolicyChange(), None)
            return
        try:
            change, owners = self.ops.service.policy_change(r.id), tuple(self.ops.service.config(r.id).policy.owners)
        except SignoffError as exc:
            log.warning("policy change of request %s: %s", r.id, exc)
            return
        self.policy_change_box.set_change(change, verdict, owners)

    # -- deciding -------------------------------------------------------------------------------
    def open_approval_dialog(self) -> None:
        w = self.w
        if w.request is None:
            w.statusBar().showMessage("Open a review request first.", 3000)
            return
        self.post_statuses()   # the statuses of what was labeled go out (the checklist reads the labels)
        try:
            dialog = ApprovalDialog(self.ops.service, w.request.id, w, ops=self.ops)
        except SignoffError as exc:
            w.banner.show_message(f"Could not evaluate the policy: {exc}")
            return
        dialog.accepted.connect(self._decided)
        self.approval_dialog = dialog
        dialog.open()

    def _decided(self) -> None:
        """The dialog recorded a decision: the request as the store has it now, its verdict, the
        inbox (the outbox drain and the status bar follow reviewChanged)."""
        w = self.w
        dialog = self.approval_dialog
        if dialog is not None and dialog.result_verdict is not None:
            w.statusBar().showMessage(f"decision recorded — {dialog.result_verdict.description}", 6000)
        if w.request is not None:
            try:
                w.request = self.ops.service.get_request(w.request.id)
            except SignoffError:
                pass
        self.refresh_verdict()
        w.refresh_inbox()

    def shutdown(self, wait: float = 3.0) -> None:
        self._timer.stop()
        worker = self.task.worker
        if worker is not None:
            worker.wait(wait)     # a status refresh is a write: let it end, not cancelled
        self.task.cancel()
