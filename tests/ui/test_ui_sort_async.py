"""Sorting the sample table by a column whose order is not at hand (ids, text; a paged column
is read whole first) runs on a worker (issue 16): the click returns at once, the table stays
usable in its current order, the header and the count line say it is sorting, and the rows
arrive sorted with the selection kept. A newer click, worst first or another comparison drops
the old order. Deterministic: the worker's sort waits for the test's gate (no timing)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from signoff.core import id_lookup
from signoff.core.id_lookup import IdLookup
from signoff.service.review import ReviewService
from signoff.ui import sample_view
from signoff.ui.sample_columns import PagedColumn
from signoff.ui.sample_model import SampleTableModel, pages_of
from tests.ui.test_ui_paged import ALICE, N, _stored, _table

pytestmark = pytest.mark.gui


class Gates:
    """One gate per sort key: the worker's sort of that key waits until the test opens it."""

    KEYS = ("input", "id")

    def __init__(self):
        self._gates = {key: threading.Event() for key in self.KEYS}
        self.started = {key: threading.Event() for key in self.KEYS}

    def gate(self, key: str) -> threading.Event:
        return self._gates[key]

    def hold(self, key: str) -> None:
        self.started[key].set()
        assert self._gates[key].wait(30), f"the test never let the sort by {key} go on"

    def open_all(self) -> None:
        for gate in self._gates.values():
            gate.set()


@pytest.fixture
def paged(tmp_path, monkeypatch, make_window, qtbot):
    """(window with a paged comparison open, all samples shown, the input column added; gates)."""
    gates = Gates()
    real_paged, real_ids = PagedColumn.sort_order, IdLookup.sorted_positions

    def paged_order(self, task=None):
        gates.hold(self.name)
        return real_paged(self, task)

    def id_order(self):
        if threading.current_thread() is not threading.main_thread():
            gates.hold("id")
        return real_ids(self)

    monkeypatch.setattr(PagedColumn, "sort_order", paged_order)
    monkeypatch.setattr(IdLookup, "sorted_positions", id_order)
    monkeypatch.setattr(sample_view, "ASYNC_SORT_ROWS", 1)      # the ids' sort on the worker too,
    monkeypatch.setattr(id_lookup, "RUN_ROWS", 512)               # a merge of their sorted runs
    store, rec = _stored(tmp_path, monkeypatch, _table())
    service = ReviewService(store, user=ALICE)
    service.list_requests = lambda: []        # the inbox would open its first request itself
    window = make_window(service)
    with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000):
        window.open_request(rec.id)
    assert pages_of(window.model.frame) is not None
    window.filter_combo.setCurrentText("all samples")
    window.show_column("input")
    yield window, gates
    gates.open_all()
    window.shutdown()
    store.close()


def _ids(window) -> list[str]:
    return [window.model.sample_id(r) for r in range(window.model.rowCount())]


def _column(window, key: str) -> int:
    return [c.key for c in window.model.columns_].index(key)


def _click(window, key: str) -> None:
    window.table.horizontalHeader().sectionClicked.emit(_column(window, key))


def _expected(key: str, descending: bool = False) -> list[str]:
    """The whole table sorted by `key` on the calling thread (Qt's model.sort), all samples."""
    model = SampleTableModel()
    model.set_frame(_table())
    model.set_optional_columns(["input"])
    model.sort([c.key for c in model.columns_].index(key),
               Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)
    return [model.sample_id(r) for r in range(model.rowCount())]


def _late_result_delivered(worker) -> None:
    """The cancelled worker has returned and whatever it sent has reached the GUI thread."""
    assert worker.wait(30)
    QApplication.processEvents()


def test_a_paged_text_sort_returns_at_once_and_the_rows_arrive_sorted(paged, qtbot):
    window, gates = paged
    before = _ids(window)
    window.select_row(window.model.row_of("s00007"))
    _click(window, "input")
    # Control is back while the worker waits at its gate: the table is as it was, and usable.
    assert gates.started["input"].wait(10)
    assert _ids(window) == before
    header = window.table.horizontalHeader()
    assert header.sortIndicatorSection() == _column(window, "input")
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    assert window.count_label.text().startswith("sorting by input… · ")
    window.move(1)                                   # the reviewer goes on meanwhile
    keep = window.current_sample_id()
    assert keep == before[before.index("s00007") + 1]
    gates.gate("input").set()
    qtbot.waitUntil(lambda: window.samples.sorting is None, timeout=10_000)
    assert _ids(window) == _expected("input")
    inputs = [window.model.sample(r)["input"] for r in range(0, N, 97)]
    assert inputs == sorted(inputs)
    assert window.current_sample_id() == keep                           # the selection kept
    assert "sorting" not in window.count_label.text()
    assert window.count_label.text().startswith(f"{N:,} of {N:,} shown")
    # Sorted once: the order is kept, a second sort by input is at once (no worker, no read).
    _click(window, "input")
    assert not window.samples.sort_task.running
    assert _ids(window) == _expected("input", descending=True)


