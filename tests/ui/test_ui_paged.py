"""A comparison too big to hold whole opens paged (issue 16, item 2): the table holds ids,
classes, delta and slices; the text is read by row group. Filters, search, samples, sorting
and optional columns give what the whole table gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from signoff.service import review as review_mod
from signoff.service.review import ReviewService
from signoff.store import comparison_files as cf
from signoff.store.comparison_files import PagedComparison
from signoff.store.records import NewRequest
from signoff.store.store import Store
from signoff.ui.sample_model import SampleTableModel, pages_of, search_rows

pytestmark = pytest.mark.gui

N = 6_000


def _table(n: int = N) -> pd.DataFrame:
    classes = ["unchanged", "changed", "improved", "regressed", "missing"]
    rng = np.random.default_rng(7)
    words = np.array(["refund", "late", "Straße", "thanks", "sorry", "order", "parcel"])
    pick = lambda: [" ".join(rng.choice(words, 3)) for _ in range(n)]   # noqa: E731
    base = pick()
    return pd.DataFrame({
        "id": [f"s{i:05d}" for i in range(n)],
        "class": pd.Categorical([classes[i % 5] for i in range(n)], categories=classes),
        "severity": (np.arange(n) % 5).astype(np.int8),
        "missing_side": [""] * n,
        "input": pick(),
        "reference": pd.Series([None if i % 4 == 0 else f"ref {i}" for i in range(n)], dtype=object),
        "baseline_output": base,
        "candidate_output": [b if i % 3 else f"new {b}" for i, b in enumerate(base)],
        "baseline_score": rng.random(n),
        "candidate_score": rng.random(n),
        "delta": rng.random(n) - 0.5,
        "topic": [["billing", "shipping", "other"][i % 3] for i in range(n)],
        "baseline_confidence": rng.random(n),
        "sample_hash": [f"{i:032x}" for i in range(n)],
    })


@pytest.fixture
def opened(tmp_path, monkeypatch):
    """(whole model, paged model, the table) of one stored comparison."""
    monkeypatch.setattr(cf, "ROW_GROUP_BYTES", 64 * 1024)        # many row groups
    store = Store(f"sqlite:///{tmp_path / 'signoff.db'}")
    table = _table()
    rec = store.add_request(NewRequest(sha="a" * 40, change_key="main", source="git", locator={}, baseline_ref="b",
                                       candidate_ref="a" * 40, title="t", author="x@example.com", content_hash="h",
                                       config_toml="[policy]\n", eval_sets=["qa"], created_by="ci"),
                            comparisons=[("qa", {}, table)], status="pending", description="", outbox=[], actor="ci")
    service = ReviewService(store, user="sme@example.com")
    whole = SampleTableModel()
    whole.set_frame(service.comparison_view(rec.id, "qa"))
    monkeypatch.setattr(review_mod, "PAGED_ABOVE_BYTES", 0)
    view = ReviewService(store, user="sme@example.com").comparison_view(rec.id, "qa")
    assert isinstance(view, PagedComparison) and view.pages.groups > 5
    assert set(view.frame.columns) == {"id", "class", "severity", "delta", "topic"}
    paged = SampleTableModel()
    paged.set_frame(SampleTableModel.prepare(view))
    yield whole, paged, table
    store.close()


def _ids(model) -> list[str]:
    return [model.sample_id(r) for r in range(model.rowCount())]


def test_a_paged_table_shows_what_the_whole_one_shows(opened):
    whole, paged, table = opened
    assert [c.key for c in paged.columns_] == [c.key for c in whole.columns_]
    assert _ids(paged) == _ids(whole) == list(table["id"])
    for row in (0, 1, 2500, N - 1):
        assert paged.sample(row) == whole.sample(row)
        for col in range(paged.columnCount()):
            assert paged.data(paged.index(row, col)) == whole.data(whole.index(row, col))
    assert paged.optional_columns() == whole.optional_columns()
    keys = ["candidate_output", "baseline_score", "baseline_confidence"]
    for model in (whole, paged):
        model.set_optional_columns(keys)
        model.sort(model.columnCount() - 4, Qt.SortOrder.AscendingOrder)   # by candidate output
    assert _ids(paged) == _ids(whole)
    assert [paged.data(paged.index(r, paged.columnCount() - 3)) for r in range(50)] == \
        [whole.data(whole.index(r, whole.columnCount() - 3)) for r in range(50)]


@pytest.mark.parametrize("needle", ["refund late", "STRASSE", "s01234", "new thanks", "ref 77", "zzz"])
def test_search_scans_the_pages(opened, needle):
    whole, paged, _ = opened
    assert pages_of(paged.frame) is not None and pages_of(whole.frame) is None
    hits, index = search_rows(paged.frame, needle, None)
    assert index is None
    expected, _ = search_rows(whole.frame, needle, None)
    np.testing.assert_array_equal(hits, expected)
    for model in (whole, paged):
        model.set_filter(classes={"regressed", "changed"}, search=needle, slice_=("topic", "billing"))
    assert _ids(paged) == _ids(whole)


def test_the_pages_stay_within_their_budget(opened):
    _, paged, _ = opened
    pages = pages_of(paged.frame)
    for row in range(0, N, 37):
        paged.sample(row)
    biggest = max(t.nbytes for t in pages._cache.values())
    assert pages.cached_bytes <= pages.budget + biggest


def test_the_queue_progress_of_a_paged_comparison_reads_no_whole_table(tmp_path, monkeypatch):
    """The window's per-eval-set progress ("7/79") needs ids and classes only: over a paged
    comparison it takes the resident columns, never the whole table (a 10M-sample comparison read
    whole took 4.5 GB in the window, docs/performance.md), and counts what the whole table counts."""
    from signoff.ui.queue_nav import eval_set_progress

    monkeypatch.setattr(cf, "ROW_GROUP_BYTES", 64 * 1024)
    store = Store(f"sqlite:///{tmp_path / 'signoff.db'}")
    rec = store.add_request(NewRequest(sha="a" * 40, change_key="main", source="git", locator={}, baseline_ref="b",
                                       candidate_ref="a" * 40, title="t", author="x@example.com", content_hash="h",
                                       config_toml="[policy]\n", eval_sets=["qa"], created_by="ci"),
                            comparisons=[("qa", {}, _table())], status="pending", description="", outbox=[], actor="ci")
    whole = eval_set_progress(ReviewService(store, user="sme@example.com"), rec.id, ["qa"], "sme@example.com")
    monkeypatch.setattr(review_mod, "PAGED_ABOVE_BYTES", 0)
    service = ReviewService(store, user="sme@example.com")
    monkeypatch.setattr(Store, "load_comparison", lambda *a, **k: pytest.fail("the whole table was read"))
    assert eval_set_progress(service, rec.id, ["qa"], "sme@example.com") == whole
    assert whole["qa"][1] == N * 4 // 5 and whole["qa"][0] == 0   # every class but unchanged; nothing labeled yet
    store.close()
