"""The search over a paged comparison shows its hits in parts (issue 16): the rows found in
the first row groups are painted before the last one is searched, the count line says how
far it is, the final rows are the whole table's search, and a new search drops what is
left of the old one. Deterministic: the worker is held after its first part (no timing)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from PySide6.QtWidgets import QApplication

from signoff.service import review as review_mod
from signoff.service.review import ReviewService
from signoff.store import comparison_files as cf
from signoff.store.records import NewRequest
from signoff.store.store import Store
from signoff.ui import table_filters
from signoff.core.stored_table import SAME_COLUMN, restore_outputs, same_as_baseline
from signoff.store.comparison_files import ComparisonFileError
from signoff.ui import sample_columns
from signoff.ui.sample_columns import SearchParts, _search_pages
from signoff.ui.sample_model import SampleTableModel, pages_of, search_rows
from tests.ui.test_ui_paged import N, _table as paged_table

pytestmark = pytest.mark.gui

LAST = "zebra-only-last"        # in the last row only: the last row group
CONFIG = """
[[eval_sets]]
name = "qa"
samples = "evals/qa.jsonl"
predictions = "predictions/qa.jsonl"

[policy]
required = { sme = 1 }

[roles]
sme = ["sme@example.com"]
"""


def _table():
    """test_ui_paged's table (Straße among its words), with a word only in its last row."""
    table = paged_table()
    table.loc[len(table) - 1, "input"] = f"where is {LAST}"
    return table


def _stored(tmp_path, monkeypatch):
    """(store, request, the whole table's frame): _table() stored as a file of many row groups."""
    monkeypatch.setattr(cf, "ROW_GROUP_BYTES", 64 * 1024)        # many row groups
    store = Store(f"sqlite:///{tmp_path / 'signoff.db'}")
    rec = store.add_request(NewRequest(sha="a" * 40, change_key="main", source="git", locator={}, baseline_ref="b",
                                       candidate_ref="a" * 40, title="t", author="x@example.com", content_hash="h",
                                       config_toml=CONFIG, eval_sets=["qa"], created_by="ci"),
                            comparisons=[("qa", {}, _table())], status="pending", description="", outbox=[],
                            actor="ci")
    whole = SampleTableModel()
    whole.set_frame(ReviewService(store, user="sme@example.com").comparison_view(rec.id, "qa"))
    return store, rec, whole.frame


def _file(store, rec) -> Path:
    return Path(unquote(urlparse(store._comparison_source(rec.id, "qa")[1][0]).path))


@pytest.fixture
def paged(tmp_path, monkeypatch, make_window, qtbot):
    """(window with the comparison open paged, the whole table's frame for the expected hits, gate)."""
    monkeypatch.setattr(table_filters, "ASYNC_SEARCH_ROWS", 1)   # every search on the worker
    store, rec, whole_frame = _stored(tmp_path, monkeypatch)
    monkeypatch.setattr(review_mod, "PAGED_ABOVE_BYTES", 0)
    # The worker waits after each part it reports until the test lets it go on.
    gate, held = threading.Event(), threading.Event()

    def published(self):
        held.set()
        assert gate.wait(30), "the test never let the search go on"

    monkeypatch.setattr(SearchParts, "published", published)
    service = ReviewService(store, user="sme@example.com")
    service.list_requests = lambda: []        # the inbox would open its first request itself
    window = make_window(service)
    with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000):
        window.open_request(rec.id)
    assert isinstance(pages_of(window.model.frame), cf.ComparisonPages)
    assert pages_of(window.model.frame).groups > 5
    window.filter_combo.setCurrentText("all samples")
    yield window, whole_frame, gate
    gate.set()
    window.shutdown()
    store.close()


def _ids(window) -> set[str]:
    return {window.model.sample_id(r) for r in range(window.model.rowCount())}


def _expected(frame, needle: str, rows: slice = slice(None)) -> set[str]:
    mask, _ = search_rows(frame, needle, None)
    return set(frame["id"].to_numpy()[rows][mask[rows]])


