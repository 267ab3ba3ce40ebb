"""IdLookup: the ids sorted a run of RUN_ROWS at a time; look-ups search each run, the first
row of an id wins; a table sorted by id merges the runs (app/core/id_lookup.py). RUN_ROWS is
made small here so the runs' edges are crossed by a few rows."""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pytest

from signoff.core import id_lookup
from signoff.core.id_lookup import IdLookup


def _expected_first(ids: list) -> dict:
    first: dict = {}
    for row, v in enumerate(ids):
        if v is not None:
            first.setdefault(v, row)
    return first


def _expected_order(ids: list) -> list[int]:
    """Stable, by code point, nulls last: what a table sorted by id shows."""
    return sorted(range(len(ids)), key=lambda r: (ids[r] is None, ids[r] or "", r))


def _ids(rows: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = [f"s{int(v)}" for v in rng.integers(0, max(rows // 2, 1), rows)]   # many repeats
    for r in rng.integers(0, rows, rows // 7):
        out[int(r)] = None
    if rows > 3:
        out[1] = "Straße"   # multi-byte UTF-8: byte order is code point order
    return out


def _chunked(ids: list, cut: int) -> pa.ChunkedArray:
    """Chunks that do not line up with the runs."""
    return pa.chunked_array([pa.array(ids[i:i + cut], pa.string()) for i in range(0, len(ids), cut)] or
                            [pa.array([], pa.string())])


@pytest.mark.parametrize("rows", [0, 1, 4, 5, 8, 9, 37])
def test_every_id_finds_its_first_row_before_and_after_the_sort(monkeypatch, rows):
    monkeypatch.setattr(id_lookup, "RUN_ROWS", 4)   # rows 4 and 8: exactly one / two runs; 5, 9: one row over
    ids = _ids(rows, seed=rows)
    first = _expected_first(ids)
    absent = ["s-1", "", "None", "zzz", "s"]
    lookup = IdLookup(_chunked(ids, 3))
    monkeypatch.setattr(IdLookup, "start", lambda self: self)   # the scan path, no background sort
    assert {v: lookup.position(v) for v in first} == first
    assert not lookup.ready
    assert lookup.wait() is lookup   # built here: no thread was started
    assert lookup.ready
    order, runs = lookup._sorted
    assert len(runs) == -(-rows // 4)   # one run per RUN_ROWS ids, the last one shorter
    assert {v: lookup.position(v) for v in first} == first
    assert [lookup.position(v) for v in absent] == [None] * len(absent)
    assert lookup.sorted_positions().tolist() == _expected_order(ids)
    assert {v: lookup.position(v) for v in first} == first   # the merged order: one run
    assert [v in lookup for v in absent] == [False] * len(absent)


def test_an_id_repeated_in_a_later_run_is_found_at_its_first_row(monkeypatch):
    monkeypatch.setattr(id_lookup, "RUN_ROWS", 3)
    ids = ["b", "c", "d", "a", "a", "b", "x", "c", "a"]   # "a" first in run 2, "b"/"c" also in later runs
    lookup = IdLookup(pa.array(ids))
    lookup._build()
    assert [lookup.position(v) for v in "abcdx"] == [3, 0, 1, 2, 6]


def test_null_ids_are_never_found_and_sort_last(monkeypatch):
    monkeypatch.setattr(id_lookup, "RUN_ROWS", 2)
    lookup = IdLookup(pa.array([None, "b", None, "a", None]))
    assert [lookup.position(v) for v in ("a", "b", "None", "")] == [3, 1, None, None]
    assert lookup.sorted_positions().tolist() == [3, 1, 0, 2, 4]


def test_an_empty_lookup(monkeypatch):
    lookup = IdLookup(pa.array([], pa.string()))
    assert lookup.position("s1") is None and len(lookup.sorted_positions()) == 0
    assert lookup.mask_of(["s1"]).tolist() == [] and lookup.positions_of(["s1"]) == {}


def test_the_merged_order_is_kept_when_the_background_build_finishes_after_it(monkeypatch):
    monkeypatch.setattr(id_lookup, "RUN_ROWS", 4)
    ids = _ids(23, seed=1)
    lookup = IdLookup(pa.array(ids))
    lookup._build()
    merged = lookup.sorted_positions()
    lookup._build()   # a late build of runs does not replace the merged order
    assert lookup.sorted_positions() is merged and len(lookup._sorted[1]) == 1


def test_a_sort_by_id_while_the_runs_are_being_built_gets_the_whole_order(monkeypatch):
    """The GUI thread's sorted_positions against the background build's publish: whichever
    lands first, the answer is the table in id order, never one sorted only run by run."""
    monkeypatch.setattr(id_lookup, "RUN_ROWS", 16)
    ids = _ids(500, seed=2)
    want = _expected_order(ids)
    first = _expected_first(ids)
    for _ in range(20):
        lookup = IdLookup(pa.array(ids))
        found: list = []
        readers = [threading.Thread(target=lambda: found.append(lookup.position("s7"))) for _ in range(3)]
        lookup.start()
        for t in readers:
            t.start()
        got = lookup.sorted_positions().tolist()
        for t in readers:
            t.join()
        assert got == want
        assert found == [first.get("s7")] * 3


@pytest.mark.parametrize("kind", ["repeats", "one id", "all null", "unique", "prefixes"])
def test_the_merged_order_is_one_sort_of_the_whole_column(monkeypatch, kind):
    """The runs are merged a bucket of the ids' range at a time (_merge): whatever the ids
    (repeats across runs, one id everywhere: one bucket, nulls, ids that are prefixes of
    others), the order is the whole column's stable sort."""
    monkeypatch.setattr(id_lookup, "RUN_ROWS", 16)
    monkeypatch.setattr(id_lookup, "SAMPLE_PER_RUN", 3)
    rng = np.random.default_rng(5)
    ids = {"repeats": _ids(700, seed=3), "one id": ["s1"] * 300, "all null": [None] * 50,
           "unique": [f"s{int(v)}" for v in rng.permutation(700)],
           "prefixes": ["a" * int(v) for v in rng.integers(0, 30, 400)]}[kind]
    lookup = IdLookup(_chunked(ids, 37))
    assert lookup.sorted_positions().tolist() == _expected_order(ids)
    assert {v: lookup.position(v) for v in set(ids) - {None}} == _expected_first(ids)
