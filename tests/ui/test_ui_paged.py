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


ALICE = "alice@example.com"   # an SME of the policy below


def _stored(tmp_path, monkeypatch, table: pd.DataFrame):
    """A store holding `table` as the eval set "qa" of one request whose policy lets ALICE
    label, and that request; the comparison opens paged from here on."""
    from tests.plugin_doubles import CONFIG
    from tests.support.keys import with_signers

    monkeypatch.setattr(cf, "ROW_GROUP_BYTES", 64 * 1024)
    store = Store(f"sqlite:///{tmp_path / 'signoff.db'}")
    rec = store.add_request(NewRequest(sha="a" * 40, change_key="main", source="git", locator={}, baseline_ref="b",
                                       candidate_ref="a" * 40, title="t", author="x@example.com", content_hash="h",
                                       config_toml=with_signers(CONFIG), eval_sets=["qa"], created_by="ci"),
                            comparisons=[("qa", {}, table)], status="pending", description="", outbox=[], actor="ci")
    monkeypatch.setattr(review_mod, "PAGED_ABOVE_BYTES", 0)
    return store, rec


def _no_reads(monkeypatch):
    """Any read of the comparison from here on fails the test."""
    from signoff.store.comparison_files import ComparisonFiles, ComparisonPages

    def fail(*_a, **_k):
        pytest.fail("the comparison was read again")

    for owner, name in [(ComparisonPages, "resident"), (ComparisonPages, "columns"), (ComparisonPages, "batches"),
                        (ComparisonFiles, "read"), (ComparisonFiles, "open"), (ComparisonFiles, "open_checking"),
                        (Store, "load_comparison"), (Store, "comparison_table"), (Store, "comparison_pages")]:
        monkeypatch.setattr(owner, name, fail)


