"""The detail pane: outputs as plain text, diff marks, JSON, images, direction."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextFormat

from tests.doubles import MARKUP

pytestmark = pytest.mark.gui


def fragments(view):
    """(text, QTextCharFormat) of every run in a QPlainTextEdit's document."""
    out = []
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.isValid():
                out.append((frag.text(), frag.charFormat()))
            it += 1
        block = block.next()
    return out


def select(window, sample_id):
    row = window.model.row_of(sample_id)
    assert row >= 0, sample_id
    window.select_row(row)


def test_markup_in_outputs_is_shown_literally(window, open_request):
    open_request(window, 1)
    select(window, "s-004")
    base, cand = window.detail.text_diff.plain_texts()
    assert base == "plain answer"
    assert cand == MARKUP
    assert "<img src=x onerror=alert(1)>" in cand and "<script>" in cand and "&amp;" in cand
    doc = window.detail.text_diff.candidate_view.document()
    assert "<b>" not in doc.toHtml().replace("&lt;b&gt;", "")   # escaped in Qt's own HTML export
    for text, fmt in fragments(window.detail.text_diff.candidate_view):
        assert not fmt.isImageFormat(), text
        assert fmt.objectType() == QTextFormat.ObjectTypes.NoObject
        assert fmt.fontWeight() <= 400 or fmt.fontWeight() == 0, text   # no <b> turned bold
        assert not fmt.isAnchor()
    # Labels with model text are plain text too.
    assert window.detail.title.textFormat() == Qt.TextFormat.PlainText
    assert window.detail.input_view.toPlainText() == "Render this"


def test_markup_in_ids_and_titles_stays_text(window, open_request, service):
    open_request(window, 1)
    for label in (window.title_label, window.verdict_label, window.detail.title, window.detail.my_label,
                  window.status_label, window.count_label):
        assert label.textFormat() == Qt.TextFormat.PlainText


def test_word_differences_are_marked_with_tint_and_line(window, open_request):
    open_request(window, 1)
    select(window, "s-001")
    base = fragments(window.detail.text_diff.baseline_view)
    cand = fragments(window.detail.text_diff.candidate_view)
    removed = [t for t, f in base if f.fontStrikeOut()]
    added = [t for t, f in cand if f.fontUnderline()]
    assert removed == ["5 days"]
    assert added == ["a while"]
    assert all(f.background().style() != Qt.BrushStyle.NoBrush for t, f in base if t in removed)
    assert all(f.background().style() != Qt.BrushStyle.NoBrush for t, f in cand if t in added)
    unchanged = [f for t, f in cand if t.startswith("Refunds")]
    assert unchanged and not unchanged[0].fontUnderline()


def test_right_to_left_text_keeps_its_direction(window, open_request):
    open_request(window, 1)
    select(window, "s-005")
    block = window.detail.text_diff.candidate_view.document().begin()
    assert block.textDirection() == Qt.LayoutDirection.RightToLeft
    block = window.detail.input_view.document().begin()
    assert block.textDirection() == Qt.LayoutDirection.RightToLeft
    # ... and aligns right: the line starts well to the right of the left edge.
    line = block.layout().lineAt(0)
    assert line.naturalTextRect().x() > 40
    select(window, "s-001")
    block = window.detail.text_diff.candidate_view.document().begin()
    assert block.textDirection() == Qt.LayoutDirection.LeftToRight


def test_hidden_characters_are_flagged_and_can_be_shown(window, open_request, qtbot):
    open_request(window, 1)
    select(window, "s-008")
    base, cand = window.detail.text_diff.plain_texts()
    assert "⟨RLO⟩" in cand and "\u202e" not in cand         # bidi overrides always visible
    assert "\u200b" in cand                                    # zero-width space: only on request
    assert "hidden characters" in window.detail.hidden_warning.text()
    window.detail.show_invisibles.setChecked(True)
    base, cand = window.detail.text_diff.plain_texts()
    assert "⟨ZWSP⟩" in cand and "·" in base
    select(window, "s-001")
    assert window.detail.hidden_warning.text() == ""


