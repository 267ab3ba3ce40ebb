"""The Arrow engine (issue 16) finds what the engine before it found: the same stored table (every
column, every value, the same worst-first order, as the store gives it back), the same summary and
the same sample hashes (labels carry over between requests by them; the engine before stored them,
they are now computed on demand from the stored table), on the demo's eval sets and on a generated million
with the awkward cases mixed in (ids in another order or missing on one side, quotes, backslashes,
non-ASCII and control characters, no value). Not timed: benchmarks/bench_scale.py times it.

tests/support/compare_v1.py is the engine as it was, kept here only as the reference; it is fed the
frames the loaders gave before (the same Arrow columns through pandas, as read_table converts)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sqlalchemy import update

from signoff.core.compare import HASH_COLUMN, compare
from signoff.core.config import EvalSetSpec
from signoff.core.model import EvalSetData
from signoff.plugins.common.evalset import TableFile, build_eval_set
from signoff.plugins.common.tables import to_frame
from signoff.plugins.demo import DemoSource, build_demo_workspace
from signoff.service.review import ReviewService
from signoff.core.stored_table import HASH_KEY, ON_DEMAND
from signoff.store.frames import as_table, bytes_to_frame, frame_to_bytes
from signoff.store.records import NewRequest
from signoff.store.schema import Comparison
from signoff.store.store import Store

from tests.support import compare_v1

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scale_data  # noqa: E402


def as_before(table) -> pd.DataFrame:
    """The frame the loaders built before issue 16: every column as numpy, through read_table's pandas."""
    if isinstance(table, pd.DataFrame):
        return table
    frame = to_frame(table)
    return pd.DataFrame({c: frame[c].to_numpy() for c in frame.columns})


