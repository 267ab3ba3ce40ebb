"""What a view is given (app/core/shown.py): sides, blind order, extras,
monospace detection, raw fields."""

from __future__ import annotations

import math

from signoff.core.shown import blind_candidate_first, looks_preformatted, raw_fields, shown_sample

ROW = {"id": "s-1", "class": "regressed", "severity": 0, "missing_side": "", "input": "q", "reference": "r",
       "baseline_output": "b", "candidate_output": "c", "baseline_score": 1.0, "candidate_score": 0.0,
       "delta": -1.0, "topic": "x", "baseline_confidence": 0.9, "candidate_confidence": float("nan")}


def test_normal_order_and_extras():
    s = shown_sample(ROW, output_type="label")
    assert (s.left.model, s.left.name, s.right.model, s.right.name) == ("baseline", "BASELINE", "candidate", "CANDIDATE")
    assert s.left.score == 1.0 and s.right.score == 0.0
    assert s.left.extras == {"confidence": 0.9} and s.right.extras == {}
    assert s.change_class == "regressed"


def test_blind_order_is_stable_random_and_hides_the_models():
    firsts = [blind_candidate_first(7, "set", f"s-{i}") for i in range(400)]
    assert 150 < sum(firsts) < 250                                  # about half each way
    assert firsts == [blind_candidate_first(7, "set", f"s-{i}") for i in range(400)]   # stable
    assert [blind_candidate_first(8, "set", f"s-{i}") for i in range(400)] != firsts   # per request
    s = shown_sample(ROW, blind=True, request_id=7, eval_set="set")
    assert {s.left.name, s.right.name} == {"A", "B"} and s.left.name == "A"
    assert {s.left.model, s.right.model} == {"baseline", "candidate"}
    assert s.left.score is None and s.right.score is None
    assert s.change_class == "changed"                            # "regressed" would tell them apart
    cand = s.side_of("candidate")
    assert cand.output == "c" and cand.name == ("A" if blind_candidate_first(7, "set", "s-1") else "B")


def test_raw_fields_are_escaped_and_typed_and_blind_safe():
    row = dict(ROW, candidate_output="a\u200bb\n<b>", candidate_output_bytes=b"\x89PNG" + b"\0" * 100)
    fields = {f.name: f for f in raw_fields(row)}
    assert fields["candidate_output"].text == "'a\\u200bb\\n<b>'" and fields["candidate_output"].type == "str"
    assert fields["candidate_output_bytes"].text.startswith("104 bytes: b'\\x89PNG")
    assert fields["baseline_score"].type == "float" and fields["delta"].text == "-1.0"
    assert math.isnan(float(fields["candidate_confidence"].text))
    s = shown_sample(row, blind=True, request_id=7, eval_set="set")
    blind = {f.name: f for f in raw_fields(row, blind=True, shown=s)}
    assert not any(name.startswith(("baseline", "candidate")) for name in blind)
    assert "delta" not in blind and "baseline_score" not in blind and "A_score" not in blind
    assert blind["class"].text == "'changed'"
    cand = s.side_of("candidate").name
    assert blind[f"{cand}_output"].text == "'a\\u200bb\\n<b>'"
    assert "held back" in blind["(blind mode)"].text


def test_looks_preformatted():
    digit = "    ::##++\n    ##%%++%%::\n  ..%%..  **==\n  ::**    ====\n  ::==    ++=="
    table = "| item | qty |\n|------|-----|\n| a    |  1  |\n| b    |  2  |"
    assert looks_preformatted(digit) and looks_preformatted(table)
    assert not looks_preformatted("Where is my refund?")
    assert not looks_preformatted("Hi Liam,\n\nNo problem, you can return it.\nBest regards,\nSam")
    assert not looks_preformatted(None)
