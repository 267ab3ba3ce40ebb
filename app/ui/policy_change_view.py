"""The "Policy change" line: a candidate that changes signoff.toml (docs/trust.md).

Shown in the window's comparison header and in the approval dialog: one line saying the
change is not applied and who must approve it, and a button that shows the unified diff
of the two texts as PLAIN text (it comes from the repository under review).
"""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from signoff.core.policy import PolicyVerdict
from signoff.core.policy_change import POLICY_OWNER, PolicyChange
from signoff.ui.diff_view import plain_label

NO_COLOUR = "#D55E00"
OK_COLOUR = "#009E73"


def policy_change_line(change: PolicyChange, verdict: PolicyVerdict | None, owners: tuple[str, ...] = ()) -> str:
    """'Policy change: signoff.toml changed by the candidate (not applied) — needs …'; "" when none."""
    if not change.changed:
        return ""
    by = list((verdict.approvals if verdict is not None else {}).get(POLICY_OWNER, []))
    if by:
        state = f"approved by policy owner {', '.join(by)}"
    elif owners:
        state = f"needs approval by a policy owner ({', '.join(owners)})"
    else:
        state = "needs a policy owner, and none is listed: add [policy] owners on the default branch"
    what = change.summary()
    return (f"Policy change: signoff.toml changed by the candidate (not applied to this request)"
            f"{f'; it {what}' if what else ''} — {state}")


class PolicyChangeBox(QFrame):
    """The line and a 'Show diff' button that opens the diff below it (read-only plain text)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.line = plain_label("")
        self.line.setWordWrap(True)
        row.addWidget(self.line, 1)
        self.toggle = QToolButton()
        self.toggle.setText("Show diff")
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self._toggled)
        row.addWidget(self.toggle)
        layout.addLayout(row)
        self.diff = QPlainTextEdit()
        self.diff.setReadOnly(True)
        self.diff.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.diff.setMinimumHeight(140)
        self.diff.hide()
        layout.addWidget(self.diff)
        self.hide()

    def set_change(self, change: PolicyChange, verdict: PolicyVerdict | None, owners: tuple[str, ...] = ()) -> None:
        text = policy_change_line(change, verdict, owners)
        if not text:
            self.toggle.setChecked(False)
            self.hide()
            return
        approved = bool(verdict is not None and verdict.approvals.get(POLICY_OWNER))
        self.line.setText(text)
        self.line.setStyleSheet(f"QLabel {{ border-left: 4px solid {OK_COLOUR if approved else NO_COLOUR}; "
                                f"padding-left: 6px; }}")
        self.diff.setPlainText(change.diff)
        self.show()

    def _toggled(self, on: bool) -> None:
        self.diff.setVisible(on)
        self.toggle.setText("Hide diff" if on else "Show diff")
