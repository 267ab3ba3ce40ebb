"""Malformed eval-set files: each is one clear InputError naming the file and the
physical line (JSONL, CSV) or row (Parquet), never silently accepted, never a crash.
Plus property-based tests: any bytes either load or give an InputError."""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signoff.core.compare import compare
from signoff.core.config import EvalSetSpec, parse_config
from signoff.core.errors import ConfigError, InputError
from signoff.plugins.common import TableFile, build_eval_set, read_table
from signoff.plugins.common.tables import to_frame  # eval sets read by pyarrow stay Arrow (issue 16)

SAMPLES = [{"id": "a", "input": "x", "reference": "r"}, {"id": "b", "input": "y", "reference": "r"}]


def spec(fmt: str = "jsonl", **kw) -> EvalSetSpec:
    return EvalSetSpec(name="t", samples=f"s.{fmt}", predictions=f"p.{fmt}", **kw)


def jsonl(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def parquet(frame: pd.DataFrame | pa.Table) -> bytes:
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def files(fmt: str, samples: bytes, baseline: bytes, candidate: bytes) -> tuple[TableFile, TableFile, TableFile]:
    return (TableFile(f"s.{fmt}", samples), TableFile(f"p.{fmt}", baseline, "(baseline)"),
            TableFile(f"p.{fmt}", candidate, "(candidate)"))


GOOD_JSONL = jsonl(['{"id": "a", "output": "r", "score": 1}', '{"id": "b", "output": "r", "score": 0.5}'])
SAMPLES_JSONL = jsonl([json.dumps(s) for s in SAMPLES])


# -- non-finite scores ---------------------------------------------------------------------

@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_jsonl_non_finite_score_is_an_error_naming_line_and_id(token):
    bad = jsonl(['{"id": "a", "output": "r", "score": 1}', "", f'{{"id": "b", "output": "r", "score": {token}}}'])
    with pytest.raises(InputError, match=r"^p.jsonl \(candidate\) line 3 \(id b\): 'score' is -?(nan|inf), "
                                         r"not a finite number; .*non_finite_scores = \"as-missing\""):
        build_eval_set(spec(), *files("jsonl", SAMPLES_JSONL, GOOD_JSONL, bad))


@pytest.mark.parametrize("token", ["NaN", "inf", "-Infinity", "1e400"])
def test_csv_non_finite_score_is_an_error_naming_the_physical_line(token):
    samples = b"id,input,reference\na,x,r\nb,y,r\n"
    good = b"id,output,score\na,r,1\nb,r,0.5\n"
    # The quoted output spans two lines: the bad record starts on line 4, it is record 3.
    bad = f'id,output,score\na,"two\nlines",1\nb,r,{token}\n'.encode()
    with pytest.raises(InputError, match=r"^p.csv \(baseline\) line 4 \(id b\): 'score' is -?(nan|inf), not a finite"):
        build_eval_set(spec("csv"), *files("csv", samples, bad, good))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_parquet_non_finite_score_is_an_error_naming_the_row(value):
    samples = parquet(pd.DataFrame(SAMPLES))
    good = parquet(pd.DataFrame({"id": ["a", "b"], "output": ["r", "r"], "score": [1.0, 0.5]}))
    # pa.array keeps NaN a NaN (from_pandas would write it as null)
    bad = parquet(pa.table({"id": ["a", "b"], "output": ["r", "r"], "score": pa.array([1.0, value], pa.float64())}))
    with pytest.raises(InputError, match=r"^p.parquet \(candidate\) row 2 \(id b\): 'score' is -?(nan|inf)"):
        build_eval_set(spec("parquet"), *files("parquet", samples, good, bad))


def test_a_missing_score_is_still_no_error():
    """null (JSONL), an empty cell (CSV) and a Parquet null mean "no score given", not NaN."""
    p = jsonl(['{"id": "a", "output": "r", "score": null}', '{"id": "b", "output": "r", "score": 0.5}'])
    data = build_eval_set(spec(), *files("jsonl", SAMPLES_JSONL, p, p))
    assert np.isnan(to_frame(data.baseline)["score"].iloc[0]) and to_frame(data.baseline)["score"].iloc[1] == 0.5
    csv_p = b"id,output,score\na,r,\nb,r,0.5\n"
    data = build_eval_set(spec("csv"), *files("csv", b"id,input,reference\na,x,r\nb,y,r\n", csv_p, csv_p))
    assert np.isnan(to_frame(data.candidate)["score"].iloc[0])
    pq_p = parquet(pa.table({"id": ["a", "b"], "output": ["r", "r"], "score": pa.array([None, 0.5], pa.float64())}))
    data = build_eval_set(spec("parquet"), *files("parquet", parquet(pd.DataFrame(SAMPLES)), pq_p, pq_p))
    assert np.isnan(to_frame(data.candidate)["score"].iloc[0])


def test_opt_in_counts_non_finite_scores_as_no_score():
    bad = jsonl(['{"id": "a", "output": "r", "score": NaN}', '{"id": "b", "output": "x", "score": Infinity}'])
    data = build_eval_set(spec(non_finite_scores="as-missing"), *files("jsonl", SAMPLES_JSONL, GOOD_JSONL, bad))
    assert data.no_score == {"candidate": ["a", "b"]}
    assert any("2 candidate scores are NaN or infinite" in w for w in data.warnings)
    result = compare(data)
    table = result.table.set_index("id")
    # No score at all: not one derived from the reference (output "r" equals the reference for a).
    assert table["candidate_score"].isna().all()
    assert result.summary["non_finite_scores"] == {"baseline": 0, "candidate": 2}
    assert result.summary["metrics"]["candidate_mean_score"] is None


def test_config_opt_in_key():
    text = """
[[eval_sets]]
name = "t"
samples = "s.jsonl"
predictions = "p.jsonl"
non_finite_scores = "as-missing"
[policy]
required = {}
allow_unreviewed = true
"""
    assert parse_config(text).eval_sets[0].non_finite_scores == "as-missing"
    assert parse_config(text.replace('non_finite_scores = "as-missing"\n', "")).eval_sets[0].non_finite_scores == "error"
    with pytest.raises(ConfigError, match=r"eval_sets\[0\].non_finite_scores must be one of 'error', 'as-missing'"):
        parse_config(text.replace('"as-missing"', '"zero"'))


# -- ids ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, shown", [('""', "''"), ('"  "', "'  '"), ("{}", r"\{\}"), ('{"k": 1}', r"\{'k': 1\}"),
                                          ("[1]", r"\[1\]"), ("7.5", "7.5"), ("true", "True"), ("false", "False")])
