"""Prediction columns beyond id / output / score (confidence, per-class
scores) travel with the comparison, named per model, and are never taken
for slices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from signoff.core.compare import compare, is_prediction_extra, table_slice_columns
from signoff.core.config import EvalSetSpec
from signoff.core.model import EvalSetData
from signoff.store.frames import bytes_to_frame, frame_to_bytes
from signoff.plugins.common import TableFile, build_eval_set
from signoff.plugins.common.tables import to_frame  # eval sets read by pyarrow stay Arrow (issue 16)


def jsonl(rows):
    import json

    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_extras_are_kept_per_model_and_survive_the_store():
    spec = EvalSetSpec(name="digits", samples="s.jsonl", predictions="p.jsonl", output_type="label")
    samples = [{"id": 1, "input": "x", "reference": "6", "stroke": "thin"}]
    base = [{"id": 1, "output": "6", "score": 0.7, "confidence": 0.7, "scores": {"6": 0.7, "1": 0.2}}]
    cand = [{"id": 1, "output": "1", "score": 0.2, "confidence": 0.5}]
    data = build_eval_set(spec, TableFile("s.jsonl", jsonl(samples)), TableFile("p.jsonl", jsonl(base), "(baseline)"),
                          TableFile("p.jsonl", jsonl(cand), "(candidate)"))
    assert list(to_frame(data.baseline).columns) == ["id", "output", "score", "confidence", "scores"]
    result = compare(data)
    t = result.table
    assert result.slice_columns == ["stroke"]
    assert table_slice_columns(t) == ["stroke"]
    row = t.iloc[0]
    assert row["baseline_confidence"] == 0.7 and row["candidate_confidence"] == 0.5
    assert row["baseline_scores"] == {"6": 0.7, "1": 0.2}
    assert "candidate_scores" not in t.columns     # only the baseline file has it
    back = bytes_to_frame(frame_to_bytes(t))
    assert back.iloc[0]["baseline_scores"] == {"6": 0.7, "1": 0.2}
    assert table_slice_columns(back) == ["stroke"]
    assert is_prediction_extra("candidate_confidence") and not is_prediction_extra("candidate_output")
    assert not is_prediction_extra("baseline_output_bytes")


def test_sample_columns_named_like_a_model_field_are_renamed():
    spec = EvalSetSpec(name="t", samples="s.jsonl", predictions="p.jsonl")
    samples = [{"id": 1, "input": "x", "baseline_notes": "n"}]
    preds = [{"id": 1, "output": "o"}]
    data = build_eval_set(spec, TableFile("s.jsonl", jsonl(samples)), TableFile("p.jsonl", jsonl(preds), "(b)"),
                          TableFile("p.jsonl", jsonl(preds), "(c)"))
    assert "sample_baseline_notes" in to_frame(data.samples).columns
    assert table_slice_columns(compare(data).table) == ["sample_baseline_notes"]


def test_compare_with_extras_on_one_side_only():
    spec = EvalSetSpec(name="s", samples="s", predictions="p")
    data = EvalSetData(spec=spec, samples=pd.DataFrame({"id": ["a", "b"], "input": ["1", "2"]}),
                       baseline=pd.DataFrame({"id": ["a", "b"], "output": ["x", "y"], "score": [np.nan, np.nan]}),
                       candidate=pd.DataFrame({"id": ["a"], "output": ["x"], "score": [np.nan], "latency_ms": [12.0]}),
                       content_hash="h")
    t = compare(data).table.set_index("id")
    assert t.loc["a", "candidate_latency_ms"] == 12.0 and np.isnan(t.loc["b", "candidate_latency_ms"])
    assert "baseline_latency_ms" not in t.columns
