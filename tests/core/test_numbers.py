"""Numbers and small tables (app/core/numbers.py)."""

from __future__ import annotations

import math

from signoff.core.numbers import error_summary, format_number, number_rows, read_cells


def test_one_number_in_any_spelling():
    for v in (3.5, "3.5", " 3.5 ", "3.50", "\u22123.5"):
        cells = read_cells(v)
        assert cells.scalar and abs(abs(cells.values["value"]) - 3.5) < 1e-12, v
    assert read_cells("1,234.5").values["value"] == 1234.5
    assert read_cells("1,5").values["value"] == "1,5"          # not a thousands group: kept as text
    assert read_cells(None).values == {} and read_cells(float("nan")).values == {}
    assert not read_cells("n/a").ok


def test_small_tables_get_keys():
    assert read_cells("[1, 2, 3]").values == {"[0]": 1.0, "[1]": 2.0, "[2]": 3.0}
    assert read_cells({"p50": 1, "p90": "2"}).values == {"p50": 1.0, "p90": 2.0}
    assert read_cells([[1, 2], [3, 4]]).values == {"[0][0]": 1.0, "[0][1]": 2.0, "[1][0]": 3.0, "[1][1]": 4.0}
    assert read_cells('[{"x": 1, "name": "a"}]').values == {"[0].x": 1.0, "[0].name": "a"}


def test_rows_errors_and_which_side_is_closer():
    rows, _ = number_rows('{"p10": 10, "p50": 20}', '{"p10": 12, "p50": 20}', '{"p50": 25, "p10": 9, "p99": 40}')
    by_key = {r.key: r for r in rows}
    assert [r.key for r in rows] == ["p10", "p50", "p99"]
    assert by_key["p10"].a_error == 2 and by_key["p10"].b_error == -1 and by_key["p10"].closer() == "b"
    assert by_key["p50"].closer() == "a" and not math.isnan(by_key["p50"].b_error)
    assert by_key["p99"].reference is None and by_key["p99"].b_error is None and by_key["p99"].differs
    s = error_summary(rows)
    assert s["a_mae"] == 1.0 and s["b_mae"] == 3.0 and s["differing"] == 3


def test_format_number():
    assert format_number(-0.8, sign=True) == "−0.8"
    assert format_number(10.1, sign=True) == "+10.1"
    assert format_number(1234567.0) == "1,234,567"
    assert format_number(0.000012345) == "1.234e−05"
    assert format_number("text") == "text" and format_number(None) == ""
