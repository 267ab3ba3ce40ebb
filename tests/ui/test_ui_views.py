"""The diff views, each a renderer plugin (entry-point group signoff.renderers):
hostile outputs shown literally, JSON marks, label bars, image modes and the
heatmap, numbers with errors, the raw view."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTextEdit

from signoff.core.shown import shown_sample
from signoff.plugin_api import Renderer
from signoff.registry import registry
from signoff.ui.output_view import OutputView
from tests.doubles import MARKUP, tiny_png

pytestmark = pytest.mark.gui

RTL = "مرحبا بالعالم"
ZWSP = "a\u200bb"
HOSTILE = f"{MARKUP} {RTL} {ZWSP} \u202eevil\u202c"


def row(**kw):
    base = {"id": "s-1", "class": "changed", "severity": 2, "missing_side": "", "input": "in", "reference": None,
            "baseline_output": None, "candidate_output": None, "baseline_score": float("nan"),
            "candidate_score": float("nan"), "delta": float("nan")}
    base.update(kw)
    return base


def make_view(qtbot, output_type: str) -> OutputView:
    cls = registry().renderer_for(output_type)
    assert cls is not None and issubclass(cls, Renderer) and cls.OUTPUT_TYPE == output_type
    view = cls().create_view()
    assert isinstance(view, OutputView)
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    return view


def assert_plain(view):
    """No label renders rich text, no text edit holds an image or a link."""
    for label in view.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText, label.text()
    for edit in view.findChildren(QTextEdit):
        html = edit.document().toHtml()
        assert "<img src=x" not in html and "<script>" not in html and "<b>x</b>" not in html


HOSTILE_ROWS = {
    "text": row(baseline_output="plain", candidate_output=HOSTILE, reference=HOSTILE),
    "json": row(baseline_output=json.dumps({"a": "plain"}),
                candidate_output=json.dumps({"a": HOSTILE, MARKUP: 1}, ensure_ascii=False)),
    "label": row(baseline_output="refund", candidate_output=HOSTILE, reference="refund",
                 baseline_confidence=0.9, candidate_confidence=0.4),
    "number": row(baseline_output="[1, 2]", candidate_output=json.dumps([1, HOSTILE], ensure_ascii=False),
                  reference="[1, 2]"),
    "image": row(baseline_output=f"base/{MARKUP}.png", candidate_output=f"cand/{RTL}{ZWSP}.png",
                 baseline_output_bytes=tiny_png(8, 6, (10, 20, 30)), candidate_output_bytes=b"<script>"),
}


def test_every_output_type_has_a_renderer_plugin():
    reg = registry().load_all()   # plugins load lazily: all of them, so that a broken one shows
    assert not [p for p in reg.problems if "renderers" in p]
    for otype in ("text", "json", "label", "image", "number"):
        cls = reg.renderer_for(otype)
        assert cls is not None and cls.OUTPUT_TYPE == otype, otype


@pytest.mark.parametrize("output_type", ["text", "json", "label", "number", "image"])
def test_markup_rtl_and_zero_width_are_shown_literally(qtbot, output_type):
    view = make_view(qtbot, output_type)
    view.show_sample(shown_sample(HOSTILE_ROWS[output_type], output_type=output_type))
    text = view.text_content()
    if output_type == "image":
        assert MARKUP in text and RTL in text and "not an image" in text      # the bad bytes are refused
    else:
        assert "<img src=x onerror=alert(1)>" in text and "<script>" in text and RTL in text
        assert "⟨RLO⟩" in text and "\u202e" not in text                       # bidi overrides always visible
        assert "\u200b" in text                                                 # zero-width: kept, not shown yet
    assert_plain(view)
    view.set_show_invisibles(True)
    text = view.text_content()
    if output_type != "image":
        assert "⟨ZWSP⟩" in text and "\u200b" not in text, output_type
    assert_plain(view)


def test_text_view_keeps_right_to_left_direction(qtbot):
    view = make_view(qtbot, "text")
    view.show_sample(shown_sample(row(baseline_output="hello", candidate_output=RTL)))
    block = view.diff.candidate_view.document().begin()
    assert block.textDirection() == Qt.LayoutDirection.RightToLeft
    assert view.diff.baseline_title.text() == "BASELINE" and view.diff.candidate_title.text() == "CANDIDATE"


def test_long_text_outputs_show_and_scroll(qtbot):
    """How long showing and scrolling take: benchmarks/bench_ui_timings.py."""
    view = make_view(qtbot, "text")
    long_a = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(4000))
    long_b = long_a.replace("line 2000:", "line two thousand:")
    view.show_sample(shown_sample(row(baseline_output=long_a, candidate_output=long_b)))
    assert "line two thousand:" in view.diff.candidate_view.toPlainText()
    bar = view.diff.candidate_view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    for step in range(20):
        bar.setValue(bar.maximum() * step // 20)
        view.diff.candidate_view.viewport().repaint()
    assert bar.value() == bar.maximum() * 19 // 20


def test_json_view_marks_added_removed_and_changed_with_words(qtbot):
    view = make_view(qtbot, "json")
    a = {"vendor": "Hoffmann", "total": 3.26466, "currency": "€", "old": 1, "items": [1, 2]}
    b = {"currency": "EUR", "total": 3264.66, "vendor": "Hoffmann", "extra": {"x": True}, "items": [1, 2]}
    view.show_sample(shown_sample(row(baseline_output=json.dumps(a), candidate_output=json.dumps(b))))
    rows = {r[1]: r for r in view.tree_rows()}
    assert rows["currency"][2:] == ('"€"', '"EUR"', "~ changed")
    assert rows["total"][4] == "~ changed"
    assert rows["old"][2:] == ("1", "", "− removed")
    assert rows["extra"][4] == "+ added" and rows["x"][3] == "true" and rows["x"][4] == "+ added"
    assert rows["vendor"][4] == "" and rows["items"][4] == ""           # the same, no mark
    assert "1 removed" in view.summary.text() and "key order ignored" in view.summary.text()
    # marks are more than colour: strike-through on the left, underline on the right
    items = {}
    for i in range(view.tree.topLevelItemCount()):
        it = view.tree.topLevelItem(i)
        items[it.text(0)] = it
    assert items["currency"].font(1).strikeOut() and items["currency"].font(2).underline()
    assert items["old"].font(1).strikeOut() and items["extra"].font(2).underline()
    assert not items["vendor"].font(1).strikeOut()
    assert items["extra"].isExpanded() and not items["items"].isExpanded()
    view.only_changes.setChecked(True)
    assert {r[1] for r in view.tree_rows()} == {"currency", "total", "old", "extra", "x"}
    # V: the pretty-printed text with a word diff
    assert view.cycle_mode() and view.mode == "text"
    base, cand = view.text.plain_texts()
    assert base.startswith('{\n  "currency": "€"') and '"extra": {' in cand
    assert view.cycle_mode() and view.mode == "structure"


def test_json_view_with_text_that_is_not_json(qtbot):
    view = make_view(qtbot, "json")
    view.show_sample(shown_sample(row(baseline_output="not json at all", candidate_output='{"name": "Cy"}')))
    assert "BASELINE is not valid JSON" in view.summary.text()
    rows = view.tree_rows()
    assert rows == [(0, "(whole value)", '"not json at all"', '{"name": "Cy"}', "~ changed · type: text → object")]


def test_label_view_shows_labels_match_and_score_bars(qtbot):
    view = make_view(qtbot, "label")
    r = row(reference="6", baseline_output="6", candidate_output=" 1 ", baseline_score=0.74, candidate_score=0.25,
            baseline_confidence=0.74, candidate_confidence=0.33,
            candidate_scores={"1": 0.33, "6": 0.25, "7": 0.2})
    view.show_sample(shown_sample(r, output_type="label"))
    text = view.text_content()
    assert "REFERENCE" in text and "6" in text
    assert "✓ matches the reference" in text and "✗ differs from the reference" in text
    assert "score 0.74" in text and "confidence 0.33" in text
    assert "1 CANDIDATE 0.33" in text and "6 CANDIDATE 0.25" in text     # per-class bars, top classes
    from signoff.plugins.renderers.label.view import ScoreBar

    bars = view.findChildren(ScoreBar)
    assert {round(b.value, 2) for b in bars} >= {0.74, 0.25, 0.33}


def test_image_view_modes_switch_and_the_heatmap_is_computed(qtbot):
    view = make_view(qtbot, "image")
    r = row(baseline_output="b.png", candidate_output="c.png",
            baseline_output_bytes=tiny_png(16, 12, (0, 0, 0)), candidate_output_bytes=tiny_png(16, 12, (200, 0, 0)),
            reference_bytes=tiny_png(16, 12, (0, 0, 0)), baseline_score=20.0, candidate_score=25.0)
    view.show_sample(shown_sample(r, output_type="image"))
    assert view.has_image("left") and view.has_image("right") and view.has_image("reference")
    assert view.modes() == ("side by side", "swipe", "onion skin", "difference")
    assert view.mode == "side by side" and "BASELINE · score 20.00 · 16 × 12" in view.info.text()
    assert view.stats is None                   # the heatmap waits until it is looked at
    view.set_mode("difference")
    # The heatmap: every pixel differs by 200 in red.
    assert view.stats is not None and view.stats.changed == 16 * 12 and view.stats.max == 200
    assert view.canvas.heat is not None and view.canvas.heat.size().width() == 16
    assert "100.0% of pixels differ" in view.stats_label.text()
    view.set_mode("side by side")
    for expected in ("swipe", "onion skin", "difference", "side by side"):
        assert view.cycle_mode() and view.mode == expected
        assert view.mode_buttons[expected].isChecked()
        view.canvas.grab()          # paints every mode without error
    view.set_mode("swipe")
    assert view.slider.isVisible()
    view.slider.setValue(25)
    assert view.canvas.split == 0.25
    view.set_mode("onion skin")
    view.slider.setValue(80)
    assert view.canvas.opacity == 0.8
    # The difference against the reference: the baseline is identical to it.
    view.set_mode("difference")
    view.heat_pair.setCurrentIndex(1)
    assert view.stats.max == 0 and "identical pixels" in view.stats_label.text()
    # Zoom: fit, then whole steps, then back to fit.
    view.set_zoom(1.0)
    assert view.zoom_label.text() == "1×"
    assert view.zoom(1) and view.canvas.zoom == 2 and view.zoom_label.text() == "2×"
    assert view.zoom(-1) and view.zoom(-1) and view.canvas.zoom == 0.5
    assert view.canvas.sizeHint().width() < 30
    view.zoom_fit()
    assert view.canvas.zoom is None and view.zoom_label.text() == "fit"


def test_image_view_scales_a_different_size_and_refuses_bombs(qtbot):
    from tests.doubles import png_bomb_header

    view = make_view(qtbot, "image")
    r = row(baseline_output_bytes=tiny_png(16, 12, (0, 0, 0)), candidate_output_bytes=tiny_png(32, 24, (0, 0, 0)))
    view.show_sample(shown_sample(r, output_type="image"))
    assert "sizes differ" in view.info.text()
    assert view.difference_stats() is not None and view.stats.max == 0
    r = row(baseline_output_bytes=tiny_png(4, 4, (0, 0, 0)), candidate_output_bytes=png_bomb_header())
    view.show_sample(shown_sample(r, output_type="image"))
    assert view.has_image("left") and not view.has_image("right")
    assert "refused" in view.info.text()
    view.set_mode("difference")
    assert "CANDIDATE has no image" in view.stats_label.text() and view.stats is None
    view.canvas.grab()


def test_number_view_values_errors_and_the_closer_side(qtbot):
    view = make_view(qtbot, "number")
    view.show_sample(shown_sample(row(reference=62.4, baseline_output=61.6, candidate_output="72.5",
                                      baseline_score=-0.8, candidate_score=-10.1), output_type="number"))
    assert view.table_rows() == [["value", "62.4", "61.6", "−0.8", "72.5", "+10.1", "BASELINE closer"]]
    assert view.table.item(0, 1).textAlignment() & Qt.AlignmentFlag.AlignRight
    assert view.table.item(0, 4).font().underline()                     # the values differ
    assert "BASELINE is closer to the reference" in view.summary.text()
    assert "reference: 62.4" in view.headline.text()
    view.show_sample(shown_sample(row(reference='{"p10": 10, "p50": 20}', baseline_output='{"p10": 12, "p50": 20}',
                                      candidate_output='{"p50": 25, "p10": 9}'), output_type="number"))
    rows = view.table_rows()
    assert [r[0] for r in rows] == ["p10", "p50"]
    assert rows[0][3:] == ["+2", "9", "−1", "CANDIDATE closer"]
    assert "2 values" in view.headline.text()


def test_raw_view_shows_exact_values_escaped_with_types(window, open_request, qtbot):
    open_request(window, 1)
    window.select_row(window.model.row_of("s-008"))        # "Call\u200b us\u202e now\u202c"
    qtbot.keyClick(window.table, Qt.Key.Key_R)
    assert window.detail.tabs.currentIndex() == 1
    raw = window.detail.raw_view.toPlainText()
    assert "candidate_output" in raw and "'Call\\u200b us\\u202e now\\u202c'" in raw
    assert "baseline_score" in raw and "float" in raw
    window.select_row(window.model.row_of("s-004"))
    raw = window.detail.raw_view.toPlainText()
    assert "'<b>x</b> <img src=x onerror=alert(1)>" in raw
    qtbot.keyClick(window.table, Qt.Key.Key_R)
    assert window.detail.tabs.currentIndex() == 0


def test_detail_pane_picks_the_view_by_output_type(window, open_request, qtbot):
    from signoff.plugins.renderers.image.view import ImageOutputView
    from signoff.plugins.renderers.jsontree.view import JsonOutputView
    from signoff.plugins.renderers.label.view import LabelOutputView
    from signoff.ui.renderer_sdk import TextOutputView

    for name, cls in (("support-replies", TextOutputView), ("intents", LabelOutputView),
                      ("extraction", JsonOutputView), ("photos", ImageOutputView)):
        if window.request is None:
            open_request(window, 1, eval_set=name)
        else:
            with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000):
                window.eval_set_combo.setCurrentIndex(window.eval_set_combo.findData(name))
        assert isinstance(window.detail.view, cls), name
        assert window.detail.outputs.currentWidget() is window.detail.view
        assert window.detail.view_problem == ""


def test_a_missing_renderer_falls_back_to_text_with_a_note(qtbot):
    from signoff.ui.detail_pane import DetailPane

    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.set_context(1, "odd", "audio")
    assert "no renderer plugin for output type 'audio'" in pane.view_problem
    pane.set_sample(__import__("pandas").Series(row(baseline_output="x", candidate_output="y")), [])
    assert pane.view.text_content().endswith("y")


def test_monospace_input_is_detected_and_can_be_switched(qtbot):
    import pandas as pd

    from signoff.ui.detail_pane import DetailPane

    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.set_context(1, "digits", "label")
    art = "    ::##++\n    ##%%++%%::\n  ..%%..  **==\n  ::**    ====\n  ::==    ++=="
    pane.set_sample(pd.Series(row(input=art, baseline_output="0", candidate_output="0")), [])
    assert pane.monospace.isChecked()
    assert pane.input_view.font().family() != pane.font().family() or pane.input_view.font().fixedPitch()
    pane.set_sample(pd.Series(row(input="Where is my refund?", baseline_output="0", candidate_output="0")), [])
    assert not pane.monospace.isChecked()
    pane.monospace.click()                       # the reviewer's choice holds for the eval set
    pane.set_sample(pd.Series(row(input="Where is my refund?", baseline_output="0", candidate_output="0")), [])
    assert pane.monospace.isChecked()
