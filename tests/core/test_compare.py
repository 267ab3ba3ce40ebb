"""The change classes of PRODUCT.md, on hand-made cases."""

import numpy as np
import pandas as pd
import pytest

from signoff.core.compare import compare
from signoff.core.config import EvalSetSpec
from signoff.core.model import EvalSetData


def data(output_type="text", samples=None, base=None, cand=None, **spec_kw):
    spec = EvalSetSpec(name="s", samples="s.jsonl", predictions="p.jsonl", output_type=output_type, **spec_kw)
    return EvalSetData(spec=spec, samples=pd.DataFrame(samples), baseline=pd.DataFrame(base),
                       candidate=pd.DataFrame(cand), content_hash="h")


def classes(result):
    return dict(zip(result.table["id"], result.table["class"].astype(str)))


def test_given_scores_decide_improved_and_regressed():
    r = compare(data(
        samples={"id": ["a", "b", "c", "d", "e"], "input": list("abcde")},
        base={"id": list("abcde"), "output": ["x", "x", "x", "x", "x"], "score": [0.5, 0.5, 0.5, 0.5, np.nan]},
        cand={"id": list("abcde"), "output": ["x", "y", "y", "y", "y"], "score": [0.1, 0.9, 0.2, 0.5, 0.7]},
    ))
    # a: outputs equal -> unchanged even though the score moved
    assert classes(r) == {"a": "unchanged", "b": "improved", "c": "regressed", "d": "changed", "e": "changed"}
    assert r.summary["classes"] == {"unchanged": 1, "changed": 2, "improved": 1, "regressed": 1, "missing": 0}


def test_scores_derived_from_reference_exact_match():
    r = compare(data(
        samples={"id": ["1", "2", "3", "4"], "input": ["q"] * 4, "reference": ["A", "B", "C", "D"]},
        base={"id": ["1", "2", "3", "4"], "output": ["A", "x", "x", "y"]},
        cand={"id": ["1", "2", "3", "4"], "output": ["z", "B", "x", "z"]},
    ))
    assert classes(r) == {"1": "regressed", "2": "improved", "3": "unchanged", "4": "changed"}
    row = r.table.set_index("id").loc["1"]
    assert (row.baseline_score, row.candidate_score, row.delta) == (1.0, 0.0, -1.0)


def test_no_reference_and_no_score_means_changed():
    r = compare(data(samples={"id": ["1"], "input": ["q"]}, base={"id": ["1"], "output": ["a"]},
                     cand={"id": ["1"], "output": ["b"]}))
    assert classes(r) == {"1": "changed"}


def test_missing_ids_are_reported_never_dropped():
    r = compare(data(
        samples={"id": ["1", "2", "3"], "input": ["q"] * 3},
        base={"id": ["1", "2", "9"], "output": ["a", "a", "a"]},
        cand={"id": ["1", "3", "9"], "output": ["a", "a", "a"]},
    ))
    t = r.table.set_index("id")
    assert classes(r) == {"1": "unchanged", "2": "missing", "3": "missing", "9": "missing"}
    assert t.loc["2", "missing_side"] == "candidate"
    assert t.loc["3", "missing_side"] == "baseline"
    assert t.loc["9", "missing_side"] == "eval set"


def test_a_missing_side_gets_no_derived_score():
    r = compare(data(
        samples={"id": ["1", "2"], "input": ["q", "q"], "reference": ["a", "a"]},
        base={"id": ["1", "2"], "output": ["a", "a"]},
        cand={"id": ["1"], "output": ["a"]},
    ))
    t = r.table.set_index("id")
    assert t.loc["2", "class"] == "missing"
    assert t.loc["2", "baseline_score"] == 1.0
    assert np.isnan(t.loc["2", "candidate_score"]) and np.isnan(t.loc["2", "delta"])


