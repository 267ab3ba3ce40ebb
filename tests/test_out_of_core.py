"""The out-of-core comparison (DuckDB over Parquet) gives what the in-memory engine gives:
the same stored per-sample table, row for row, and the same summary, on the demo's eval sets
and on a generated million (issue 16, "Done means")."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from signoff.core.compare import compare
from signoff.core.config import EvalSetSpec, parse_config
from signoff.core.errors import InputError
from signoff.core.stored_table import SAME_COLUMN, restore_outputs
from signoff.core.model import EvalSetData
from signoff.plugins.common.evalset import TableFile, build_eval_set
from signoff.plugins.demo import DEMO_SETS, SIGNOFF_TOML
from signoff.service import out_of_core as ooc
from signoff.store.frames import as_table, table_to_frame

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "data"


def _write(frame: pd.DataFrame | pa.Table, path: Path) -> Path:
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path)
    return path


def _inputs(data: EvalSetData, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The loaded frames as the engine's canonical Parquet inputs (a NaN score: none given)."""
    return (_write(data.samples, tmp_path / "samples.parquet"), _write(data.baseline, tmp_path / "baseline.parquet"),
            _write(data.candidate, tmp_path / "candidate.parquet"))


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _text_as_str(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as pandas' str dtype. The in-memory engine keeps a text column of the inputs as
    the objects pandas held (e.g. a reference column read as object); the out-of-core engine reads
    Parquet, where text is text: the same values, another pandas dtype."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if col.dtype == object and col.map(lambda v: v is None or isinstance(v, str)).all():
            out[name] = col.astype("str")
    return out


def assert_frames_same(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(_text_as_str(found), _text_as_str(expected))


def assert_same(data: EvalSetData, tmp_path: Path, inputs=None) -> ooc.OutOfCoreResult:
    memory = compare(data)
    result = ooc.compare_parquet(data.spec, *(inputs or _inputs(data, tmp_path)), out=tmp_path / "out.parquet",
                                 warnings=data.warnings, memory_limit="256MB", threads=2)
    expected = table_to_frame(as_table(memory.table))   # the table as the store gives it back
    stored = pq.read_table(result.path)
    # Stored as the in-memory engine stores it: the candidate's output null where it is the
    # baseline's, candidate_same true there; every reader restores it (stored_table.restore_outputs).
    if SAME_COLUMN in memory.arrow.column_names:
        assert stored.column(SAME_COLUMN).to_pylist() == memory.arrow.column(SAME_COLUMN).to_pylist()
        assert stored.column("candidate_output").null_count >= pc.sum(stored.column(SAME_COLUMN)).as_py()
    found = table_to_frame(restore_outputs(stored))
    assert_frames_same(found, expected)
    assert result.rows == len(expected) and result.slice_columns == memory.slice_columns
    assert _close(result.summary, memory.summary), (result.summary, memory.summary)
    return result


@pytest.mark.parametrize("name", [n for n, t in DEMO_SETS.items() if t in ooc.OUTPUT_TYPES])
def test_the_demo_compares_the_same_out_of_core(name, tmp_path):
    spec = next(s for s in parse_config(SIGNOFF_TOML).eval_sets if s.name == name)
    files = [TableFile(f"{part}.jsonl", (DEMO / name / f"{part}.jsonl").read_bytes())
             for part in ("samples", "baseline", "candidate")]
    data = build_eval_set(spec, *files)
    result = assert_same(data, tmp_path)
    assert result.rows == len(data.samples) and set(result.summary["slices"]) == set(spec.slices)


def test_json_and_image_outputs_are_refused_in_one_line(tmp_path):
    spec = EvalSetSpec(name="extract", samples="s", predictions="p", output_type="json")
    with pytest.raises(InputError, match=r"^eval set 'extract': the out-of-core comparison handles output types "
                                         r"text, label, number; 'json' outputs are compared in memory$"):
        ooc.comparison_sql(spec, ["id"], ["id", "output"], ["id", "output"])


def _generated(n: int, output_type: str = "label", seed: int = 3) -> EvalSetData:
    """n samples; ~1% of ids only in the samples, some only in one model's predictions, scores
    given for half the rows (derived from the reference for the others), labels with stray spaces."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"id{i:07d}" for i in range(n)], dtype=object)
    labels = np.array(["cat", "dog", " cat", "dog ", "bird", "7", "7.0"], dtype=object)
    samples = pd.DataFrame({"id": ids, "input": np.char.add("question ", (np.arange(n) % 977).astype(str)).astype(object),
                            "reference": pd.Series(labels[rng.integers(0, 7, n)], dtype=object).where(
                                rng.random(n) > 0.05, None),
                            "region": np.array(["eu", "us", "apac"], dtype=object)[rng.integers(0, 3, n)]})

    def predictions(keep: np.ndarray, extra: np.ndarray) -> pd.DataFrame:
        given = rng.random(n) < 0.5
        frame = pd.DataFrame({"id": np.concatenate([ids[keep], extra]),
                              "output": labels[rng.integers(0, 7, keep.sum() + len(extra))],
                              "score": np.where(np.concatenate([given[keep], np.ones(len(extra), bool)]),
                                                rng.random(keep.sum() + len(extra)).round(3), np.nan),
                              "confidence": rng.random(keep.sum() + len(extra))})
        return frame

    baseline = predictions(rng.random(n) > 0.01, np.array(["only-b-1", "both-1"], dtype=object))
    candidate = predictions(rng.random(n) > 0.01, np.array(["both-1", "only-c-1"], dtype=object))
    spec = EvalSetSpec(name="generated", samples="s", predictions="p", output_type=output_type, slices=("region",),
                       higher_is_better=output_type != "number")
    return EvalSetData(spec=spec, samples=samples, baseline=baseline, candidate=candidate, content_hash="h",
                       warnings=["a warning"])


@pytest.mark.parametrize("output_type", ["text", "number"])
def test_generated_sets_compare_the_same(output_type, tmp_path):
    assert_same(_generated(20_000, output_type, seed=5), tmp_path)


@pytest.mark.slow
def test_a_generated_million_compares_the_same(tmp_path):
    result = assert_same(_generated(1_000_000), tmp_path)
    meta = pq.ParquetFile(result.path).metadata
    assert meta.num_row_groups > 1 and max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) <= 65_536


def test_duplicate_ids_and_non_finite_scores(tmp_path):
    data = _generated(50)
    s, b, c = _inputs(data, tmp_path)
    dup = pd.concat([data.baseline, data.baseline.iloc[[3, 4]]])
    with pytest.raises(InputError, match=r"^generated: duplicate sample ids in the baseline predictions: "
                                         rf"{data.baseline['id'].iloc[3]}, {data.baseline['id'].iloc[4]}$"):
        ooc.compare_parquet(data.spec, s, _write(dup, tmp_path / "dup.parquet"), c)
    # NaN and inf written as such (not null): not finite
    scores = pa.array([np.inf if i == 2 else (np.nan if i == 5 else 0.5) for i in range(len(data.candidate))],
                      pa.float64(), from_pandas=False)
    bad = pa.Table.from_pandas(data.candidate, preserve_index=False).set_column(2, "score", scores)
    bad_path = _write(bad, tmp_path / "bad.parquet")
    with pytest.raises(InputError, match=rf"candidate predictions \(id {data.candidate['id'].iloc[2]}\): 'score' is "
                                         r"inf, not a finite number; .*non_finite_scores = \"as-missing\""):
        ooc.compare_parquet(data.spec, s, b, bad_path)
    spec = EvalSetSpec(name="generated", samples="s", predictions="p", output_type="label", slices=("region",),
                       non_finite_scores="as-missing")
    cand = data.candidate.assign(score=scores.to_numpy(zero_copy_only=False))
    no_score = {"candidate": [data.candidate["id"].iloc[2], data.candidate["id"].iloc[5]]}
    cand.loc[[2, 5], "score"] = np.nan
    as_missing = EvalSetData(spec=spec, samples=data.samples, baseline=data.baseline, candidate=cand, content_hash="h",
                             warnings=data.warnings, no_score=no_score)
    result = assert_same(as_missing, tmp_path, inputs=(s, b, bad_path))
    assert result.summary["non_finite_scores"] == {"baseline": 0, "candidate": 2}


def test_the_engine_is_chosen_by_size_or_by_name(tmp_path, monkeypatch):
    small = _write(pa.table({"id": ["a", "b"], "output": ["x" * 50, "y" * 50]}), tmp_path / "x.parquet")
    assert ooc.choose_engine([small]) == "memory"
    assert ooc.choose_engine([small], "duckdb") == "duckdb"
    monkeypatch.setenv("SIGNOFF_OUT_OF_CORE_ABOVE", "99")   # its Arrow size x 3 is more
    assert ooc.choose_engine([small]) == "duckdb"
    assert ooc.choose_engine([small], "memory") == "memory"
    with pytest.raises(InputError, match="unknown comparison engine 'spark'"):
        ooc.choose_engine([small], "spark")


def test_the_documented_sql_is_the_engines():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text()
    section = doc.split("### Comparisons larger than memory", 1)[1]
    sql = re.search(r"```sql\n(.*?)```", section, re.S).group(1)
    assert sql.strip() == ooc.COMPARISON_SQL.strip()


@pytest.mark.parametrize("engine", ["memory", "duckdb"])
def test_either_engine_stores_the_same_comparison(engine, tmp_path, monkeypatch):
    from signoff.store.records import NewRequest
    from signoff.store.store import Store

    data = _generated(3_000, "text", seed=11)
    used, summary, table = ooc.compare_files(data.spec, *_inputs(data, tmp_path), engine=engine, warnings=data.warnings,
                                             out=tmp_path / "engine.parquet")
    assert used == engine and isinstance(table, Path) == (engine == "duckdb")
    store = Store(f"sqlite:///{tmp_path / 'signoff.db'}")
    try:
        rec = store.add_request(NewRequest(sha="a" * 40, change_key="m", source="files", locator={}, baseline_ref="b",
                                           candidate_ref="c", title="t", author="a@example.com", content_hash="h",
                                           config_toml="[policy]\n", eval_sets=["generated"], created_by="ci"),
                                comparisons=[("generated", summary, table)], status="pending", description="",
                                outbox=[], actor="ci")
        expected = table_to_frame(as_table(compare(data).table))
        assert_frames_same(store.load_comparison(rec.id, "generated"), expected)
        assert _close(store.comparison_summaries(rec.id)["generated"], compare(data).summary)
    finally:
        store.close()
    if engine == "duckdb":
        assert (tmp_path / "engine.parquet").is_file()   # copied in under its hash, left where it was
