"""The window's JSON view with JSON nested far past what a tree can show:
no RecursionError, the tree up to MAX_DEPTH levels, the text with a note past it."""

from __future__ import annotations

import json

import pytest

from signoff.core.jsondiff import MAX_DEPTH, TOO_DEEP
from signoff.core.shown import shown_sample
from tests.ui.test_ui_views import make_view, row

pytestmark = pytest.mark.gui


def nested(depth: int, leaf=1) -> str:
    return "[" * depth + json.dumps(leaf) + "]" * depth


@pytest.mark.parametrize("depth", [500, 100_000])
def test_json_view_shows_deep_json_as_text_with_a_note(qtbot, depth):
    view = make_view(qtbot, "json")
    view.show_sample(shown_sample(row(baseline_output=nested(depth), candidate_output=nested(depth, 2))))
    assert f"BASELINE is JSON {TOO_DEEP}: shown as text" in view.summary.text()
    assert f"CANDIDATE is JSON {TOO_DEEP}" in view.summary.text()
    assert view.tree_rows()[0][4].startswith("~ changed")
    assert view.cycle_mode() and view.mode == "text"
    base, cand = view.text.plain_texts()
    assert base.startswith("[[[[") and (cand.endswith("]]]]") or cand.endswith(f"more characters, {TOO_DEEP})"))


def test_json_view_shows_the_tree_up_to_the_documented_depth(qtbot):
    view = make_view(qtbot, "json")
    view.show_sample(shown_sample(row(baseline_output=nested(MAX_DEPTH), candidate_output=nested(MAX_DEPTH, 2))))
    assert TOO_DEEP not in view.summary.text()
    assert len(view.tree_rows()) == MAX_DEPTH     # one row per level below the root, the last the changed leaf
