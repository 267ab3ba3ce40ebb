"""app/core/search.py: case-insensitive substring search over a comparison's text columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from signoff.core.search import SearchIndex

COLS = ["id", "input", "reference", "baseline_output", "candidate_output"]


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLS)


def hits(f: pd.DataFrame, needle: str, **kw) -> list[int]:
    return np.flatnonzero(SearchIndex.build(f, COLS, **kw).search(needle)).tolist()


def test_finds_rows_in_any_column_ignoring_case():
    f = frame([{"id": "a", "input": "Refund my ORDER", "reference": "", "baseline_output": "x", "candidate_output": "x"},
               {"id": "b", "input": "hello", "reference": "order shipped", "baseline_output": "y", "candidate_output": "z"},
               {"id": "c", "input": "nothing", "reference": "", "baseline_output": "q", "candidate_output": "ORDERS"},
               {"id": "D7", "input": "", "reference": "", "baseline_output": "", "candidate_output": ""}])
    assert hits(f, "order") == [0, 1, 2]
    assert hits(f, "d7") == [3]
    assert hits(f, "") == [0, 1, 2, 3]
    assert hits(f, "absent") == []


def test_a_match_never_spans_two_rows_and_hides_nothing():
    # The columns are searched as one buffer without separators: "ab" + "c" must not match "bc".
    f = frame([{"id": "1", "input": "ab", "reference": "", "baseline_output": "", "candidate_output": ""},
               {"id": "2", "input": "c", "reference": "", "baseline_output": "", "candidate_output": ""}])
    assert hits(f, "bc") == []
    # "a" | "aa": the spanning match at the boundary must not hide the real one in row 2.
    f = frame([{"id": "1", "input": "xa", "reference": "", "baseline_output": "", "candidate_output": ""},
               {"id": "2", "input": "aa", "reference": "", "baseline_output": "", "candidate_output": ""}])
    assert hits(f, "aa") == [1]


def test_unicode_case_folding_and_right_to_left_text():
    f = frame([{"id": "1", "input": "Straße", "reference": "", "baseline_output": "", "candidate_output": ""},
               {"id": "2", "input": "ÉCOLE", "reference": "", "baseline_output": "", "candidate_output": ""},
               {"id": "3", "input": "مرحبا بالعالم", "reference": "", "baseline_output": "", "candidate_output": ""}])
    assert hits(f, "STRASSE") == [0]
    assert hits(f, "école") == [1]
    assert hits(f, "بالعالم") == [2]


def test_candidate_rows_equal_to_the_baseline_are_found_through_it():
    f = frame([{"id": str(i), "input": "", "reference": "", "baseline_output": b, "candidate_output": c}
               for i, (b, c) in enumerate([("same text", "same text"), ("old", "new answer"), (None, "only new"),
                                            ("only old", None)])])
    index = SearchIndex.build(f, COLS)
    assert np.flatnonzero(index.search("same")).tolist() == [0]
    assert np.flatnonzero(index.search("new")).tolist() == [1, 2]
    assert np.flatnonzero(index.search("only")).tolist() == [2, 3]


def test_object_columns_json_outputs_and_missing_values():
    f = pd.DataFrame({"id": ["1", "2", "3"], "input": ["a", None, np.nan],
                      "baseline_output": [{"label": "Cat"}, {"label": "dog"}, None],
                      "candidate_output": [{"label": "cat"}, ["Dog", 1], b"\x89PNG"]})
    index = SearchIndex.build(f, ["id", "input", "baseline_output", "candidate_output"])
    assert np.flatnonzero(index.search('"label": "cat"')).tolist() == [0]
    assert np.flatnonzero(index.search("dog")).tolist() == [1]


def test_many_chunks_and_many_rows():
    n = 50_000
    ids = [f"s{i:06d}" for i in range(n)]
    inputs = ["needle here" if i % 997 == 0 else "hay" for i in range(n)]
    table = pa.table({"id": ids, "input": inputs})
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=4096))
    f = chunked.to_pandas()
    got = np.flatnonzero(SearchIndex.build(f, ["id", "input"]).search("NEEDLE")).tolist()
    assert got == [i for i in range(n) if i % 997 == 0]
    assert np.flatnonzero(SearchIndex.build(f, ["id", "input"]).search("s012345")).tolist() == [12345]


def test_lower_case_ascii_fast_path_agrees_with_case_folding():
    rows = ["refund late", "Refund LATE", "late refund", "xrefund latex", "REFUND", "ab", "c"]
    f = frame([{"id": str(i), "input": t, "reference": "", "baseline_output": "", "candidate_output": ""}
               for i, t in enumerate(rows)])
    lower = frame([{"id": str(i), "input": t.lower(), "reference": "", "baseline_output": "", "candidate_output": ""}
                   for i, t in enumerate(rows)])
    for needle in ("refund late", "REFUND", "bc", "Late", "é"):
        mixed = hits(f, needle)
        plain = hits(lower, needle)
        assert plain == [i for i, t in enumerate(rows) if needle.lower() in t.lower()], needle
        assert mixed == plain, needle
    assert SearchIndex.build(lower, COLS).segments[1].lower_ascii
    assert not SearchIndex.build(f, COLS).segments[1].lower_ascii
