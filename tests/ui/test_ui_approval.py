"""The approval dialog: the policy's verdict in view, decisions through the service."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from signoff.core.model import DecisionKind
from signoff.ui.approval_dialog import ApprovalDialog
from tests.doubles import FakeReviewService

pytestmark = pytest.mark.gui


def make_dialog(qtbot, service, request_id=1, choose=DecisionKind.APPROVE):
    """The dialog with `choose` picked (nothing is preselected: None leaves it so)."""
    dialog = ApprovalDialog(service, request_id)
    qtbot.addWidget(dialog)
    dialog.show()
    if choose is not None:
        dialog.set_kind(choose)
    return dialog


def test_dialog_shows_checklist_status_and_role(qtbot, service):
    dialog = make_dialog(qtbot, service)
    texts = [lab.text() for lab in dialog.check_labels]
    assert texts[0].startswith("✗  SME approvals — 0/1")
    assert any("every regression reviewed" in t for t in texts)
    assert "pending — awaiting review" in dialog.status_label.text()
    assert dialog.roles == ["sme", "qa"]
    assert dialog.role_combo.isVisible()        # alice holds two roles: she chooses


def test_approve_records_a_decision(qtbot, service):
    dialog = make_dialog(qtbot, service)
    dialog.role_combo.setCurrentText("qa")
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        dialog.ok_button.click()
    assert service.calls[-1] == ("decide", 1, DecisionKind.APPROVE, "", "qa")
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_verdict is not None
    assert "1/1 QA" not in " ".join(dialog.result_verdict.missing)


def test_reject_without_a_comment_is_refused_in_the_dialog(qtbot, service):
    dialog = make_dialog(qtbot, service)
    dialog.reject_radio.setChecked(True)
    dialog.ok_button.click()
    assert dialog.isVisible()
    assert dialog.error.isVisible() and "comment is required" in dialog.error.text()
    assert not [c for c in service.calls if c[0] == "decide"]
    dialog.changes_radio.setChecked(True)
    dialog.ok_button.click()
    assert "comment is required" in dialog.error.text()
    qtbot.keyClicks(dialog.comment, "Regressions on billing refunds")
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        dialog.ok_button.click()
    assert service.calls[-1][:4] == ("decide", 1, DecisionKind.REQUEST_CHANGES, "Regressions on billing refunds")
    assert dialog.result_verdict.status.value == "rejected"


def test_policy_refusal_is_shown_and_the_dialog_stays_open(qtbot):
    service = FakeReviewService(user="dana@example.com",
                                config_text=FakeReviewService().get_request(1).config_toml.replace(
                                    'sme = ["alice@example.com", "bob@example.com"]',
                                    'sme = ["alice@example.com", "dana@example.com"]'))
    dialog = make_dialog(qtbot, service)
    assert dialog.roles == ["sme"]
    qtbot.keyClicks(dialog.comment, "looks good to me")
    with qtbot.waitSignal(dialog.refused, timeout=2000):   # decided off the GUI thread
        dialog.ok_button.click()      # dana is the candidate's author: no self-approval
    assert dialog.isVisible()
    assert "Refused by the policy" in dialog.error.text()
    assert "may not approve" in dialog.error.text()
    assert dialog.comment.toPlainText() == "looks good to me"   # nothing typed is lost


def test_refusal_for_a_user_without_role(qtbot):
    service = FakeReviewService(user="zed@example.com")
    dialog = make_dialog(qtbot, service)
    assert "hold no role" in dialog.role_label.text()
    with qtbot.waitSignal(dialog.refused, timeout=2000):   # decided off the GUI thread
        dialog.ok_button.click()
    assert "Refused by the policy" in dialog.error.text()


def test_stale_decisions_are_struck_through_with_why(qtbot, service):
    service.decide(1, DecisionKind.APPROVE, "ok", role="sme")
    service.make_stale(1)
    dialog = make_dialog(qtbot, service)
    assert len(dialog.stale_labels) == 1
    stale = dialog.stale_labels[0]
    assert stale.font().strikeOut()
    assert stale.text().startswith("alice@example.com (sme): approve")


def test_ctrl_enter_opens_the_dialog_and_deciding_refreshes_header_and_inbox(window, open_request, qtbot, service):
    open_request(window, 2)
    assert "approved" in window.verdict_label.text()
    qtbot.keyClick(window.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    dialog = window.approval_dialog
    assert dialog.isVisible()
    dialog.reject_radio.setChecked(True)
    qtbot.keyClicks(dialog.comment, "wrong data")
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog.comment, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "rejected" in window.verdict_label.text()
    inbox_text = [window.inbox.row_text(i) for i in range(window.inbox.count())]
    assert any(t.startswith("9f8e7d6") and "rejected" in t for t in inbox_text)
    assert window.inbox.current_request_id() == 2   # selection kept


def _policy_change_service(user: str):
    from dataclasses import replace

    from tests.doubles import FAKE_CONFIG

    base = FAKE_CONFIG.replace("no_self_approval = true", 'no_self_approval = true\nowners = ["quinn@example.com"]')
    service = FakeReviewService(user=user, config_text=base)
    relaxed = base.replace("required = { sme = 1, qa = 1 }", "required = {}")
    service._requests[1] = replace(service.get_request(1), candidate_config_toml=relaxed)
    service._refresh_status(1)
    return service


def test_a_policy_change_shows_its_diff_as_plain_text_and_blocks(qtbot):
    service = _policy_change_service("alice@example.com")
    dialog = make_dialog(qtbot, service)
    box = dialog.policy_change
    assert box.isVisible()
    assert box.line.text().startswith("Policy change: signoff.toml changed by the candidate (not applied")
    assert "needs approval by a policy owner (quinn@example.com)" in box.line.text()
    assert box.line.textFormat() == Qt.TextFormat.PlainText
    assert not box.diff.isVisible()
    box.toggle.click()
    assert box.diff.isVisible() and "+required = {}" in box.diff.toPlainText()
    texts = [lab.text() for lab in dialog.check_labels]
    assert texts[0].startswith("✗  signoff.toml changed: needs approval by a policy owner")
    assert "signoff.toml changed (needs a policy owner)" in dialog.status_label.text()
    assert "policy-owner" not in dialog.roles          # alice is no policy owner


def test_a_policy_owner_approves_the_change_in_the_dialog(qtbot):
    service = _policy_change_service("quinn@example.com")
    dialog = make_dialog(qtbot, service)
    assert dialog.roles == ["qa", "policy-owner"]
    dialog.role_combo.setCurrentText("policy-owner")
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        dialog.ok_button.click()
    assert service.calls[-1] == ("decide", 1, DecisionKind.APPROVE, "", "policy-owner")
    item = dialog.result_verdict.checklist[0]
    assert item.ok and item.detail.startswith("approved by policy owner quinn@example.com")
    again = make_dialog(qtbot, service)
    assert "approved by policy owner quinn@example.com" in again.policy_change.line.text()


def test_the_window_header_names_a_policy_change():
    from dataclasses import replace

    from signoff.ui.verdict_panel import header_text

    req = FakeReviewService().get_request(1)
    assert "signoff.toml changed" not in header_text(req)
    assert header_text(replace(req, candidate_config_toml="x")).endswith(" · signoff.toml changed (not applied)")
    # a local review (`signoff review A B`): about no commit, its refs are the two files
    local = replace(req, sha="", kind="comparison", source="files", candidate_ref="cand.jsonl",
                    baseline_ref="base.jsonl", title="cand.jsonl vs base.jsonl")
    assert header_text(local) == "cand.jsonl vs base.jsonl"   # the title says no more than the refs


def test_no_decision_is_preselected_and_the_preview_shows_the_status_after_mine(qtbot, service):
    dialog = make_dialog(qtbot, service, choose=None)
    assert dialog.kinds.checkedButton() is None
    dialog.ok_button.click()
    assert dialog.isVisible() and "Choose a decision first" in dialog.error.text()
    assert not [c for c in service.calls if c[0] == "decide"]
    dialog.role_combo.setCurrentText("sme")
    dialog.approve_radio.setChecked(True)
    before = dialog.verdict.description
    assert "0/1 SME" in before
    text = dialog.preview.text()
    assert text.startswith("after your approval: pending — ") and "0/1 SME" not in text and "0/1 QA" in text
    dialog.reject_radio.setChecked(True)
    assert dialog.preview.text().startswith("after your rejection: rejected")
    assert not [c for c in service.calls if c[0] == "decide"]   # a preview records nothing