def test_bad_id_is_an_error_naming_line(value, shown):
    bad = jsonl(['{"id": "a", "output": "r"}', f'{{"id": {value}, "output": "r"}}'])
    with pytest.raises(InputError, match=rf"^p.jsonl \(baseline\) line 2: 'id' is {shown}.*; "
                                         r"an id is non-empty text or a whole number"):
        build_eval_set(spec(), *files("jsonl", SAMPLES_JSONL, bad, GOOD_JSONL))


@pytest.mark.parametrize("value", ['""', "{}", "[]", "1.5", "true"])
def test_bad_id_in_a_column_of_one_type_is_an_error(value):
    """The Arrow fast path (every id of one type) checks them too."""
    bad = jsonl([f'{{"id": {value}, "output": "r"}}', f'{{"id": {value}, "output": "s"}}'])
    with pytest.raises(InputError, match=r"^s.jsonl line 1: 'id' is .*an id is non-empty text or a whole number"):
        build_eval_set(spec(), *files("jsonl", bad, GOOD_JSONL, GOOD_JSONL))


def test_null_id_is_an_error():
    bad = jsonl(['{"id": "a", "output": "r"}', '{"id": null, "output": "r"}'])
    with pytest.raises(InputError, match=r"^p.jsonl \(candidate\) line 2: no 'id'"):
        build_eval_set(spec(), *files("jsonl", SAMPLES_JSONL, GOOD_JSONL, bad))


