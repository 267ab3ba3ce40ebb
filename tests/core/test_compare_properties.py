"""Property-based tests of the comparison: any eval set the importers can hand over
compares without another exception, and JSON of any depth is compared without a
RecursionError (docs/trust.md, "Malformed input")."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signoff.core.compare import compare
from signoff.core.config import EvalSetSpec
from signoff.core.errors import InputError
from signoff.core.jsondiff import MAX_DEPTH, TOO_DEEP, diff_json, json_depth, parse_json, rows
from signoff.core.model import EvalSetData
from signoff.core.normalise import normalise

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                             max_size=3), max_leaves=8)
_outputs = _json | _json.map(lambda v: json.dumps(v)) | st.text(max_size=10)
_ids = st.lists(st.sampled_from(list("abcdefg")), unique=True, max_size=6)


def _frame(ids, values):
    return pd.DataFrame({"id": pd.Series(ids, dtype=object),
                         "output": pd.Series(values[:len(ids)] + [None] * (len(ids) - len(values)), dtype=object)})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ids, _ids, _ids, st.lists(_outputs, max_size=6), st.lists(_outputs, max_size=6),
       st.lists(st.floats(allow_nan=True, allow_infinity=False) | st.none(), max_size=6),
       st.sampled_from(["text", "label", "number", "json"]), st.booleans(), st.booleans())
def test_compare_classifies_anything_or_refuses_it(s_ids, b_ids, c_ids, b_out, c_out, scores, otype, higher, as_missing):
    samples = pd.DataFrame({"id": pd.Series(s_ids, dtype=object), "input": ["x"] * len(s_ids),
                            "reference": pd.Series((b_out + [None] * 6)[:len(s_ids)], dtype=object)})
    base, cand = _frame(b_ids, b_out), _frame(c_ids, c_out)
    cand["score"] = (scores + [np.nan] * 6)[:len(c_ids)]
    cand["score"] = cand["score"].astype(float)
    spec = EvalSetSpec(name="p", output_type=otype, higher_is_better=higher,
                       non_finite_scores="as-missing" if as_missing else "error")
    data = EvalSetData(spec, samples, base, cand, "h", no_score={"candidate": c_ids[:1]} if as_missing else {})
    try:
        result = compare(data)
    except InputError:
        return
    assert len(result.table) == len(set(s_ids) | set(b_ids) | set(c_ids))
    assert sum(result.summary["classes"].values()) == len(result.table)
    json.dumps(result.summary, allow_nan=False)   # the summary is standard JSON


def _nested(depth: int, leaf=1):
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def test_normalise_compares_json_of_any_depth_without_recursion():
    deep_text = "[" * 100_000 + "1" + "]" * 100_000
    deep_value = _nested(100_000)
    keys = normalise(pd.Series([deep_text, deep_text, deep_text.replace("1", "2"), deep_value, deep_value],
                               dtype=object), "json")
    assert keys[0] == keys[1] != keys[2]
    assert keys[3] == keys[4] and keys[3] != keys[0]


def test_json_depth_is_iterative_and_parse_json_stops_at_the_documented_depth():
    assert json_depth(_nested(100_000)) == MAX_DEPTH + 1          # it stops counting there
    assert json_depth(_nested(7), limit=10) == 7 and json_depth(3) == 0
    assert parse_json(_nested(MAX_DEPTH)).ok
    for value in (_nested(MAX_DEPTH + 1), _nested(100_000), "[" * 100_000 + "]" * 100_000,
                  json.dumps(_nested(MAX_DEPTH + 1))):
        parsed = parse_json(value)
        assert not parsed.ok and parsed.error == TOO_DEEP
        d = diff_json(parsed.value, parse_json('{"a": 1}').value)
        assert d.status == "changed" and rows(d)


def test_diff_and_rows_at_the_documented_depth():
    a, b = parse_json(json.dumps(_nested(MAX_DEPTH))), parse_json(json.dumps(_nested(MAX_DEPTH, leaf=2)))
    d = diff_json(a.value, b.value)
    assert d.status == "modified" and len(rows(d, only_changes=True)) == MAX_DEPTH + 1
