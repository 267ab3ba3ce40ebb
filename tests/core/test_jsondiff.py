"""The structural JSON diff (app/core/jsondiff.py): key order ignored, arrays
aligned, types told apart, rows with words for every change."""

from __future__ import annotations

from signoff.core.jsondiff import MISSING, diff_json, leaf_text, parse_json, rows


def by_path(diff, **kw):
    return {r.path: r for r in rows(diff, **kw)}


def test_key_order_and_spacing_are_not_differences():
    a = parse_json('{"b": 1, "a": {"y": [1, 2], "x": "t"}}').value
    b = parse_json('{"a":{"x":"t","y":[1,2]},"b":1}').value
    d = diff_json(a, b)
    assert d.status == "same"
    assert d.counts() == {"added": 0, "removed": 0, "changed": 0}


def test_added_removed_and_changed_keys():
    a = {"name": "Bo", "total": 3, "old": True}
    b = {"name": "Bob", "total": 3, "extra": [1, 2]}
    d = diff_json(a, b)
    assert d.status == "modified"
    r = by_path(d)
    assert r["name"].status == "changed" and r["name"].a_text == '"Bo"' and r["name"].b_text == '"Bob"'
    assert r["total"].status == "same"
    assert r["old"].status == "removed" and r["old"].b_text == ""
    assert r["extra"].status == "added" and r["extra"].has_children
    assert r["extra[0]"].status == "added" and r["extra[1]"].b_text == "2"
    assert d.counts() == {"added": 3, "removed": 1, "changed": 1}   # extra, extra[0], extra[1]


def test_types_are_told_apart_with_a_note():
    d = diff_json({"n": 3, "flag": True, "x": None}, {"n": "3", "flag": 1, "x": 0})
    r = by_path(d)
    assert r["n"].status == "changed" and r["n"].note == "type: number → text"
    assert r["flag"].status == "changed" and r["flag"].note == "type: boolean → number"
    assert r["x"].note == "type: null → number"
    # 1 and 1.0 count as different, as they do for the comparison's "unchanged"
    assert diff_json(1, 1.0).status == "changed"


def test_arrays_are_aligned_on_their_elements():
    a = [{"id": 1}, {"id": 2}, {"id": 3}]
    b = [{"id": 0}, {"id": 1}, {"id": 2}, {"id": 3, "x": 1}]
    d = diff_json(a, b)
    statuses = [(c.a_index, c.b_index, c.status) for c in d.children]
    # one insertion at the front, then the same elements; the last one changed inside
    assert statuses[0] == (None, 0, "added")
    assert statuses[1][2] == "same" and statuses[2][2] == "same"
    assert statuses[3] == (2, 3, "modified")
    r = by_path(d)
    assert "[2→3].x" in r and r["[2→3].x"].status == "added"


def test_only_changes_keeps_the_path_of_each_change():
    d = diff_json({"a": {"b": 1, "c": 2}, "z": 0}, {"a": {"b": 1, "c": 3}, "z": 0})
    paths = [r.path for r in rows(d, only_changes=True)]
    assert paths == ["", "a", "a.c"]


def test_not_json_and_missing():
    p = parse_json("not json at all")
    assert not p.ok and p.value == "not json at all" and "not valid JSON" in p.error
    assert parse_json(None).value is MISSING and parse_json(float("nan")).value is MISSING
    assert parse_json({"a": 1}).value == {"a": 1}
    d = diff_json(MISSING, {"a": 1})
    assert d.status == "added" and d.children[0].status == "added"
    d = diff_json("not json at all", {"name": "Cy"})
    assert d.status == "changed" and not d.children


def test_markup_and_invisible_characters_stay_text():
    a = {"html": "<b>x</b>", "s": "<script>alert(1)</script>"}
    b = {"html": "<img src=x onerror=alert(1)>", "s": "<script>alert(1)</script>", "z": "a\u200bb"}
    r = by_path(diff_json(a, b))
    assert r["html"].a_text == '"<b>x</b>"' and r["html"].b_text == '"<img src=x onerror=alert(1)>"'
    assert r["z"].b_text == '"a\u200bb"'          # kept; the view makes it visible on request
    assert leaf_text("x" * 3000, limit=10).endswith("(2,992 more characters)")