def test_the_queue_progress_after_a_paged_open_reads_nothing_again(tmp_path, monkeypatch):
    """Once the window opened a paged comparison, the queue buttons' per-eval-set progress is
    counted from the ids and classes that open holds (ReviewPort.eval_set_progress): no second
    read of the resident columns (~0.45 GB at 10M), let alone of the table."""
    from signoff.ui.queue_nav import eval_set_progress

    table = _table()
    store, rec = _stored(tmp_path, monkeypatch, table)
    service = ReviewService(store, user=ALICE)
    regressed = table.loc[table["class"] == "regressed", "id"].tolist()
    service.set_label(rec.id, "qa", regressed[0], correct=False)
    service.set_label(rec.id, "qa", table.loc[table["class"] == "unchanged", "id"].iloc[0], correct=True)
    service = ReviewService(store, user=ALICE)   # a new window's
    model = SampleTableModel()
    model.set_frame(SampleTableModel.prepare(service.comparison_view(rec.id, "qa")))   # as the window opens it
    _no_reads(monkeypatch)
    assert eval_set_progress(service, rec.id, ["qa"], ALICE) == {"qa": (1, N * 4 // 5)}
    assert eval_set_progress(service, rec.id, ["qa"], "") == {"qa": (1, N * 4 // 5)}   # the service's user
    store.close()


def test_an_id_is_found_at_the_same_row_before_and_after_its_sort(opened, monkeypatch):
    """The ids' sort is left until the table is shown; a look-up before it scans the ids and
    finds what the sorted look-up finds (and the whole table)."""
    from signoff.core.id_lookup import IdLookup

    whole, paged, table = opened
    ids = [table["id"][i] for i in (0, 1, 2, 2500, N - 1)] + ["s99999", ""]
    for model in (whole, paged):
        model.set_filter(classes={"regressed", "changed"})
    lookup = paged._id_index = IdLookup(paged._id_index.ids)   # as the open leaves it: not sorted yet
    assert not lookup.ready
    with monkeypatch.context() as m:
        m.setattr(IdLookup, "start", lambda self: self)   # the sort not started by the look-ups either
        before = [paged.row_of(i) for i in ids]
        assert not lookup.ready
    lookup.sorted_positions()
    assert lookup.ready
    assert [paged.row_of(i) for i in ids] == before == [whole.row_of(i) for i in ids]
    assert before[:3] == [-1, 0, -1] and before[-2:] == [-1, -1]   # unchanged, changed, improved; none


def test_class_and_slice_filters_count_what_the_whole_table_counts(opened):
    """The paged open holds its slices as codes (a dictionary, not text): the slice menu, the
    filters' counts and a sort by slice are those of the whole table."""
    whole, paged, table = opened
    counts = table["class"].astype(str).value_counts()
    assert paged.class_counts() == whole.class_counts() == {c: int(counts.get(c, 0)) for c in paged.class_counts()}
    for classes in ({"regressed"}, {"changed", "improved"}, {"unchanged", "missing", "regressed"}):
        for model in (whole, paged):
            model.set_filter(classes=classes)
        assert paged.visible_count() == whole.visible_count() == sum(int(counts[c]) for c in classes)
    assert isinstance(paged.frame["topic"].dtype, pd.CategoricalDtype)
    assert list(paged.slice_values("topic")[1]) == list(whole.slice_values("topic")[1]) == ["billing", "shipping", "other"]
    assert list(paged.slice_counts("topic")) == list(whole.slice_counts("topic")) == [N // 3] * 3
    for model in (whole, paged):
        model.set_filter(classes=None)
        model.sort([c.key for c in model.columns_].index("topic"), Qt.SortOrder.DescendingOrder)
    assert _ids(paged) == _ids(whole) and paged.sample(0)["topic"] == "shipping"
    for model in (whole, paged):
        model.set_filter(slice_=("topic", "other"))
    assert paged.visible_count() == N // 3 and _ids(paged) == _ids(whole)


def test_a_paged_comparison_opens_in_the_window_worst_first_with_its_queue_counts(tmp_path, monkeypatch, qtbot,
                                                                                  make_window, open_request):
    """The window on a paged comparison stored worst first (as compare() stores it): the first
    rows shown are the regressions, the first unlabeled one selected, and the class buttons and
    the eval set's entry say "n/m" as for a whole table."""
    from signoff.ui.sample_model import CLASS_ORDER

    table = _table()
    table = table.iloc[np.argsort([CLASS_ORDER.index(c) for c in table["class"].astype(str)], kind="stable")]
    table = table.reset_index(drop=True)
    store, rec = _stored(tmp_path, monkeypatch, table)
    ReviewService(store, user=ALICE).set_label(rec.id, "qa", table["id"][0], correct=False)   # the worst, labeled
    window = open_request(make_window(ReviewService(store, user=ALICE)), rec.id)
    qtbot.waitUntil(lambda: "qa" in window.queues.progress, timeout=10_000)
    model = window.model
    assert pages_of(model.frame) is not None
    regressed = int((table["class"] == "regressed").sum())
    assert [model.data(model.index(r, 0)) for r in range(3)] == list(table["id"][:3])
    assert {model.sample(r)["class"] for r in range(regressed)} == {"regressed"}
    assert window.current_row() == 1   # the first one not labeled yet
    assert window.class_buttons["regressed"].text() == f"regressed 1/{regressed:,}"
    assert window.queues.progress["qa"] == (1, N * 4 // 5)
    assert window.eval_set_combo.itemText(0).endswith(f"qa  1/{N * 4 // 5}")
    store.close()


def test_a_paged_open_of_a_changed_file_shows_and_counts_nothing(tmp_path, monkeypatch):
    """The resident columns are read while the file is still being hashed: a file that changed
    since it was stored is refused before the table is built, and the policy and the queue
    progress never count what was read of it."""
    import os
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    from signoff.store.comparison_files import ComparisonFileError

    store, rec = _stored(tmp_path, monkeypatch, _table())
    uri = store._comparison_source(rec.id, "qa")[1][0]
    path = Path(unquote(urlparse(uri).path))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1, 1))
    service = ReviewService(store, user=ALICE)
    view = service.comparison_view(rec.id, "qa")
    assert isinstance(view, PagedComparison)
    with pytest.raises(ComparisonFileError, match="changed since it was stored"):
        SampleTableModel.prepare(view)
    for count in (lambda: service.eval_set_progress(rec.id), lambda: service.coverage(rec.id)):
        with pytest.raises(ComparisonFileError, match="changed since it was stored"):
            count()
    store.close()


def test_record_batches_shorter_than_the_step_are_read_at_their_own_rows(tmp_path, monkeypatch):
    """A table whose chunks do not line up with the writer's step is written in shorter record
    batches where a chunk ends: every sample's text still comes from its own row (rows placed by
    the step alone showed another sample's text after the short batch), and a search's hits are
    the table's rows."""
    import pyarrow as pa

    monkeypatch.setattr(cf, "ROW_GROUP_BYTES", 64 * 1024)
    frame = _table()
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    arrow = pa.concat_tables([arrow.slice(0, 1001), arrow.slice(1001)])   # a chunk ends at row 1001
    store = Store(f"sqlite:///{tmp_path / 'signoff.db'}")
    rec = store.add_request(NewRequest(sha="a" * 40, change_key="main", source="git", locator={}, baseline_ref="b",
                                       candidate_ref="a" * 40, title="t", author="x@example.com", content_hash="h",
                                       config_toml="[policy]\n", eval_sets=["qa"], created_by="ci"),
                            comparisons=[("qa", {}, arrow)], status="pending", description="", outbox=[], actor="ci")
    monkeypatch.setattr(review_mod, "PAGED_ABOVE_BYTES", 0)
    view = ReviewService(store, user="sme@example.com").comparison_view(rec.id, "qa")
    sizes = np.diff(view.pages.starts)
    assert view.pages.rows == N and len(set(sizes[:-1].tolist())) > 1   # a short batch before the last
    model = SampleTableModel()
    model.set_frame(SampleTableModel.prepare(view))
    for sid in ("s00000", "s01000", "s01001", "s02500", f"s{N - 1:05d}"):
        row = model.row_of(sid)
        got = model.sample(row)
        assert got["id"] == sid and got["input"] == frame["input"][int(sid[1:])], sid
    hits, _ = search_rows(model.frame, "refund", None)
    assert (np.flatnonzero(hits) == np.flatnonzero(frame["input"].str.contains("refund")
                                                    | frame["baseline_output"].str.contains("refund")
                                                    | frame["candidate_output"].str.contains("refund")
                                                    | frame["reference"].fillna("").str.contains("refund"))).all()
    store.close()
