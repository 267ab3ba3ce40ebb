"""Reading tables (JSONL / CSV / Parquet) and building eval sets from them."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from signoff.core.config import EvalSetSpec
from signoff.core.errors import InputError, NotFoundError
from signoff.plugins.common import TableFile, build_eval_set, clean_relpath, read_table
from signoff.plugins.common.tables import to_frame  # eval sets read by pyarrow stay Arrow (issue 16)


# -- tables ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_each_format_reads_the_same_rows(kit, fmt):
    rows = [{"id": "a", "output": "x", "score": 0.5}, {"id": "b", "output": "y", "score": 1.0}]
    frame = read_table(kit.table_bytes(rows, fmt), f"p.{fmt}")
    assert frame.to_dict("records") == rows


def test_jsonl_skips_blank_lines_and_crlf_and_bom():
    data = b'\xef\xbb\xbf{"id": "a", "output": "x"}\r\n\n   \n{"id": "b", "output": "y"}\r\n'
    frame = read_table(data, "p.jsonl")
    assert list(frame["id"]) == ["a", "b"] and list(frame["output"]) == ["x", "y"]


def test_jsonl_bad_line_names_file_and_line():
    data = b'{"id": "a"}\n\n{"id": "b"}\n{"id": "c", oops}\n'
    with pytest.raises(InputError, match=r"^predictions/x.jsonl line 4: not valid JSON: "):
        read_table(data, "predictions/x.jsonl")
    with pytest.raises(InputError, match=r"^predictions/x.jsonl \(baseline abc1234\) line 4: "):
        read_table(data, "predictions/x.jsonl", where="(baseline abc1234)")


@pytest.mark.parametrize("line, kind", [(b"[1, 2]", "list"), (b'"text"', "str"), (b"null", "null"), (b"3", "int")])
def test_jsonl_line_that_is_not_an_object(line, kind):
    with pytest.raises(InputError, match=f"x.jsonl line 2: expected a JSON object .* got {kind}"):
        read_table(b'{"id": "a"}\n' + line + b"\n", "x.jsonl")


def test_jsonl_two_values_on_one_line_is_an_error():
    with pytest.raises(InputError, match="x.jsonl line 1: not valid JSON: Extra data"):
        read_table(b'{"a": 1}, {"b": 2}\n{"x": [1\n2]}\n', "x.jsonl")


def test_jsonl_not_utf8():
    with pytest.raises(InputError, match="x.jsonl line 2: not UTF-8"):
        read_table(b'{"id": "a"}\n{"id": "\xff"}\n', "x.jsonl")


def test_jsonl_nested_values_stay_exactly_as_written():
    # Arrow would give every object the keys of all others; we must not.
    data = b'{"id": 1, "output": {"a": 1}}\n{"id": 2, "output": {"b": [1, 2]}}\n'
    frame = read_table(data, "x.jsonl")
    assert list(frame["output"]) == [{"a": 1}, {"b": [1, 2]}]


def test_jsonl_types_that_change_between_rows():
    frame = read_table(b'{"id": 1, "output": "x"}\n{"id": "b", "output": 3}\n', "x.jsonl")
    assert list(frame["id"]) == [1, "b"] and list(frame["output"]) == ["x", 3]


def test_jsonl_ints_with_gaps_stay_ints():
    frame = read_table(b'{"id": 1, "output": 1}\n{"id": 2, "output": null}\n', "x.jsonl")
    assert str(frame["output"].dtype) == "Int64"
    assert frame["output"].astype("string").tolist()[0] == "1"


def test_empty_jsonl_is_an_empty_frame():
    assert read_table(b"\n\n", "x.jsonl").empty


def test_csv_keeps_text_and_na_strings():
    data = b"id,output,score\n007,NA,1\n008,null,\n"
    frame = read_table(data, "p.csv", text_columns=["id", "output"])
    assert list(frame["id"]) == ["007", "008"]
    assert list(frame["output"]) == ["NA", "null"]  # model outputs, not missing values
    assert frame["score"].iloc[0] == 1 and pd.isna(frame["score"].iloc[1])


def test_bad_csv_and_parquet_and_unknown_format():
    with pytest.raises(InputError, match="p.csv line 2: not a valid CSV file: a quoted field is not closed"):
        read_table(b'id,output\n"a,1\n', "p.csv")
    with pytest.raises(InputError, match="p.parquet: not a valid Parquet file"):
        read_table(b"not parquet at all", "p.parquet")
    with pytest.raises(InputError, match=r"p.xlsx: unknown table format; use one of .jsonl, .csv, .parquet"):
        read_table(b"", "p.xlsx")


def test_100k_row_jsonl_reads_quickly():
    n = 100_000
    data = "".join(json.dumps({"id": f"s-{i}", "output": f"o{i % 5}", "score": i % 2}) + "\n" for i in range(n)).encode()
    start = time.perf_counter()
    frame = read_table(data, "p.jsonl")
    print(f"\nread {n} JSONL rows in {time.perf_counter() - start:.2f}s")
    assert len(frame) == n


def test_clean_relpath():
    assert clean_relpath("./evals//a.jsonl") == "evals/a.jsonl"
    assert clean_relpath("evals\\a.jsonl") == "evals/a.jsonl"
    for bad in ("/etc/passwd", "../x", "a/../../x", "", "C:/x"):
        with pytest.raises(InputError):
            clean_relpath(bad)


# -- eval sets ---------------------------------------------------------------------------

SPEC = EvalSetSpec(name="t", samples="s.jsonl", predictions="p.jsonl")


@pytest.fixture
def files(kit):
    """The three TableFiles of an eval set, from rows."""
    def make(samples, baseline, candidate, fmt="jsonl"):
        return (TableFile(f"s.{fmt}", kit.table_bytes(samples, fmt)),
                TableFile(f"p.{fmt}", kit.table_bytes(baseline, fmt), "(baseline)"),
                TableFile(f"p.{fmt}", kit.table_bytes(candidate, fmt), "(candidate)"))
    return make


S = [{"id": 1, "input": "i1", "reference": "r1", "lang": "en"}, {"id": 2, "input": "i2", "reference": "r2", "lang": "de"}]
P = [{"id": 1, "output": "r1", "score": 1}, {"id": 2, "output": "x", "score": "0.5"}]


def test_canonical_columns_and_string_ids(files):
    data = build_eval_set(SPEC, *files(S, P, P))
    assert list(to_frame(data.samples).columns) == ["id", "input", "reference", "lang"]
    assert list(to_frame(data.baseline).columns) == ["id", "output", "score"]
    assert list(to_frame(data.samples)["id"]) == ["1", "2"] and list(to_frame(data.candidate)["id"]) == ["1", "2"]
    assert to_frame(data.baseline)["score"].dtype == float and list(to_frame(data.baseline)["score"]) == [1.0, 0.5]


def test_configured_column_names(files):
    spec = EvalSetSpec(name="t", samples="s.csv", predictions="p.csv", id_column="uid", input_column="q",
                       reference_column="gold", output_column="pred", score_column="acc", slices=("lang",))
    s = [{"uid": "007", "q": "i", "gold": "g", "lang": "en", "noise": 1}]
    p = [{"uid": "007", "pred": "g", "acc": 1}]
    data = build_eval_set(spec, *files(s, p, p, "csv"))
    assert to_frame(data.samples).to_dict("records") == [{"id": "007", "input": "i", "reference": "g", "lang": "en"}]
    assert to_frame(data.candidate).to_dict("records") == [{"id": "007", "output": "g", "score": 1.0}]


def test_missing_reference_and_score_columns(files):
    s = [{"id": "a", "input": "i"}]
    p = [{"id": "a", "output": "o"}]
    data = build_eval_set(SPEC, *files(s, p, p))
    assert to_frame(data.samples)["reference"].isna().all()
    assert np.isnan(to_frame(data.baseline)["score"]).all()


def test_missing_id_or_output_column_names_file_and_columns(files):
    with pytest.raises(InputError, match=r"p.jsonl \(candidate\) has no output column 'output' \(its columns: id, text\)"):
        build_eval_set(SPEC, *files(S, P, [{"id": 1, "text": "x"}]))
    with pytest.raises(InputError, match=r"s.jsonl has no id column 'id' \(its columns: key, input\)"):
        build_eval_set(SPEC, *files([{"key": 1, "input": "x"}], P, P))


def test_non_numeric_score_names_file_and_row(files):
    bad = P + [{"id": 3, "output": "o", "score": "high"}]
    with pytest.raises(InputError, match=r"p.jsonl \(baseline\) line 3 \(id 3\): 'score' must be a number, got 'high'"):
        build_eval_set(SPEC, *files(S, bad, P))


def test_duplicate_ids_in_samples(files):
    with pytest.raises(InputError, match=r"^s.jsonl: 1 id appear more than once, e.g. 1$"):
        build_eval_set(SPEC, *files(S + [S[0]], P, P))


def test_row_without_id(files):
    with pytest.raises(InputError, match=r"p.jsonl \(candidate\) line 2: no 'id'"):
        build_eval_set(SPEC, *files(S, P, [P[0], {"output": "x"}]))


def test_slices_named_in_the_spec_must_exist(files):
    spec = EvalSetSpec(name="t", samples="s.jsonl", predictions="p.jsonl", slices=("lang", "domain"))
    with pytest.raises(InputError, match="s.jsonl has no slice column 'domain'"):
        build_eval_set(spec, *files(S, P, P))


def test_free_sample_column_named_like_a_comparison_column_is_kept_renamed(files):
    s = [dict(r, **{"class": "cat"}) for r in S]
    data = build_eval_set(SPEC, *files(s, P, P))
    assert list(to_frame(data.samples).columns) == ["id", "input", "reference", "lang", "sample_class"]


def test_id_warnings(files):
    s = [{"id": f"s-{i}", "input": "i"} for i in range(20)]
    b = [{"id": f"s-{i}", "output": "o"} for i in range(18)]
    c = [{"id": f"s-{i}", "output": "o"} for i in range(5)] + [{"id": "new", "output": "o"}]
    data = build_eval_set(SPEC, *files(s, b, c))
    assert data.warnings == [
        "13 sample ids are only in the baseline predictions, e.g. s-10, s-11, s-12, s-13, s-14, ...",
        "1 sample ids are only in the candidate predictions, e.g. new",
        "1 prediction ids are not in the eval set's samples, e.g. new",
        "2 samples have no prediction from either model, e.g. s-18, s-19",
    ]


def test_content_hash_follows_every_file(files):
    one = build_eval_set(SPEC, *files(S, P, P)).content_hash
    assert build_eval_set(SPEC, *files(S, P, P)).content_hash == one
    changed = [P[0], {"id": 2, "output": "y"}]
    assert build_eval_set(SPEC, *files(S, P, changed)).content_hash != one
    assert build_eval_set(SPEC, *files(S, changed, P)).content_hash != one
    # Swapping the two sides is a different comparison.
    a = build_eval_set(SPEC, *files(S, P, changed)).content_hash
    b = build_eval_set(SPEC, *files(S, changed, P)).content_hash
    assert a != b


def test_image_set_reads_each_image_once_per_side(files):
    spec = EvalSetSpec(name="img", samples="s.jsonl", predictions="p.jsonl", output_type="image")
    s = [{"id": "a", "input": "in.png", "reference": None}, {"id": "b", "input": "./in.png", "reference": "r.png"}]
    p = [{"id": "a", "output": "o.png"}, {"id": "b", "output": None}]
    calls = []

    def read_bytes(side, path):
        calls.append((side, path))
        return f"{side}:{path}".encode()

    data = build_eval_set(spec, *files(s, p, p), read_bytes=read_bytes)
    assert sorted(calls) == [("baseline", "o.png"), ("candidate", "o.png"), ("samples", "in.png"), ("samples", "r.png")]
    assert list(data.samples["input_bytes"]) == [b"samples:in.png", b"samples:in.png"]
    assert list(data.samples["reference_bytes"]) == [None, b"samples:r.png"]
    assert list(data.baseline["output_bytes"]) == [b"baseline:o.png", None]

    def missing(side, path):
        raise NotFoundError(f"{path} does not exist at abc1234 ({side})")

    with pytest.raises(NotFoundError, match=r"in.png does not exist at abc1234 \(samples\)"):
        build_eval_set(spec, *files(s, p, p), read_bytes=missing)
