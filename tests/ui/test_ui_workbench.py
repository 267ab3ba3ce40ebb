"""The review loop by hand in the window: inbox, table, filters, keys, undo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from signoff.core.model import Verdict
from tests.doubles import FakeReviewService

pytestmark = pytest.mark.gui


def column_values(window, key: str) -> list[str]:
    col = [c.key for c in window.model.columns_].index(key)
    return [window.model.data(window.model.index(r, col)) for r in range(window.model.rowCount())]


def test_inbox_lists_requests_with_status_and_what_is_missing(window, service):
    texts = [window.inbox.row_text(i) for i in range(window.inbox.count())]
    assert len(texts) == 2
    first = texts[0]
    assert first.startswith("a1b2c3d")
    assert "pending" in first and "Shorter support replies" in first
    assert "awaiting review: 0/1 SME" in first          # what's missing, in the status's words
    assert "approved" in texts[1]


def test_empty_inbox_says_how_to_create_a_request(make_window):
    window = make_window(FakeReviewService(empty=True))
    assert window.inbox.stack.currentWidget() is window.inbox.empty
    assert "signoff request --sha" in window.inbox.empty.text()


def test_opening_a_request_shows_the_table_worst_first(window, open_request):
    open_request(window, 1)
    assert window.eval_set == "support-replies"
    classes = column_values(window, "class")
    assert classes[0].endswith("regressed")
    severity = {"regressed": 0, "missing": 1, "changed": 2, "improved": 3, "unchanged": 4}
    order = [severity[c.split()[-1]] for c in classes]
    assert order == sorted(order)
    # Default filter: everything but unchanged.
    assert not any(c.endswith("unchanged") for c in classes)
    assert window.model.visible_count() == 10 and len(window.model.frame) == 11
    # Lands on the first unlabeled regression, and the detail follows.
    assert window.current_sample_id() == "s-001"
    assert "s-001" in window.detail.title.text()
    assert window.detail.text_diff.plain_texts() == ("Refunds take 5 days.", "Refunds take a while.")
    # The header says what blocks approval in the status's words.
    assert "awaiting review" in window.verdict_label.text()
    assert "you: alice@example.com (sme, qa)" in window.status_label.text()
    assert "outbox: all statuses posted" in window.status_label.text()


def test_delta_has_a_sign_and_class_has_a_word(window, open_request):
    open_request(window, 1)
    deltas = column_values(window, "delta")
    assert deltas[0] == "−1.00"
    assert "+0.80" in deltas
    assert "—" in deltas  # unknown score
    col = [c.key for c in window.model.columns_].index("class")
    idx = window.model.index(0, col)
    assert window.model.data(idx, Qt.ItemDataRole.DecorationRole) is not None  # colour ...
    assert "regressed" in window.model.data(idx)                              # ... never alone


def test_class_buttons_filter_to_a_class_and_back(window, open_request):
    open_request(window, 1)
    window.class_buttons["improved"].click()
    assert column_values(window, "id") == ["s-003"]
    assert window.class_buttons["improved"].isChecked()
    assert window.filter_combo.currentText() == "improved"
    window.class_buttons["unchanged"].click()
    assert column_values(window, "id") == ["s-006"]
    window.class_buttons["unchanged"].click()  # again: back to the default
    assert window.filter_combo.currentIndex() == 0
    assert window.model.visible_count() == 10
    window.filter_combo.setCurrentText("all samples")
    assert window.model.visible_count() == 11
    assert window.class_buttons["regressed"].text() == "regressed 0/3"   # labeled / in the class


def test_search_filters_by_id_input_and_outputs(window, open_request):
    open_request(window, 1)
    window.set_search("s-00")   # s-001 … s-009, less unchanged s-006
    assert window.model.visible_count() == 8
    window.set_search("TRACKING LINK")   # candidate output, case-insensitive
    assert column_values(window, "id") == ["s-003"]
    window.set_search("<script>")        # markup is searchable text like any other
    assert column_values(window, "id") == ["s-004"]
    window.set_search("no such thing")
    assert window.model.visible_count() == 0
    assert "No samples match" in window.detail.title.text()
    window.set_search("")
    assert window.model.visible_count() == 10


def test_slice_filter(window, open_request):
    open_request(window, 1)
    idx = window.slice_combo.findText("lang = ar", Qt.MatchFlag.MatchStartsWith)
    assert idx > 0
    window.slice_combo.setCurrentIndex(idx)
    assert column_values(window, "id") == ["s-005"]


def test_number_keys_label_and_advance(window, service, open_request, qtbot):
    open_request(window, 1)
    window.table.setFocus()
    assert window.current_sample_id() == "s-001"
    qtbot.keyClick(window.table, Qt.Key.Key_1)
    assert service.label(1, "support-replies", "s-001").verdict is Verdict.CANDIDATE
    assert window.current_sample_id() == "s-010"
    qtbot.keyClick(window.table, Qt.Key.Key_2)
    qtbot.keyClick(window.table, Qt.Key.Key_3)
    # The last regression labeled: the window says the queue is done and Enter goes on to the next.
    assert window.queues.notice.isVisible() and "regressed queue" in window.queues.notice.text.text()
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    qtbot.keyClick(window.table, Qt.Key.Key_4)
    assert service.label(1, "support-replies", "s-010").verdict is Verdict.BASELINE
    assert service.label(1, "support-replies", "s-002").verdict is Verdict.TIE
    assert service.label(1, "support-replies", "s-009").verdict is Verdict.BOTH_WRONG
    assert window.current_sample_id() == "s-011"
    window.filter_combo.setCurrentIndex(0)   # back to every changed sample, worst first
    mine = column_values(window, "mine")
    assert mine[:4] == ["✓ cand", "✓ base", "✓ tie", "✓ both ✗"] and mine[4] == ""
    assert "4 labeled by you" in window.count_label.text()


def test_keys_work_from_anywhere_in_the_window_but_not_while_typing(window, service, open_request, qtbot):
    open_request(window, 1)
    window.detail.text_diff.candidate_view.setFocus()
    qtbot.keyClick(window.detail.text_diff.candidate_view, Qt.Key.Key_1)
    assert service.label(1, "support-replies", "s-001").verdict is Verdict.CANDIDATE
    window.search_edit.setFocus()
    qtbot.keyClicks(window.search_edit, "12")
    assert window.search_edit.text() == "12"
    assert service.label(1, "support-replies", "s-010") is None


def test_c_and_x_mark_correctness_without_moving(window, service, open_request, qtbot):
    open_request(window, 1)
    qtbot.keyClick(window.table, Qt.Key.Key_C)
    assert service.label(1, "support-replies", "s-001").correct is True
    assert window.current_sample_id() == "s-001"
    qtbot.keyClick(window.table, Qt.Key.Key_X)
    assert service.label(1, "support-replies", "s-001").correct is False
    assert "incorrect" in window.detail.my_label.text()
    assert column_values(window, "mine")[0] == "✓ · wrong"


def test_j_k_move_and_n_jumps_to_next_unlabeled(window, service, open_request, qtbot):
    open_request(window, 1)
    qtbot.keyClick(window.table, Qt.Key.Key_J)
    assert window.current_sample_id() == "s-010"
    qtbot.keyClick(window.table, Qt.Key.Key_K)
    assert window.current_sample_id() == "s-001"
    qtbot.keyClick(window.table, Qt.Key.Key_Down)
    assert window.current_sample_id() == "s-010"
    # Label s-002 elsewhere, then n from s-010 skips it.
    service.set_label(1, "support-replies", "s-002", verdict=Verdict.TIE)
    window.apply_label((1, "support-replies", "s-002"), {"verdict": Verdict.TIE}, select=False)
    qtbot.keyClick(window.table, Qt.Key.Key_1)   # labels s-010, moves to s-002 (labeled)
    assert window.current_sample_id() == "s-002"
    qtbot.keyClick(window.table, Qt.Key.Key_N)
    assert window.current_sample_id() == "s-009"
    # Wraps around to the first unlabeled (s-001 has no label yet).
    window.select_row(window.model.rowCount() - 1)
    qtbot.keyClick(window.table, Qt.Key.Key_N)
    assert window.current_sample_id() == "s-001"


def test_undo_and_redo_labels(window, service, open_request, qtbot):
    open_request(window, 1)
    qtbot.keyClick(window.table, Qt.Key.Key_1)           # s-001 candidate
    qtbot.keyClick(window.table, Qt.Key.Key_X)           # s-010 incorrect
    assert service.label(1, "support-replies", "s-010").correct is False
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert service.label(1, "support-replies", "s-010").correct is None
    assert window.current_sample_id() == "s-010"
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert service.label(1, "support-replies", "s-001").verdict is None
    assert window.current_sample_id() == "s-001"          # undo shows where it happened
    assert column_values(window, "mine")[0] == ""
    qtbot.keyClick(window.table, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert service.label(1, "support-replies", "s-001").verdict is Verdict.CANDIDATE
    assert column_values(window, "mine")[0] == "✓ cand"
    qtbot.keyClick(window.table, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert service.label(1, "support-replies", "s-010").correct is False
    # Every change went through the service: 2 keys + 2 undos + 2 redos.
    assert len([c for c in service.calls if c[0] == "set_label"]) == 6


def test_labels_reach_the_header_verdict(window, service, open_request, qtbot):
    open_request(window, 1)
    before = window.verdict_label.text()
    assert "5 regressions unlabeled" in before
    qtbot.keyClick(window.table, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: "4 regressions unlabeled" in window.verdict_label.text(), timeout=3000)


def test_other_eval_sets_load_from_the_selector(window, open_request):
    open_request(window, 1, eval_set="intents")
    assert window.eval_set == "intents"
    assert column_values(window, "id")[0] == "i-3"
    text = window.detail.view.text_content()       # the label view
    assert "BASELINE\ntracking\n✓ matches the reference" in text
    assert "CANDIDATE\ndelivery\n✗ differs from the reference" in text
    assert "score 1.00" in text and "score 0.00" in text


def test_sorting_by_a_column_and_back_to_worst_first(window, open_request):
    open_request(window, 1)
    window.select_row(2)
    keep = window.current_sample_id()
    window.table.horizontalHeader().sectionClicked.emit(0)
    ids = column_values(window, "id")
    assert ids == sorted(ids)
    assert window.current_sample_id() == keep   # the selection follows the sample
    window.sort_worst_first()
    assert column_values(window, "class")[0].endswith("regressed")


def test_loading_failure_is_a_message_with_details(make_window, open_request, qtbot):
    from signoff.core.errors import InputError

    svc = FakeReviewService()
    svc.fail_comparison[(1, "support-replies")] = InputError("predictions/x.jsonl line 3: not valid JSON")
    window = make_window(svc)
    with qtbot.waitSignal(window.loadFailed, timeout=10_000):
        window.inbox.select(1)
    assert window.banner.isVisible()
    assert "line 3: not valid JSON" in window.banner.message.text()
    assert "InputError" in window.banner.details
    assert window.banner.retry_button.isVisible()


def test_unexpected_loading_error_is_also_caught(make_window, qtbot):
    svc = FakeReviewService()
    svc.fail_comparison[(1, "support-replies")] = RuntimeError("disk on fire")
    window = make_window(svc)
    with qtbot.waitSignal(window.loadFailed, timeout=10_000):
        window.inbox.select(1)
    assert "RuntimeError: disk on fire" in window.banner.message.text()


def test_loading_shows_progress_and_can_be_cancelled(make_window, qtbot):
    svc = FakeReviewService()
    svc.comparison_delay = 1.0
    window = make_window(svc)
    window.inbox.select(1)
    assert window.loading.isVisible()
    assert "loading" in window.loading.message.text()
    window.loading.cancel_button.click()
    assert not window.loading.isVisible()
    assert "cancelled" in window.banner.message.text()
    assert window.model.rowCount() == 0
    window.shutdown()  # waits for the worker that is still sleeping
    # Retry loads it.
    svc.comparison_delay = 0
    with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000):
        window.banner.retry_button.click()
    assert window.model.rowCount() == 10


def test_switching_eval_set_while_loading_keeps_only_the_last(make_window, qtbot):
    svc = FakeReviewService()
    svc.comparison_delay = 0.3
    window = make_window(svc)
    window.inbox.select(1)
    svc.comparison_delay = 0
    with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000) as blocker:
        window.eval_set_combo.setCurrentIndex(window.eval_set_combo.findData("extraction"))
    assert blocker.args == [1, "extraction"]
    qtbot.wait(500)  # the first load ends and is dropped
    assert window.eval_set == "extraction"
    assert window.model.sample_id(0).startswith("j-")


def test_big_comparison_filters_search_and_sort(make_window, open_request, qtbot):
    """How long this takes on 100,000 rows: benchmarks/bench_ui_timings.py."""
    svc = FakeReviewService(big=100_000)
    window = make_window(svc)
    open_request(window, 3)
    assert len(window.model.frame) == 100_000
    window.class_buttons["regressed"].click()
    window.filter_combo.setCurrentIndex(1)
    window.set_search("v2")
    qtbot.keyClick(window.table, Qt.Key.Key_N)
    window.table.horizontalHeader().sectionClicked.emit(0)
    assert window.model.visible_count() > 10_000