def test_the_first_hits_are_painted_before_the_last_row_group_is_searched(paged, qtbot):
    window, whole, gate = paged
    pages = pages_of(window.model.frame)
    first_group = slice(0, pages.starts[1])
    keep = sorted(_expected(whole, "refund", first_group))[3]
    window.select_row(window.model.row_of(keep))
    with qtbot.waitSignal(window.filters.partShown, timeout=10_000):
        window.set_search("refund")
    # Held after its first part: what is painted is what the first row group holds.
    shown = _ids(window)
    assert shown and shown < _expected(whole, "refund")          # a part: the rest is still to come
    assert _expected(whole, "refund", first_group) <= shown
    assert window.current_sample_id() == keep
    assert window.count_label.text().startswith(f"searching… 1/{pages.groups} parts · {len(shown):,} found so far")
    assert window.filters.searching
    with qtbot.waitSignal(window.filtersApplied, timeout=10_000):
        gate.set()
    assert _ids(window) == _expected(whole, "refund")
    assert window.current_sample_id() == keep
    assert window.count_label.text().startswith(f"{len(_ids(window)):,} of {N:,} shown")
    assert "searching" not in window.count_label.text()


@pytest.mark.parametrize("needle", ["Straße", "STRASSE", "strasse", "refund late", "s0123", LAST, "ref 77",
                                    "no such text"])
def test_the_final_hits_are_the_whole_tables(paged, qtbot, needle):
    window, whole, gate = paged
    gate.set()
    with qtbot.waitSignal(window.filtersApplied, timeout=10_000):
        window.set_search(needle)
    expected = _expected(whole, needle)
    assert _ids(window) == expected
    assert (expected == {f"s{N - 1:05d}"}) == (needle == LAST)
    assert window.count_label.text().startswith(f"{len(expected):,} of {N:,} shown")


def test_a_class_filter_while_it_runs_keeps_the_search_going(paged, qtbot):
    window, whole, gate = paged
    with qtbot.waitSignal(window.filters.partShown, timeout=10_000):
        window.set_search("late")
    worker = window.filters.search_task.worker
    window.filter_combo.setCurrentText("regressed")
    assert window.filters.search_task.worker is worker          # not started again
    assert _ids(window) <= _expected(whole, "late")
    with qtbot.waitSignal(window.filtersApplied, timeout=10_000):
        gate.set()
    regressed = set(whole["id"][whole["class"] == "regressed"])
    assert _ids(window) == _expected(whole, "late") & regressed


def test_a_new_search_drops_the_rest_of_the_old_one(paged, qtbot):
    window, whole, gate = paged
    painted = []
    window.filters.partShown.connect(lambda: painted.append(window.model.search_text))
    with qtbot.waitSignal(window.filters.partShown, timeout=10_000):
        window.set_search("thanks")
    old = window.filters.search_task.worker
    window.set_search("parcel")               # the old worker is held: it has more parts to give
    assert old.task.cancelled
    painted.clear()
    with qtbot.waitSignal(window.filtersApplied, timeout=10_000):
        gate.set()
    assert old.wait(10)
    QApplication.processEvents()               # anything the old worker still queued is delivered
    assert set(painted) <= {"parcel"}
    assert _ids(window) == _expected(whole, "parcel")
    assert "searching" not in window.count_label.text()


NEEDLES = ["Straße", "STRASSE", "refund late", "new ", "s0123", LAST, "ref 77", "no such text"]


