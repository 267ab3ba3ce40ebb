"""Working as a team in the real window, on the real service, store and demo (issue 12):
other reviewers' labels and decisions appear without user action, `]` / `[` between eval sets,
the end-of-queue notice, and blind_until_labeled."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from signoff.service.review import ReviewService
from signoff.service.signer import KeyFileSigner
from signoff.store.store import Store
from signoff.ui.sample_model import MyLabel
from signoff.ui.team_view import TeamPanel
from signoff.plugins.demo import DemoSource, build_demo_workspace, demo_key_file

pytestmark = [pytest.mark.gui, pytest.mark.real_signer]   # the demo's own reviewer keys sign


@pytest.fixture
def demo(tmp_path):
    ws = build_demo_workspace(tmp_path / "demo")
    url = f"sqlite:///{tmp_path / 'team.db'}"
    store = Store(url)
    req = ReviewService(store, user="ci@example.com").create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    yield store, url, req, ws
    store.close()


def as_reviewer(store, ws, user):
    return ReviewService(store, user=user, signer=KeyFileSigner(demo_key_file(ws.repo, user)))


def open_window(qtbot, make_window, service, req):
    window = make_window(service)
    with qtbot.waitSignal(window.comparisonLoaded, timeout=20000):
        window.inbox.select(req.id)
    return window


def test_another_store_instances_decision_and_labels_appear_without_user_action(qtbot, make_window, demo):
    store, url, req, ws = demo
    window = open_window(qtbot, make_window, as_reviewer(store, ws, "alice@example.com"), req)
    sid = window.current_sample_id()
    assert "0/2 SME" in window.verdict_label.text()
    assert window.team.panel.text.text() == "other reviewers: none yet"

    other = Store(url)     # bob, on his own connection to the same store (as another process would be)
    try:
        bob = as_reviewer(other, ws, "bob@example.com")
        bob.set_label(req.id, window.eval_set, sid, verdict="baseline", error=None,
                      comment="<b>not bold</b> the 7 looks like a 1")
        bob.decide(req.id, "approve", "fine by me")
    finally:
        other.close()

    qtbot.waitUntil(lambda: "bob approved" in window.team.notices, timeout=10000)
    qtbot.waitUntil(lambda: "1/2 SME" in window.verdict_label.text(), timeout=10000)
    qtbot.waitUntil(lambda: "bob@example.com" in window.team.panel.text.text(), timeout=10000)
    text = window.team.panel.text.text()
    assert "bob@example.com: baseline better" in text and "“<b>not bold</b> the 7 looks like a 1”" in text
    assert window.team.panel.text.textFormat() == Qt.TextFormat.PlainText
    labels_col = [c.key for c in window.model.columns_].index("labels")
    assert window.model.data(window.model.index(window.current_row(), labels_col)) == "1"
    # the header and the inbox say the same
    status = store.get_request(req.id).status
    assert window.verdict.status.value == status == "pending"
    shown = next(r for r in window.inbox._records if r.id == req.id)
    assert shown.status == "pending" and "1/2 SME" in shown.description


def test_brackets_move_between_eval_sets_and_mark_them_viewed(qtbot, make_window, demo):
    store, _url, req, ws = demo
    window = open_window(qtbot, make_window, as_reviewer(store, ws, "alice@example.com"), req)
    first, second = req.eval_sets[:2]
    with qtbot.waitSignal(window.comparisonLoaded, timeout=20000):
        qtbot.keyClick(window.table, Qt.Key_BracketRight)
    assert window.eval_set == second
    with qtbot.waitSignal(window.comparisonLoaded, timeout=20000):
        qtbot.keyClick(window.table, Qt.Key_BracketLeft)
    assert window.eval_set == first
    qtbot.keyClick(window.table, Qt.Key_BracketLeft)       # the first one: says so, stays
    assert window.eval_set == first
    qtbot.waitUntil(lambda: window.queues.progress.get(second) is not None, timeout=10000)
    items = [window.eval_set_combo.itemText(i) for i in range(window.eval_set_combo.count())]
    assert items[0].startswith("● digits  0/83") and items[1].startswith("● support-replies")
    assert items[2].startswith("   invoice-extraction")       # not viewed yet
    assert window.class_buttons["regressed"].text() == "regressed 0/9"


def test_the_end_of_a_queue_shows_the_next_queue_and_enter_goes_there(qtbot, make_window, demo):
    store, _url, req, ws = demo
    window = open_window(qtbot, make_window, as_reviewer(store, ws, "alice@example.com"), req)
    assert window.eval_set == "digits"
    window.table.setFocus()
    for _ in range(9):                                   # the 9 regressions, worst first
        assert window.model.sample(window.current_row())["class"] == "regressed"
        qtbot.keyClick(window.table, Qt.Key_3)
    notice = window.queues.notice
    assert notice.isVisible()
    assert "regressed queue of digits done (9/9)" in notice.text.text()
    assert "Next queue: improved in digits (0/74)" in notice.text.text()
    assert window.model.sample(window.current_row())["class"] == "regressed"   # no silent slide
    assert window.class_buttons["regressed"].text() == "regressed 9/9"
    qtbot.keyClick(window.table, Qt.Key_Return)
    assert not notice.isVisible()
    assert window.model.class_filter == {"improved"}
    assert window.model.sample(window.current_row())["class"] == "improved"


def test_other_labels_hide_until_i_label_when_the_policy_says_so(qtbot):
    panel = TeamPanel()
    qtbot.addWidget(panel)
    entries = [("bob@example.com", MyLabel(verdict="tie", error="wrong", comment="see <i>row</i> 3"))]
    panel.show_for(entries, mine=MyLabel(), hide_until_labeled=True)
    assert panel.text.text() == ("other reviewers: 1 label, hidden until you label this sample "
                                 "([policy] blind_until_labeled)")
    panel.show_for(entries, mine=MyLabel(verdict="baseline"), hide_until_labeled=True)
    assert panel.text.text() == "other reviewers:\nbob@example.com: tie · error: wrong · comment: “see <i>row</i> 3”"
    panel.show_for(entries, mine=MyLabel(), hide_until_labeled=False, changed=MyLabel(verdict="baseline"))
    assert "bob@example.com: tie" in panel.text.text()
    assert panel.changed.text().startswith("changed since your label — you said on the earlier request: "
                                           "baseline better")