def assert_same(data: EvalSetData, store: Store) -> None:
    """The same table read back (the candidate's outputs equal to the baseline's stored as null and put
    back on reading), and every sample's hash computed on demand from the table as the real store
    wrote it (a Parquet file, and a blob) equal to the sample_hash the engine before stored."""
    old_data = EvalSetData(spec=data.spec, samples=as_before(data.samples), baseline=as_before(data.baseline),
                           candidate=as_before(data.candidate), content_hash=data.content_hash,
                           warnings=list(data.warnings), no_score=dict(data.no_score))
    old = compare_v1.compare(old_data)
    new = compare(data)
    assert new.summary == old.summary
    assert new.slice_columns == old.slice_columns
    assert HASH_COLUMN not in new.arrow.column_names
    stored_old = bytes_to_frame(frame_to_bytes(old.table))
    stored_new = bytes_to_frame(frame_to_bytes(new.arrow))
    pd.testing.assert_frame_equal(stored_new, stored_old.drop(columns=[HASH_COLUMN]), check_exact=True)
    pd.testing.assert_frame_equal(new.table, stored_old.drop(columns=[HASH_COLUMN]), check_exact=True)
    assert as_table(new.table).schema.metadata[HASH_KEY] == ON_DEMAND   # a store given the frame hashes on demand
    expected = dict(zip(stored_old["id"], stored_old[HASH_COLUMN]))
    service = ReviewService(store, user="ci@example.com")
    for where in ("file", "blob"):
        rec = store.add_request(_new_request(new.eval_set), comparisons=[(new.eval_set, new.summary, new.arrow)],
                                status="pending", description="", outbox=[], actor="ci@example.com")
        if where == "blob":   # as a store without a comparisons location (PostgreSQL) keeps it
            with store._write() as s:
                s.execute(update(Comparison).where(Comparison.request_id == rec.id)
                          .values(table_data=frame_to_bytes(new.arrow), table_uri=None, table_sha256=None))
        pd.testing.assert_frame_equal(store.load_comparison(rec.id, new.eval_set),
                                      stored_old.drop(columns=[HASH_COLUMN]), check_exact=True)
        some = list(expected)[::max(1, len(expected) // 500)]   # a few, read by row group
        assert service.sample_hashes(rec.id, new.eval_set, some) == {i: expected[i] for i in some}
        assert service.sample_hashes(rec.id, new.eval_set) == expected   # all


def _new_request(eval_set: str) -> NewRequest:
    return NewRequest(sha="a" * 40, change_key="main", source="git", locator={}, baseline_ref="b" * 40,
                      candidate_ref="a" * 40, title="t", author="dana@example.com", content_hash="c0ffee",
                      config_toml="[policy]\n", eval_sets=[eval_set], created_by="ci@example.com")


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'signoff.db'}")
    yield s
    s.close()


@pytest.fixture(scope="module")
def demo_sets(tmp_path_factory):
    ws = build_demo_workspace(tmp_path_factory.mktemp("demo") / "workspace")
    return DemoSource(str(ws.repo)).load(candidate=ws.candidate_sha).eval_sets


def test_the_demo_compares_as_before(demo_sets, store):
    assert {e.spec.output_type for e in demo_sets} >= {"text", "json", "label", "image"}
    for data in demo_sets:
        assert_same(data, store)


def _awkward(tables: dict[str, pa.Table], rng: np.random.Generator) -> dict[str, pa.Table]:
    """The generated set with what real files have: the candidate in another order, ids only one
    side has, outputs with quotes, backslashes, non-ASCII and control characters, no value."""
    n = tables["samples"].num_rows
    samples, base, cand = tables["samples"], tables["baseline"], tables["candidate"]
    odd = ["it's", 'say "hi"', "back\\slash", "naïve café", "tab\there", "line\nbreak", "\x7f", "", "东京"]
    rows = rng.choice(n, size=n // 50, replace=False)
    outputs = base.column("output").to_numpy(zero_copy_only=False).astype(object)
    outputs[rows] = [odd[i % len(odd)] + str(i) for i in range(len(rows))]
    outputs[rng.choice(n, size=n // 200, replace=False)] = None
    base = base.set_column(1, "output", pa.array(outputs, pa.string()))
    cand_out = cand.column("output").to_numpy(zero_copy_only=False).astype(object)
    cand_out[rows[: len(rows) // 2]] = outputs[rows[: len(rows) // 2]]   # equal odd outputs: unchanged
    cand = cand.set_column(1, "output", pa.array(cand_out, pa.string()))
    cand = cand.take(pa.array(rng.permutation(n)))            # another order
    cand = cand.slice(0, n - n // 100)                         # some samples without a candidate prediction
    extra = pa.table({"id": pa.array([f"x{i}" for i in range(50)]), "output": pa.array(["o"] * 50),
                      "score": pa.array(np.full(50, 0.5))})
    base = pa.concat_tables([base, extra])                     # predictions for ids not in the samples
    return {"samples": samples, "baseline": base, "candidate": cand}


def _parquet(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


# The awkward cases at 300k, not a million: they need many record batches and chunks, not the
# size (a million of them ran the old engine for ~65 s of the suite's 15-minute budget).
@pytest.mark.parametrize("n, awkward", [(20_000, True), (1_000_000, False), (300_000, True)],
                         ids=["awkward-20k", "million", "awkward-300k"])
def test_a_generated_million_compares_as_before(n, awkward, store):
    tables = scale_data.generate(n)
    if awkward:
        tables = _awkward(tables, np.random.default_rng(3))
    spec = EvalSetSpec(name="support", samples="s.parquet", predictions="p.parquet", slices=("topic",))
    data = build_eval_set(spec, *(TableFile(f"{side}.parquet", _parquet(tables[side]))
                                  for side in ("samples", "baseline", "candidate")))
    assert all(isinstance(t, pa.Table) for t in (data.samples, data.baseline, data.candidate))
    assert bool(data.warnings) == awkward
    assert_same(data, store)
    if not awkward:
        assert pc.sum(pc.equal(compare(data).arrow.column("class").cast(pa.string()), "unchanged")).as_py() > n // 2
