"""Approve / request changes / reject, with the policy's verdict in view.

Shows what service.verdict() says now: the checklist (✓/✗, name, detail),
the current decisions, stale ones struck through with why, and the status
CI sees. OK calls service.decide() off the GUI thread (ReviewOps.write, app/ui/concurrent.py:
with a forge to reach it can take seconds); a PolicyRefusal (or any SignoffError) is shown in
the dialog (`refused`), which stays open so nothing typed is lost.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QGroupBox,
                               QHBoxLayout, QLabel, QPlainTextEdit, QRadioButton, QVBoxLayout,
                               QWidget)

from signoff.core.errors import PolicyRefusal, SignoffError
from signoff.core.model import DecisionKind
from signoff.core.policy import PolicyVerdict, other_labels_note
from signoff.core.policy_change import POLICY_OWNER
from signoff.ui.concurrent import ReviewOps
from signoff.ui.diff_view import plain_label
from signoff.ui.inbox import commit_text
from signoff.ui.palette import STATUS_STYLE
from signoff.ui.policy_change_view import PolicyChangeBox

log = logging.getLogger(__name__)

OK_COLOUR = "#009E73"
NO_COLOUR = "#D55E00"
KIND_WORDS = {DecisionKind.APPROVE: "approve", DecisionKind.REQUEST_CHANGES: "request changes",
              DecisionKind.REJECT: "reject"}


class CommentEdit(QPlainTextEdit):
    """The comment box: Ctrl+Enter submits the dialog instead of adding a line."""

    submitted = Signal()

    def keyPressEvent(self, event) -> None:
        if (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)


PREVIEW_WORDS = {DecisionKind.APPROVE: "approval", DecisionKind.REQUEST_CHANGES: "request for changes",
                 DecisionKind.REJECT: "rejection"}


def status_line(verdict: PolicyVerdict) -> str:
    return f"{verdict.status.value} — {verdict.description}"


class ApprovalDialog(QDialog):
    refused = Signal(str)     # the decision was not recorded: the message shown in the dialog

    def __init__(self, service, request_id: int, parent: QWidget | None = None, *, ops: ReviewOps | None = None):
        super().__init__(parent)
        self.service = service
        self.ops = ops if ops is not None else ReviewOps(service, self)
        self.deciding = False
        self.request_id = request_id
        self.result_verdict: PolicyVerdict | None = None
        self.preview_verdict: PolicyVerdict | None = None
        request = service.get_request(request_id)
        self.verdict = service.verdict(request_id)
        self.roles = list(service.my_roles(request_id))
        # A candidate that changes signoff.toml: its diff, and a policy owner may approve the change.
        self.change = service.policy_change(request_id)
        owners = tuple(service.config(request_id).policy.owners)
        if self.change.changed and service.user.strip().lower() in {o.strip().lower() for o in owners}:
            self.roles.append(POLICY_OWNER)
        self.setWindowTitle(f"Decide on {commit_text(request)}")
        self.setMinimumWidth(560)

        layout = QVBoxLayout(self)
        head = plain_label(f"{commit_text(request)} · {request.title}")
        f = head.font()
        f.setBold(True)
        head.setFont(f)
        head.setWordWrap(True)
        layout.addWidget(head)
        who = plain_label(f"you: {service.user}")
        layout.addWidget(who)

        # What the policy says now
        self.status_label = plain_label("status CI sees now: " + status_line(self.verdict))
        self.status_label.setWordWrap(True)
        colour = STATUS_STYLE.get(self.verdict.status.value, ("#999999", ""))[0]
        self.status_label.setStyleSheet(f"QLabel {{ border-left: 4px solid {colour}; padding-left: 6px; }}")
        layout.addWidget(self.status_label)

        self.policy_change = PolicyChangeBox()
        self.policy_change.set_change(self.change, self.verdict, owners)
        layout.addWidget(self.policy_change)

        checks = QGroupBox("Policy checklist")
        cl = QVBoxLayout(checks)
        self.check_labels: list[QLabel] = []
        for item in self.verdict.checklist:
            mark = "✓" if item.ok else "✗"
            lab = plain_label(f"{mark}  {item.name} — {item.detail}")
            lab.setWordWrap(True)
            lab.setProperty("tone", "ok" if item.ok else "error")   # resources/themes: AA in both themes
            self.check_labels.append(lab)
            cl.addWidget(lab)
        if not self.verdict.checklist:
            cl.addWidget(plain_label("(the policy has no requirements)"))
        layout.addWidget(checks)

        decisions = QGroupBox("Decisions")
        dl = QVBoxLayout(decisions)
        self.decision_labels: list[QLabel] = []
        self.stale_labels: list[QLabel] = []
        self.count_labels: list[QLabel] = []   # per current decision: whether it counts, and why not
        why_not = {d.user.lower(): d.not_counted for d in getattr(self.verdict, "not_counted", [])}
        for d in self.verdict.current:
            text = f"{d.user} ({d.role}): {KIND_WORDS.get(d.kind, str(d.kind))}"
            if d.comment:
                text += f" — “{d.comment}”"
            lab = plain_label(text)
            lab.setWordWrap(True)
            self.decision_labels.append(lab)
            dl.addWidget(lab)
            reason = why_not.get(d.user.lower())
            if reason:
                note = plain_label(f"    ✗ does not count: {reason}")
                note.setProperty("tone", "error")
            else:
                signed = f" ({d.key_fingerprint})" if getattr(d, "key_fingerprint", "") else ""
                note = plain_label(f"    ✓ counts: signed with a key the policy lists for {d.user}{signed}")
                note.setProperty("tone", "ok")
            note.setWordWrap(True)
            self.count_labels.append(note)
            dl.addWidget(note)
        for d in self.verdict.stale:
            text = f"{d.user} ({d.role}): {KIND_WORDS.get(d.kind, str(d.kind))}"
            if d.comment:
                text += f" — “{d.comment}”"
            lab = plain_label(text)
            lab.setWordWrap(True)
            font = lab.font()
            font.setStrikeOut(True)
            lab.setFont(font)
            why = plain_label("    stale: made on other content (predictions or eval sets changed since); it no longer counts")
            why.setWordWrap(True)
            why.setProperty("tone", "muted")
            self.stale_labels.append(lab)
            dl.addWidget(lab)
            dl.addWidget(why)
        if not self.verdict.current and not self.verdict.stale:
            dl.addWidget(plain_label("(no decisions yet)"))
        others = service.coverage(request_id).other_labels
        self.other_labels_label = plain_label(other_labels_note(others)) if others else None
        if self.other_labels_label is not None:
            self.other_labels_label.setWordWrap(True)
            dl.addWidget(self.other_labels_label)
        # The regression-rate bounds (docs/statistics.md): estimate, bound, labels used and still needed
        self.bound_labels = []
        for b in getattr(self.verdict, "bounds", []) or []:
            f = b.overall
            text = f"{b.eval_set}: {b.line()}"
            if f is not None:
                text += (f" — estimate {f.estimate:.1%}, bound {f.bound:.1%} at {f.confidence:.0%}, "
                         f"{f.used} of {f.labels} labels used"
                         + ("" if f.ok else (f", about {f.needed} more likely needed" if f.needed
                                             else ", not reachable at the rate seen so far" if f.needed is None else "")))
            lab = plain_label(text)
            lab.setWordWrap(True)
            self.bound_labels.append(lab)
            dl.addWidget(lab)
        layout.addWidget(decisions)

        # Your decision
        choose = QGroupBox("Your decision")
        ch = QVBoxLayout(choose)
        row = QHBoxLayout()
        self.approve_radio = QRadioButton("&Approve")
        self.changes_radio = QRadioButton("Request &changes")
        self.reject_radio = QRadioButton("&Reject")
        self.kinds = QButtonGroup(self)
        for i, (btn, kind) in enumerate(((self.approve_radio, DecisionKind.APPROVE),
                                         (self.changes_radio, DecisionKind.REQUEST_CHANGES),
                                         (self.reject_radio, DecisionKind.REJECT))):
            self.kinds.addButton(btn, i)
            btn.setProperty("kind", kind.value)
            row.addWidget(btn)
        # No decision is preselected: Enter alone never approves (issue 12).
        row.addStretch(1)
        ch.addLayout(row)
        self.preview = plain_label("choose a decision: the status it leads to shows here")
        self.preview.setWordWrap(True)
        self.preview.setAccessibleName("status after your decision")
        ch.addWidget(self.preview)

        role_row = QHBoxLayout()
        role_row.addWidget(plain_label("as role:"))
        self.role_combo = QComboBox()
        self.role_combo.addItems(self.roles)
        self.role_combo.setVisible(len(self.roles) > 1)
        role_row.addWidget(self.role_combo)
        self.role_label = plain_label(self.roles[0] if len(self.roles) == 1 else "")
        self.role_label.setVisible(len(self.roles) <= 1)
        if not self.roles:
            self.role_label.setText("none — you hold no role in this policy, so a decision will be refused")
            self.role_label.setProperty("tone", "error")
        role_row.addWidget(self.role_label, 1)
        ch.addLayout(role_row)

        self.comment = CommentEdit()
        self.comment.submitted.connect(self.submit)
        self.comment.setPlaceholderText("Comment (required for request changes and reject)")
        self.comment.setTabChangesFocus(True)
        self.comment.setMaximumHeight(90)
        ch.addWidget(self.comment)
        layout.addWidget(choose)

        self.error = plain_label("")
        self.error.setWordWrap(True)
        self.error.setProperty("tone", "error")
        bold = self.error.font()
        bold.setBold(True)
        self.error.setFont(bold)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Record decision")
        self.ok_button.setToolTip("Ctrl+Enter")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(seq), self, activated=self.submit)
        self.kinds.idToggled.connect(lambda *_: self.error.hide())
        self.kinds.idToggled.connect(lambda _id, on: on and self.update_preview())
        self.role_combo.currentIndexChanged.connect(lambda _i: self.update_preview())

    def update_preview(self) -> None:
        """"after your approval: pending — 1 SME, 93 labels to go": the policy engine's verdict with
        my decision added as if signed (ReviewService.verdict(extra=)); nothing is recorded."""
        kind = self.selected_kind()
        role = self.selected_role()
        if kind is None or role is None:
            return
        from signoff.core.model import Decision

        request = self.service.get_request(self.request_id)
        mine = Decision(user=self.service.user, role=role, kind=kind, content_hash=request.content_hash,
                        comment=self.comment.toPlainText().strip(), request_id=request.id, sha=request.sha)
        try:
            after = self.service.verdict(self.request_id, extra=mine)
        except SignoffError as exc:
            self.preview.setText(f"after your {PREVIEW_WORDS[kind]}: the policy could not be evaluated ({exc})")
            return
        self.preview_verdict = after
        self.preview.setText(f"after your {PREVIEW_WORDS[kind]}: {status_line(after)}")

    def selected_kind(self) -> DecisionKind | None:
        btn = self.kinds.checkedButton()
        return DecisionKind(btn.property("kind")) if btn is not None else None

    def set_kind(self, kind: DecisionKind) -> None:
        {DecisionKind.APPROVE: self.approve_radio, DecisionKind.REQUEST_CHANGES: self.changes_radio,
         DecisionKind.REJECT: self.reject_radio}[DecisionKind(kind)].setChecked(True)

    def selected_role(self) -> str | None:
        if len(self.roles) > 1:
            return self.role_combo.currentText()
        return self.roles[0] if self.roles else None

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def submit(self) -> None:
        if self.deciding:
            return            # Ctrl+Enter again while the first one is on its way
        kind = self.selected_kind()
        comment = self.comment.toPlainText().strip()
        if kind is None:
            self.show_error("Choose a decision first: approve, request changes or reject.")
            return
        if kind is not DecisionKind.APPROVE and not comment:
            self.show_error(f"A comment is required to {KIND_WORDS[kind]}: say what has to change.")
            self.comment.setFocus()
            return
        self.deciding = True
        self.ok_button.setEnabled(False)       # one decision at a time
        self.error.hide()
        self.ops.write(self.service.decide, self.request_id, kind, comment, role=self.selected_role(),
                       request_id=self.request_id, on_success=self._recorded, on_failure=self._refused)

    def _recorded(self, verdict: PolicyVerdict) -> None:
        self.result_verdict = verdict
        self.accept()

    def _refused(self, exc: BaseException) -> None:
        self.deciding = False
        self.ok_button.setEnabled(True)
        if isinstance(exc, PolicyRefusal):
            message = f"Refused by the policy: {exc}"
        elif isinstance(exc, SignoffError):
            message = str(exc)
        else:
            message = f"The decision was not recorded: {type(exc).__name__}: {exc}"
        self.show_error(message)
        self.refused.emit(message)
