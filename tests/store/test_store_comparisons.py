"""Comparisons: the per-sample table survives the Parquet round trip exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signoff.core.errors import NotFoundError


def _add(store, new_request, comparisons):
    return store.add_request(new_request(eval_sets=tuple(c[0] for c in comparisons)), comparisons=comparisons,
                             status="pending", description="", outbox=[], actor="ci")


def test_table_round_trip(store, new_request, sample_table):
    table = sample_table(20)
    rec = _add(store, new_request, [("texts", {"samples": 20}, table)])
    back = store.load_comparison(rec.id, "texts")
    pd.testing.assert_frame_equal(back, table)
    assert isinstance(back["class"].dtype, pd.CategoricalDtype)
    assert list(back["class"].cat.categories) == ["unchanged", "changed", "improved", "regressed", "missing"]
    assert np.isnan(back.loc[0, "baseline_score"])
    assert back.loc[0, "input_bytes"] == b"\x89PNG\x00\xff" and back.loc[1, "input_bytes"] is None
    assert back.loc[0, "reference"] is None


def test_mixed_object_columns_keep_their_values(store, new_request):
    # JSON outputs parsed into dicts next to plain text: pyarrow alone would turn
    # the dicts into structs that gain each other's keys.
    table = pd.DataFrame({
        "id": ["1", "2", "3", "4"],
        "baseline_output": pd.Series([{"name": "Ada"}, {"city": "Paris", "n": [1, 2]}, "not json", None],
                                     dtype=object),
        "candidate_output": pd.Series([1, "one", 2.5, b"\x00raw"], dtype=object),
    })
    rec = _add(store, new_request, [("json", {}, table)])
    back = store.load_comparison(rec.id, "json")
    assert back["baseline_output"].tolist() == [{"name": "Ada"}, {"city": "Paris", "n": [1, 2]}, "not json", None]
    assert back["candidate_output"].tolist() == [1, "one", 2.5, b"\x00raw"]


def test_summaries_in_eval_set_order(store, new_request, sample_table):
    comps = [("zeta", {"samples": 1, "metrics": {"delta": float("nan")}}, sample_table(1)),
             ("alpha", {"samples": 2, "classes": {"changed": 1}}, sample_table(2))]
    rec = _add(store, new_request, comps)
    summaries = store.comparison_summaries(rec.id)
    assert list(summaries) == ["zeta", "alpha"]
    # JSON has no NaN: stored as null on both backends (PostgreSQL would refuse NaN).
    assert summaries["zeta"] == {"samples": 1, "metrics": {"delta": None}}
    assert summaries["alpha"] == {"samples": 2, "classes": {"changed": 1}}
    assert len(store.load_comparison(rec.id, "alpha")) == 2


def test_unknown_eval_set_or_request(store, make_request):
    rec = make_request(store)
    with pytest.raises(NotFoundError, match="no eval set 'nope' in review request"):
        store.load_comparison(rec.id, "nope")
    with pytest.raises(NotFoundError, match="no review request 99"):
        store.load_comparison(99, "texts")
    with pytest.raises(NotFoundError):
        store.comparison_summaries(99)


def test_empty_table(store, new_request):
    table = pd.DataFrame({"id": pd.Series([], dtype=object), "score": pd.Series([], dtype=float)})
    rec = _add(store, new_request, [("empty", {}, table)])
    back = store.load_comparison(rec.id, "empty")
    assert len(back) == 0 and list(back.columns) == ["id", "score"]


def test_a_real_comparison_round_trips(store, new_request):
    from signoff.core.compare import compare
    from signoff.core.config import EvalSetSpec
    from signoff.core.model import EvalSetData

    samples = pd.DataFrame({"id": ["1", "2", "3", "4"], "input": ["a", "b", "c", "d"],
                            "reference": ['{"k": 1}', '{"k": 2}', None, '{"k": 4}'], "lang": ["en", "de", "en", None]})
    baseline = pd.DataFrame({"id": ["1", "2", "3", "4"], "output": ['{"k": 1}', '{"k": 0}', '{"x": 1}', "oops"],
                             "score": [np.nan] * 4})
    candidate = pd.DataFrame({"id": ["1", "2", "3", "5"], "output": ['{ "k":1 }', '{"k": 2}', '{"x": 2}', "{}"],
                              "score": [np.nan] * 4})
    data = EvalSetData(spec=EvalSetSpec(name="extract", samples="s.jsonl", predictions="p.jsonl", output_type="json"),
                       samples=samples, baseline=baseline, candidate=candidate, content_hash="h")
    result = compare(data)
    rec = _add(store, new_request, [("extract", result.summary, result.table)])
    pd.testing.assert_frame_equal(store.load_comparison(rec.id, "extract"), result.table)
    assert store.comparison_summaries(rec.id)["extract"] == result.summary
