"""SampleTableModel: Qt's model contract, vectorised filters, labels."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from signoff.ui.sample_model import NOT_UNCHANGED, MyLabel, SampleTableModel
from tests.doubles import FakeReviewService

pytestmark = pytest.mark.gui


@pytest.fixture
def frame():
    return FakeReviewService().comparison(1, "support-replies")


def test_model_passes_qt_model_tester(qtmodeltester, frame):
    model = SampleTableModel()
    model.set_frame(frame, {"s-001": MyLabel(verdict="candidate")})
    qtmodeltester.check(model, force_py=True)
    # The tester stays connected and checks the resets and layout changes below.
    model.set_filter(classes=set(NOT_UNCHANGED), search="refund")
    model.sort(0, Qt.SortOrder.DescendingOrder)
    model.set_label("s-001", MyLabel(verdict="tie"))
    model.reset_order()
    model.set_filter(classes=None, search="")
    assert model.rowCount() == len(frame)


def test_empty_model_passes_qt_model_tester(qtmodeltester):
    qtmodeltester.check(SampleTableModel(), force_py=True)


def test_columns_are_id_slices_class_delta_mine(frame):
    model = SampleTableModel()
    model.set_frame(frame)
    assert [c.key for c in model.columns_] == ["id", "topic", "lang", "class", "delta", "labels", "mine"]
    assert model.headerData(4, Qt.Orientation.Horizontal) == "Δscore"
    assert model.data(model.index(0, 4), Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight


def test_labels_show_at_once_and_emit_data_changed(qtbot, frame):
    model = SampleTableModel()
    model.set_frame(frame)
    row = model.row_of("s-002")
    with qtbot.waitSignal(model.dataChanged, timeout=500) as blocker:
        model.set_label("s-002", MyLabel(verdict="tie", correct=True))
    assert blocker.args[0].row() == row
    assert model.data(model.index(row, 6)) == "✓ tie · ok"
    assert model.data(model.index(row, 5)) == "1"            # labels: how many reviewers labeled it
    assert model.labeled_count() == 1
    model.set_others({"s-002": (("baseline", None),)})
    model.refresh_labels_column()
    assert model.data(model.index(row, 5)) == "2 ≠"          # two reviewers, different verdicts
    model.set_label("s-002", MyLabel())
    assert model.data(model.index(row, 6)) == ""
    assert model.data(model.index(row, 5)) == "1"
    assert model.labeled_count() == 0


def test_next_unlabeled_wraps_and_ends(frame):
    model = SampleTableModel()
    model.set_frame(frame)
    model.set_filter(classes={"regressed"})
    ids = [model.sample_id(r) for r in range(model.rowCount())]
    assert model.next_unlabeled(-1) == 0
    model.set_label(ids[1], MyLabel(verdict="tie"))
    assert model.next_unlabeled(0) == 2
    assert model.next_unlabeled(2) == 0       # wraps
    for sid in ids:
        model.set_label(sid, MyLabel(verdict="tie"))
    assert model.next_unlabeled(0) == -1


def million_row_table(n: int = 1_000_000) -> pd.DataFrame:
    """A comparison-shaped table built directly (compare() itself is tested in tests/core)."""
    rng = np.random.default_rng(5)
    classes = np.array(["regressed", "missing", "changed", "improved", "unchanged"])
    sev = np.sort(rng.integers(0, 5, n)).astype(np.int8)
    ids = pd.Series([f"b-{i:07d}" for i in range(n)], dtype="str")
    out = ("answer " + pd.Series(rng.integers(0, 50, n)).astype("str")).astype("str")
    return pd.DataFrame({
        "id": ids, "class": pd.Categorical(classes[sev], categories=list(classes)), "severity": sev,
        "missing_side": "", "input": "question " + ids, "reference": None,
        "baseline_output": out, "candidate_output": out + " v2",
        "baseline_score": rng.random(n), "candidate_score": rng.random(n), "delta": rng.random(n) - 0.5,
        "topic": np.array(["billing", "shipping", "account"])[rng.integers(0, 3, n)],
    })


@pytest.mark.slow
def test_one_million_rows_filter_search_sort_and_label():
    """The same steps on a million rows; how long each takes: benchmarks/bench_ui_timings.py (model_*)."""
    table = million_row_table()
    prepared = SampleTableModel.prepare(table)       # on the loading worker in the app
    model = SampleTableModel()
    model.set_frame(prepared)
    model.set_filter(classes={"regressed"})
    assert 0 < model.rowCount() < len(table)
    model.set_filter(classes=None, search="B-00012")
    assert model.rowCount() == 100
    model.set_filter(search="b-00013")
    assert model.rowCount() == 100
    model.set_filter(search="", slice_=("topic", "billing"))
    assert 0 < model.rowCount() < len(table)
    model.sort(0, Qt.SortOrder.DescendingOrder)
    model.set_label("b-0001305", MyLabel(verdict="tie"))
    model.next_unlabeled(0)
    assert model.sample_id(0) > model.sample_id(1)
