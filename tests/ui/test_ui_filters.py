"""Table filters beyond class and slice: who labeled (anyone, me), reviewers
who disagree, a search that never blocks the window, and sorting by
regression severity."""

from __future__ import annotations


import pytest
from PySide6.QtCore import Qt

from signoff.core.model import Verdict
from signoff.ui import table_filters
from tests.doubles import FakeReviewService

pytestmark = pytest.mark.gui

SET = "support-replies"


def ids(window):
    return [window.model.sample_id(r) for r in range(window.model.rowCount())]


def review(window, text):
    index = window.review_combo.findText(text)
    assert index >= 0, text
    window.review_combo.setCurrentIndex(index)


@pytest.fixture
def others(service):
    """bob and carol labeled some samples before alice opens the request."""
    service.label_as("bob@example.com", 1, SET, "s-001", verdict=Verdict.BASELINE)
    service.label_as("bob@example.com", 1, SET, "s-002", verdict=Verdict.TIE)
    service.label_as("carol@example.com", 1, SET, "s-002", verdict=Verdict.CANDIDATE)
    service.label_as("bob@example.com", 1, SET, "s-003", verdict=Verdict.CANDIDATE, correct=True)
    service.label_as("carol@example.com", 1, SET, "s-003", verdict=Verdict.CANDIDATE, correct=False)
    service.label_as("bob@example.com", 1, SET, "s-005", comment="   ")    # nothing but blanks... still a label
    return service


def test_labeled_by_anyone_and_by_me(window, others, open_request, qtbot):
    open_request(window, 1)
    window.filter_combo.setCurrentText("all samples")
    everyone = set(ids(window))
    review(window, "labeled (by anyone)")
    assert set(ids(window)) == {"s-001", "s-002", "s-003", "s-005"}
    review(window, "unlabeled (by anyone)")
    assert set(ids(window)) == everyone - {"s-001", "s-002", "s-003", "s-005"}
    window.select_row(window.model.row_of("s-004"))
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_3)           # alice labels s-004
    review(window, "labeled by me")
    assert ids(window) == ["s-004"]
    review(window, "not labeled by me")
    assert "s-004" not in ids(window) and "s-001" in ids(window)
    review(window, "labeled (by anyone)")
    assert set(ids(window)) == {"s-001", "s-002", "s-003", "s-004", "s-005"}
    review(window, "any")
    assert set(ids(window)) == everyone


def test_reviewers_disagree_including_my_own_labels(window, others, open_request, qtbot):
    open_request(window, 1)
    window.filter_combo.setCurrentText("all samples")
    review(window, "reviewers disagree")
    # s-002: tie vs candidate; s-003: same verdict, but correct vs incorrect
    assert set(ids(window)) == {"s-002", "s-003"}
    review(window, "any")
    window.select_row(window.model.row_of("s-001"))      # bob said baseline better
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_1)           # alice: candidate better
    review(window, "reviewers disagree")
    assert set(ids(window)) == {"s-001", "s-002", "s-003"}
    review(window, "any")
    window.select_row(window.model.row_of("s-001"))
    qtbot.keyClick(window.table, Qt.Key.Key_2)           # alice changes her mind: now she agrees with bob
    review(window, "reviewers disagree")
    assert set(ids(window)) == {"s-002", "s-003"}


def test_filters_combine(window, others, open_request):
    open_request(window, 1)
    window.filter_combo.setCurrentText("regressed")
    review(window, "labeled (by anyone)")
    assert set(ids(window)) == {"s-001", "s-002"}
    window.set_search("card")
    assert ids(window) == ["s-002"]
    assert "1 of 11 shown" in window.count_label.text()


def test_search_on_a_big_table_runs_on_a_worker(window, open_request, qtbot, monkeypatch):
    monkeypatch.setattr(table_filters, "ASYNC_SEARCH_ROWS", 1)
    open_request(window, 1)
    before = ids(window)
    with qtbot.waitSignal(window.filtersApplied, timeout=5000):
        window.set_search("TRACKING LINK")
        assert ids(window) == before                      # still the old rows: the search is not done
        assert "searching" in window.count_label.text()
    assert ids(window) == ["s-003"]
    assert "searching" not in window.count_label.text()
    # Typing on: only the last search lands.
    with qtbot.waitSignal(window.filtersApplied, timeout=5000):
        window.set_search("refund")
        window.set_search("<script>")
    qtbot.wait(100)
    assert ids(window) == ["s-004"]
    # A search already computed is applied at once; clearing it too.
    window.set_search("")
    assert len(ids(window)) == 10