def test_long_outputs_render_quickly_and_scroll_together(window, open_request, qtbot):
    import time

    open_request(window, 1)
    t = time.perf_counter()
    select(window, "s-007")
    assert time.perf_counter() - t < 1.5
    view_b, view_c = window.detail.text_diff.baseline_view, window.detail.text_diff.candidate_view
    assert view_c.document().blockCount() > 200
    changed = [t for t, f in fragments(view_c) if f.fontUnderline()]
    assert changed == ["ten", "1201"]
    qtbot.waitUntil(lambda: view_b.verticalScrollBar().maximum() > 0)
    view_b.verticalScrollBar().setValue(view_b.verticalScrollBar().maximum())
    assert view_c.verticalScrollBar().value() == view_c.verticalScrollBar().maximum()


def test_json_outputs_as_a_structure_and_as_pretty_text(window, open_request):
    open_request(window, 1, eval_set="extraction")
    view = window.detail.view
    select(window, "j-2")
    rows = {r[1]: r[2:] for r in view.tree_rows()}
    assert rows["name"] == ('"Bo"', '"Bob"', "~ changed")
    assert rows["extra"] == ("", "[…]", "+ added")
    assert rows["total"] == ("3", "3", "")
    window.cycle_view_mode()                      # V: the pretty-printed text, keys sorted
    base, cand = view.text.plain_texts()
    assert base == '{\n  "name": "Bo",\n  "total": 3\n}'
    assert cand.splitlines()[1] == '  "extra": [' and '"name": "Bob"' in cand
    added = [t for t, f in fragments(view.text.candidate_view) if f.fontUnderline()]
    assert any("extra" in t for t in added)
    select(window, "j-3")
    assert "not valid JSON" in view.text.baseline_title.text()
    assert view.text.plain_texts()[0] == "not json at all"
    window.cycle_view_mode()
    assert "BASELINE is not valid JSON" in view.summary.text()


def test_images_side_by_side_and_bad_images_refused(window, open_request):
    open_request(window, 1, eval_set="photos")
    detail = window.detail
    view = detail.view
    assert detail.outputs.currentWidget() is view and view.mode == "side by side"
    window.filter_combo.setCurrentText("all samples")
    select(window, "p-1")
    assert view.has_image("left") and view.has_image("right")
    assert "CANDIDATE · 64 × 48" in view.info.text()
    select(window, "p-3")   # candidate claims 60000 × 60000: refused before decoding
    assert view.has_image("left") and not view.has_image("right")
    assert "refused" in view.info.text()
    select(window, "p-4")   # not an image at all
    assert not view.has_image("left")
    assert "BASELINE: not an image" in view.info.text()


def test_decode_image_limits():
    from signoff.ui.image_view import decode_image
    from tests.doubles import png_bomb_header, tiny_png

    img, why = decode_image(tiny_png(3, 2, (1, 2, 3)))
    assert img is not None and (img.width(), img.height()) == (3, 2) and why == ""
    img, why = decode_image(png_bomb_header())
    assert img is None and "over the" in why
    assert decode_image(None)[0] is None
    assert decode_image(b"")[0] is None
    assert decode_image(float("nan"))[0] is None


def test_tooltips_with_data_are_escaped(window, open_request):
    from signoff.ui.diff_view import plain_tooltip

    tip = plain_tooltip('<img src=x onerror=alert(1)> & <b>bold</b>')
    assert "<img" not in tip and "&lt;img src=x onerror=alert(1)&gt;" in tip and "&lt;b&gt;" in tip
    open_request(window, 1)
    cell = window.model.data(window.model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
    assert cell.startswith("<qt>") and "s-001" in cell
    item_tip = window.inbox.list.topLevelItem(0).toolTip(0)
    assert item_tip.startswith("<qt>") and "Shorter support replies" in item_tip