def test_parquet_float_id_with_a_fraction_is_an_error():
    bad = parquet(pd.DataFrame({"id": [1.0, 2.5], "output": ["r", "r"]}))
    with pytest.raises(InputError, match=r"^p.parquet \(baseline\) row 2: 'id' is 2.5"):
        build_eval_set(spec("parquet"), *files("parquet", parquet(pd.DataFrame(SAMPLES)), bad, bad))


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_parquet_non_finite_float_id_is_an_error_without_a_warning(value):
    bad = parquet(pd.DataFrame({"id": [1.0, value], "output": ["r", "r"]}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # numpy's "invalid value in remainder" once leaked here
        with pytest.raises(InputError, match=r"^p.parquet \(baseline\) row 2: "):
            build_eval_set(spec("parquet"), *files("parquet", parquet(pd.DataFrame(SAMPLES)), bad, bad))


def test_integer_and_text_ids_are_the_same_id():
    samples = jsonl(['{"id": 7, "input": "x"}', '{"id": "8", "input": "y"}'])
    base = jsonl(['{"id": "7", "output": "r"}', '{"id": 8, "output": "r"}'])
    cand = jsonl(['{"id": 7.0, "output": "r"}', '{"id": "8", "output": "r"}'])
    data = build_eval_set(spec(), *files("jsonl", samples, base, cand))
    assert list(to_frame(data.samples)["id"]) == ["7", "8"] == list(to_frame(data.baseline)["id"]) == list(to_frame(data.candidate)["id"])
    assert data.warnings == []
    with pytest.raises(InputError, match=r"^s.jsonl: 1 id appear more than once, e.g. 7$"):
        build_eval_set(spec(), *files("jsonl", jsonl(['{"id": 7, "input": "x"}', '{"id": "7", "input": "y"}']),
                                      base, cand))


def test_no_id_in_common_between_the_models_is_an_error_naming_both_files():
    other = jsonl(['{"id": "x", "output": "r"}', '{"id": "y", "output": "r"}'])
    with pytest.raises(InputError, match=r"^eval set 't': the candidate's predictions p.jsonl \(candidate\) and the "
                                         r"baseline's p.jsonl \(baseline\) have no sample id in common "
                                         r"\(candidate ids: x, y; baseline ids: a, b\)"):
        build_eval_set(spec(), *files("jsonl", SAMPLES_JSONL, GOOD_JSONL, other))


# -- CSV shape --------------------------------------------------------------------------------

def test_csv_short_row_is_an_error_naming_the_physical_line():
    data = b'id,output,score\na,"line one\nline two",1\nb,r\n'
    with pytest.raises(InputError, match=r"^p.csv line 4: short row: 2 fields, the header has 3$"):
        read_table(data, "p.csv")


def test_csv_long_row_is_an_error_naming_the_physical_line():
    data = b'id,output,score\n\na,"x\ny\nz",1\nb,r,1,extra\n'
    with pytest.raises(InputError, match=r"^p.csv \(baseline\) line 6: long row: 4 fields, the header has 3$"):
        read_table(data, "p.csv", where="(baseline)")


def test_csv_blank_lines_are_skipped_and_later_errors_name_their_line():
    data = b'id,output\n\na,x\n   \nb,"y\n"\n,z\n'
    frame = read_table(data, "p.csv")
    assert list(frame["output"]) == ["x", "y\n", "z"]
    with pytest.raises(InputError, match=r"^p.csv \(candidate\) line 7: no 'id'"):
        build_eval_set(spec("csv"), *files("csv", b"id,input\na,1\n", b"id,output\na,x\n", data))


# -- binary columns -----------------------------------------------------------------------------

def test_parquet_binary_output_column_is_an_error_naming_it():
    bad = parquet(pa.table({"id": ["a", "b"], "output": pa.array([b"\x00\x01", b"x"], pa.binary())}))
    with pytest.raises(InputError, match=r"^p.parquet \(baseline\): column 'output' holds binary data \(bytes\)"):
        build_eval_set(spec("parquet"), *files("parquet", parquet(pd.DataFrame(SAMPLES)), bad, bad))


def test_parquet_binary_input_column_is_an_error_naming_it():
    samples = parquet(pa.table({"id": ["a"], "input": pa.array([[b"x"]], pa.list_(pa.binary()))}))
    good = parquet(pd.DataFrame({"id": ["a"], "output": ["r"]}))
    with pytest.raises(InputError, match=r"^s.parquet: column 'input' holds binary data"):
        build_eval_set(spec("parquet"), *files("parquet", samples, good, good))


def test_parquet_bytes_columns_of_image_sets_stay_allowed():
    frame = read_table(parquet(pa.table({"id": ["a"], "output_bytes": pa.array([b"\x89PNG"], pa.binary())})), "p.parquet")
    assert frame["output_bytes"].iloc[0] == b"\x89PNG"


# -- property-based: any input loads or is an InputError ---------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8)
_records = st.lists(st.dictionaries(st.sampled_from(["id", "output", "score", "input", "x"]), _json_values,
                                    max_size=5), max_size=5)


def _load(fmt: str, samples: bytes, baseline: bytes, candidate: bytes, **kw) -> None:
    try:
        data = build_eval_set(spec(fmt, **kw), *files(fmt, samples, baseline, candidate))
    except InputError:
        return
    compare(data)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["jsonl", "csv", "parquet"]))