def test_big_search_runs_on_a_worker_and_finds_the_rows(make_window, open_request, qtbot, monkeypatch):
    """How long set_search blocks and the event loop's longest gap: benchmarks/bench_ui_timings.py."""
    monkeypatch.setattr(table_filters, "ASYNC_SEARCH_ROWS", 1_000)
    window = make_window(FakeReviewService(big=100_000))
    open_request(window, 3)
    # The search index is built on a worker as soon as the table is there.
    qtbot.waitUntil(lambda: window.model.search_index is not None, timeout=20_000)
    for needle in ("answer 17 v2", "answer", "no such text"):
        with qtbot.waitSignal(window.filtersApplied, timeout=20_000):
            window.set_search(needle)                  # hands the work off: the result arrives by signal
    assert window.model.visible_count() == 0
    with qtbot.waitSignal(window.filtersApplied, timeout=20_000):
        window.set_search("answer 17 v2")
    assert 0 < window.model.visible_count() < 10_000
    sid = window.current_sample_id()
    assert sid is not None and "answer 17 v2" in str(window.model.frame.set_index("id").loc[sid, "candidate_output"])


def test_search_typed_while_the_index_is_built_runs_after(make_window, open_request, qtbot, monkeypatch):
    monkeypatch.setattr(table_filters, "ASYNC_SEARCH_ROWS", 1)
    window = make_window(FakeReviewService())
    open_request(window, 1)
    with qtbot.waitSignal(window.filtersApplied, timeout=5000):
        window.set_search("tracking link")
    assert ids(window) == ["s-003"]


def test_sort_by_regression_severity_and_by_delta(window, open_request):
    open_request(window, 1)
    window.filter_combo.setCurrentText("all samples")
    cols = [c.key for c in window.model.columns_]
    window.table.horizontalHeader().sectionClicked.emit(cols.index("class"))
    order = ids(window)
    # regressed first, biggest drop first: s-001 (−1.0), s-010 (−0.9), s-002 (−0.6); then missing, …
    assert order[:3] == ["s-001", "s-010", "s-002"]
    assert set(order[3:5]) == {"s-009", "s-011"}
    assert order[-1] == "s-006"                           # unchanged last
    window.table.horizontalHeader().sectionClicked.emit(cols.index("delta"))
    deltas = [window.model.data(window.model.index(r, cols.index("delta"))) for r in range(window.model.rowCount())]
    # a missing sample has no score on one side, so no delta ("—"), sorted last
    assert deltas[:3] == ["−1.00", "−0.90", "−0.60"] and deltas[-1] == "—"


def test_more_columns_from_the_header_menu_sort_and_hide_in_blind_mode(window, open_request, qtbot):
    open_request(window, 1)
    window.filter_combo.setCurrentText("all samples")
    offered = dict(window.model.optional_columns())
    assert {"baseline_score", "candidate_score", "input", "candidate_output"} <= set(offered)
    from PySide6.QtCore import QPoint

    window._header_menu(QPoint(5, 5))                                 # right-click on the header
    titles = [a.text() for a in window.header_menu.actions() if a.isCheckable()]
    assert "candidate score" in titles and "baseline output" in titles
    next(a for a in window.header_menu.actions() if a.text() == "candidate score").setChecked(True)
    window.header_menu.close()
    assert "candidate_score" in [c.key for c in window.model.columns_]
    window.show_column("candidate_score", False)
    window.show_column("candidate_score")
    window.show_column("input")
    keys = [c.key for c in window.model.columns_]
    assert keys[-3:] == ["candidate_score", "input", "mine"] and keys[0] == "id"
    col = keys.index("candidate_score")
    assert window.model.headerData(col, Qt.Orientation.Horizontal) == "candidate score"
    assert window.model.data(window.model.index(0, col), Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    window.table.horizontalHeader().sectionClicked.emit(col)          # sort by the candidate's score
    values = [window.model.data(window.model.index(r, col)) for r in range(window.model.rowCount())]
    numbers = [float(v.replace("−", "-")) for v in values if v]
    assert numbers == sorted(numbers) and values[-1] == ""            # unknown scores last
    # Multi-line input shows on one line; markup stays text.
    row = window.model.row_of("s-004")
    assert window.model.data(window.model.index(row, keys.index("input"))) == "Render this"
    # Blind mode hides what would tell the models apart.
    window.set_blind(True)
    assert window.table.isColumnHidden(col) and not window.table.isColumnHidden(keys.index("input"))
    window.set_blind(False)
    assert not window.table.isColumnHidden(col)
    # The choice holds for the next eval set (where the columns exist).
    with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000):
        window.eval_set_combo.setCurrentIndex(window.eval_set_combo.findData("intents"))
    assert [c.key for c in window.model.columns_][-3:] == ["candidate_score", "input", "mine"]
    window.show_column("input", False)
    assert "input" not in [c.key for c in window.model.columns_]