@pytest.mark.parametrize("layout", ["as stored", "arrow without candidate_same", "parquet without candidate_same"])
def test_the_scan_finds_what_the_whole_table_search_finds(tmp_path, monkeypatch, layout):
    """The paged search reads candidate_output as stored (null where it equals the baseline's,
    with candidate_same beside it); a file without candidate_same (older, or Parquet) is
    searched with the candidate compared to the baseline, as the whole table is."""
    store, rec, whole = _stored(tmp_path, monkeypatch)
    old = restore_outputs(ipc.open_file(pa.memory_map(str(_file(store, rec)))).read_all())
    path = tmp_path / "comparison.bin"
    if layout == "as stored":       # as compare() stores it
        stored = same_as_baseline(old)
        assert SAME_COLUMN in stored.column_names and stored.column("candidate_output").null_count
        with open(path, "wb") as f:
            cf.write_comparison(stored, f)
    elif layout.startswith("arrow"):
        with open(path, "wb") as f:
            cf.write_comparison(old, f)
    else:
        pq.write_table(old, path, row_group_size=cf.row_group_rows(old))
    pages = cf.ComparisonPages(cf.open_source(pa.memory_map(str(path))))
    assert pages.groups > 5 and pages.rows == len(whole)
    ids = pages.columns(["id"]).column("id").to_numpy(zero_copy_only=False)
    for needle in NEEDLES:
        assert set(ids[_search_pages(pages, needle, None)]) == _expected(whole, needle), needle
    store.close()


def test_the_read_ahead_gives_row_groups_in_file_order_with_three_decoded_at_most(tmp_path, monkeypatch):
    """Two row groups are decoded on threads while the caller holds a third: each read starts
    at most two row groups beyond the one last asked for, and they come back in file order."""
    store, rec, _whole = _stored(tmp_path, monkeypatch)
    pages = store.comparison_pages(rec.id, "qa")
    asked, beyond = [0], []
    read = pages._read_group

    def counted(i, *args, **kw):
        beyond.append(i - (asked[0] - 1))
        return read(i, *args, **kw)

    monkeypatch.setattr(pages, "_read_group", counted)
    scan = pages.batches(["id", "input", "candidate_output"], stored=True, ahead=2)
    starts, parts = [], []
    while True:
        asked[0] += 1
        item = next(scan, None)
        if item is None:
            break
        starts.append(item[0])
        parts.append(item[1].column("id"))
        del item
    assert starts == pages.starts[:-1]
    assert sorted(beyond) and max(beyond) <= 2 and len(beyond) == pages.groups
    whole = pa.chunked_array([c for p in parts for c in p.chunks])
    assert whole.equals(pages.columns(["id"]).column("id"))
    store.close()


class _Cancelled(Exception):
    pass


class _Task:
    """A worker's TaskState: cancelled after `parts` row groups were searched."""

    def __init__(self, parts: int):
        self.parts, self.checks = parts, 0

    def check(self):
        self.checks += 1
        if self.checks > self.parts * 8:   # a row group's search checks a few times
            raise _Cancelled

    def report(self, *_a):
        pass


def test_a_cancelled_search_stops_its_reads(tmp_path, monkeypatch):
    store, rec, _whole = _stored(tmp_path, monkeypatch)
    pages = store.comparison_pages(rec.id, "qa")
    reads = []
    read = pages._read_group
    monkeypatch.setattr(pages, "_read_group", lambda i, *a, **kw: (reads.append(i), read(i, *a, **kw))[1])
    parts = SearchParts(pages.rows, pages.groups)
    with pytest.raises(_Cancelled):
        _search_pages(pages, "refund", _Task(1), parts)
    done = len(reads)
    assert parts.done < pages.groups and done <= parts.done + 1 + sample_columns.READ_AHEAD
    assert not [t for t in threading.enumerate() if t.name.startswith("pages-read")]   # the readers are gone
    assert len(reads) == done
    store.close()


def test_a_search_over_a_changed_file_shows_nothing(tmp_path, monkeypatch):
    """The file's hash is checked on a thread while the pages are read: a search over a file that
    changed since it was stored fails in one line, with no hit shown and no part counted."""
    store, rec, _whole = _stored(tmp_path, monkeypatch)
    path = _file(store, rec)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1, 1))     # another version of the file: hashed again
    pages = store.comparison_pages(rec.id, "qa", check_while_reading=True)
    parts = SearchParts(pages.rows, pages.groups)
    with pytest.raises(ComparisonFileError, match="changed since it was stored"):
        _search_pages(pages, "refund", None, parts)
    mask, done, _total = parts.snapshot()
    assert done == 0 and not np.any(mask)
    store.close()