def test_a_second_click_while_the_first_runs_wins(paged, qtbot):
    window, gates = paged
    _click(window, "input")
    assert gates.started["input"].wait(10)
    first = window.samples.sort_task.worker
    _click(window, "id")                             # the ids' sort, on the worker as well
    assert first.task.cancelled
    assert window.count_label.text().startswith("sorting by id… · ")
    gates.gate("id").set()
    qtbot.waitUntil(lambda: window.samples.sorting is None, timeout=10_000)
    by_id = _ids(window)
    assert by_id == sorted(by_id) == _expected("id")
    gates.gate("input").set()                        # the first sort ends now: its order is dropped
    _late_result_delivered(first)
    assert _ids(window) == by_id
    assert window.table.horizontalHeader().sortIndicatorSection() == _column(window, "id")


def test_a_cheap_sort_clicked_while_a_text_sort_runs_is_shown_at_once_and_stays(paged, qtbot):
    window, gates = paged
    _click(window, "input")
    assert gates.started["input"].wait(10)
    first = window.samples.sort_task.worker
    _click(window, "delta")
    deltas = [float(window.model.frame["delta"][window.model.position(r)]) for r in range(N)]
    assert deltas == sorted(deltas)                  # at once, as before: no worker for a float column
    assert window.samples.sorting is None and "sorting" not in window.count_label.text()
    gates.gate("input").set()
    _late_result_delivered(first)
    assert [float(window.model.frame["delta"][window.model.position(r)]) for r in range(N)] == deltas


def test_clicking_the_sorting_column_again_turns_the_coming_order(paged, qtbot):
    window, gates = paged
    _click(window, "input")
    assert gates.started["input"].wait(10)
    worker = window.samples.sort_task.worker
    _click(window, "input")                          # descending: the same sort, not a new one
    assert window.samples.sort_task.worker is worker and not worker.task.cancelled
    gates.gate("input").set()
    qtbot.waitUntil(lambda: window.samples.sorting is None, timeout=10_000)
    assert _ids(window) == _expected("input", descending=True)
    assert window.table.horizontalHeader().sortIndicatorOrder() == Qt.SortOrder.DescendingOrder


def test_worst_first_while_a_sort_runs_drops_it(paged, qtbot):
    window, gates = paged
    before = _ids(window)
    _click(window, "input")
    assert gates.started["input"].wait(10)
    first = window.samples.sort_task.worker
    window.sort_worst_first()
    assert window.table.horizontalHeader().sortIndicatorSection() == -1
    assert "sorting" not in window.count_label.text()
    gates.gate("input").set()
    _late_result_delivered(first)
    assert _ids(window) == before


def test_a_sort_then_another_comparison_opened_does_not_apply_the_old_order(paged, qtbot):
    window, gates = paged
    _click(window, "input")
    assert gates.started["input"].wait(10)
    first = window.samples.sort_task.worker
    old_frame = window.model.frame
    with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000):
        window.loader.load_eval_set("qa")            # opened again: a new frame
        assert first.task.cancelled and window.samples.sorting is None   # dropped as the load starts
    assert window.model.frame is not old_frame
    shown = _ids(window)
    gates.gate("input").set()
    _late_result_delivered(first)
    assert _ids(window) == shown
    assert window.table.horizontalHeader().sortIndicatorSection() == -1
    assert "sorting" not in window.count_label.text()


def test_an_order_computed_for_a_replaced_frame_is_not_applied():
    """The model's own guard, whoever hands it the order."""
    model = SampleTableModel()
    model.set_frame(_table())
    plan = model.sort_plan(0)                        # by id
    assert plan.order is None and plan.compute is not None
    order = plan.compute()
    model.set_frame(_table().iloc[::-1].reset_index(drop=True))
    before = [model.sample_id(r) for r in range(5)]
    assert not model.apply_sort(plan, order, Qt.SortOrder.AscendingOrder)
    assert [model.sample_id(r) for r in range(5)] == before
    fresh = model.sort_plan(0)
    assert model.apply_sort(fresh, fresh.compute(), Qt.SortOrder.AscendingOrder)
    assert model.sample_id(0) == "s00000"


def test_a_failed_sort_says_so_and_keeps_the_order_shown(paged, qtbot, monkeypatch):
    window, gates = paged
    _click(window, "delta")
    by_delta = _ids(window)

    def broken(self, task=None):
        raise OSError("the comparison file went away")

    monkeypatch.setattr(PagedColumn, "sort_order", broken)
    _click(window, "input")
    qtbot.waitUntil(lambda: window.samples.sorting is None, timeout=10_000)
    assert "Sorting failed: OSError: the comparison file went away" in window.banner.message.text()
    assert _ids(window) == by_delta
    assert window.table.horizontalHeader().sortIndicatorSection() == _column(window, "delta")


def test_small_tables_sort_at_once(make_window, open_request):
    """Under ASYNC_SORT_ROWS rows an id or text sort is done on the click (a few ms)."""
    from tests.doubles import FakeReviewService

    window = open_request(make_window(FakeReviewService()), 1)
    window.filter_combo.setCurrentText("all samples")
    window.table.horizontalHeader().sectionClicked.emit(0)
    ids = _ids(window)
    assert ids == sorted(ids) and not window.samples.sort_task.running
    assert len(ids) == len(window.model.frame)