def test_json_key_order_and_whitespace_do_not_count():
    r = compare(data("json",
                     samples={"id": ["1", "2", "3"], "input": ["q"] * 3},
                     base={"id": ["1", "2", "3"], "output": ['{"a": 1, "b": [1, 2]}', '{"a": 1}', "not json"]},
                     cand={"id": ["1", "2", "3"], "output": ['{ "b":[1,2],"a":1 }', '{"a": 2}', "not json"]}))
    assert classes(r) == {"1": "unchanged", "2": "changed", "3": "unchanged"}


def test_json_reference_match_derives_score():
    r = compare(data("json",
                     samples={"id": ["1"], "input": ["q"], "reference": ['{"total": 3, "cur": "EUR"}']},
                     base={"id": ["1"], "output": ['{"total": 4, "cur": "EUR"}']},
                     cand={"id": ["1"], "output": ['{"cur":"EUR","total":3}']}))
    assert classes(r) == {"1": "improved"}


def test_labels_are_stripped_and_images_compare_bytes():
    r = compare(data("label", samples={"id": ["1"], "input": ["q"]}, base={"id": ["1"], "output": ["cat "]},
                     cand={"id": ["1"], "output": ["cat"]}))
    assert classes(r) == {"1": "unchanged"}
    r = compare(data("image", samples={"id": ["1", "2"], "input": ["i1", "i2"]},
                     base={"id": ["1", "2"], "output": ["p", "p"], "output_bytes": [b"\x89PNG1", b"\x89PNG1"]},
                     cand={"id": ["1", "2"], "output": ["p", "p"], "output_bytes": [b"\x89PNG1", b"\x89PNG2"]}))
    assert classes(r) == {"1": "unchanged", "2": "changed"}


def test_lower_is_better_flips_the_direction():
    r = compare(data(samples={"id": ["1"], "input": ["q"]}, base={"id": ["1"], "output": ["a"], "score": [0.2]},
                     cand={"id": ["1"], "output": ["b"], "score": [0.4]}, higher_is_better=False))
    assert classes(r) == {"1": "regressed"}


def test_worst_first_order_and_slices():
    r = compare(data(
        samples={"id": list("abcd"), "input": list("abcd"), "topic": ["x", "x", "y", "y"]},
        base={"id": list("abcd"), "output": list("aaaa"), "score": [0.9, 0.9, 0.2, 0.5]},
        cand={"id": list("abcd"), "output": list("abba"), "score": [0.9, 0.1, 0.8, 0.5]},
    ))
    assert list(r.table["id"]) == ["b", "c", "a", "d"]  # regressed, improved, unchanged by severity
    assert r.summary["slices"]["topic"]["x"]["classes"]["regressed"] == 1
    assert r.summary["slices"]["topic"]["y"]["classes"]["improved"] == 1
    assert r.summary["metrics"]["mean_score_delta"] == pytest.approx((0.9 + 0.1 + 0.8 + 0.5 - 2.5) / 4)


def test_vectorised_on_a_large_set():
    n = 200_000
    ids = [f"s{i}" for i in range(n)]
    rng = np.random.default_rng(0)
    b = rng.random(n)
    c = rng.random(n)
    out_b = np.where(rng.random(n) < 0.5, "same", "b")
    r = compare(data(samples={"id": ids, "input": ["q"] * n}, base={"id": ids, "output": out_b, "score": b},
                     cand={"id": ids, "output": ["same"] * n, "score": c}))
    counts = r.summary["classes"]
    assert sum(counts.values()) == n
    assert counts["unchanged"] == int((out_b == "same").sum())


def test_the_worst_first_order_is_lexsort_of_severity_then_delta():
    """worst_first (a partition by severity, deltas sorted only where they differ) is the order
    np.lexsort gives: ties, signed zeros, empty and one-row sets."""
    from signoff.core.compare import worst_first

    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 7, 1000, 50_000):
        severity = rng.integers(0, 5, n).astype(np.int8)
        delta = rng.choice([0.0, -0.0, 1.5, -2.0, 3.0, -0.25], n)
        delta[severity == 4] = 0.0   # unchanged rows: one delta, no sort
        expected = np.lexsort((delta, severity))
        got = worst_first(severity, delta)
        assert got.dtype == np.int32 and (got == expected).all()