def test_any_bytes_load_or_give_an_input_error(data, fmt):
    try:
        read_table(data, f"p.{fmt}")
    except InputError:
        pass
    _load(fmt, data, data, data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list('{}[]",:0123456789.eE-+ \nNaInfitylsrua\\')), max_size=200))
def test_json_like_text_loads_or_gives_an_input_error(text):
    _load("jsonl", text.encode(), text.encode(), text.encode())


@FUZZ
@given(st.text(alphabet=st.sampled_from(list('ab,"\n\r 1.5-eNaIf')), max_size=120))
def test_csv_like_text_loads_or_gives_an_input_error(text):
    head = "id,input,output,score\n"
    _load("csv", (head + text).encode(), (head + text).encode(), (head + "a,x,y,1\n" + text).encode())


@FUZZ
@given(_records, _records, _records, st.sampled_from(["error", "as-missing"]),
       st.sampled_from(["text", "label", "number", "json"]))
def test_json_records_load_or_give_an_input_error(samples, baseline, candidate, non_finite, output_type):
    def enc(rows):
        return "".join(json.dumps(r) + "\n" for r in rows).encode()   # allow_nan: NaN/Infinity tokens too
    _load("jsonl", enc(samples), enc(baseline), enc(candidate), non_finite_scores=non_finite, output_type=output_type)


@FUZZ
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(-5, 5), st.floats(), st.text(max_size=3)),
                          st.one_of(st.none(), st.floats(), st.text(max_size=3))), max_size=6))
def test_parquet_tables_load_or_give_an_input_error(rows):
    ids = [r[0] for r in rows]
    try:
        table = pa.table({"id": ids, "input": ["x"] * len(rows), "output": [r[1] for r in rows],
                          "score": [r[1] if isinstance(r[1], float) else None for r in rows]})
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return  # Arrow itself refuses a column of mixed types: nothing to write
    data = parquet(table)
    _load("parquet", data, data, data)


@pytest.mark.parametrize("data", [b"null\n", b'\n{"id": "a"}\nnull\n{"id": "b"}\n'])
def test_jsonl_null_line_is_an_error_not_a_crash(data):
    """pyarrow 26's JSON reader segfaults on a `null` line at a block start (found by the fuzz tests)."""
    with pytest.raises(InputError, match=r"^p.jsonl line (1|3): expected a JSON object .* got null"):
        read_table(data, "p.jsonl")
