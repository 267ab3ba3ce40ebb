"""Search hits highlighted in the JSON, label and image views (issue 15), as a user sees them: the
matched tree cell, label or image caption painted amber under near-black text (the text views'
marks are tests/ui/test_ui_fit.py). Real window over the fake service (tests/doubles.py)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage

from signoff.ui.output_view import HIT_BACKGROUND, HIT_FOREGROUND


def amber_pixels(widget) -> int:
    """How many pixels of the widget as drawn are the hit colour."""
    image: QImage = widget.grab().toImage()
    want = QColor(HIT_BACKGROUND).rgb()
    step = 2
    return sum(1 for y in range(0, image.height(), step) for x in range(0, image.width(), step)
               if image.pixel(x, y) == want)


def test_json_tree_marks_the_matching_cell_and_opens_it(window, open_request, qtbot):
    open_request(window, eval_set="extraction")
    view = window.detail.view
    assert view.mode == "structure"
    window.set_search("Bob")
    qtbot.waitUntil(lambda: window.current_sample_id() == "j-2")
    qtbot.waitUntil(lambda: view.search_hits != [])
    from signoff.plugins.renderers.jsontree.view import HIT_ROLE, LEFT, RIGHT

    assert [col for _path, col in view.search_hits] == [RIGHT]        # "Bob" is the candidate's, not "Bo"
    item = next(view.tree.topLevelItem(i) for i in range(view.tree.topLevelItemCount())
                if view.tree.topLevelItem(i).data(RIGHT, HIT_ROLE))
    assert item.text(RIGHT) == '"Bob"'
    assert item.background(RIGHT).color().name().upper() == HIT_BACKGROUND
    assert item.foreground(RIGHT).color().name() == HIT_FOREGROUND
    assert not item.data(LEFT, HIT_ROLE)
    assert amber_pixels(view.tree.viewport()) > 0                    # painted so
    window.set_search("")
    qtbot.waitUntil(lambda: view.search_hits == [])
    assert not any(view.tree.topLevelItem(i).data(RIGHT, HIT_ROLE) for i in range(view.tree.topLevelItemCount()))


def test_json_hits_inside_a_folded_object_open_their_parents(window, open_request, qtbot):
    open_request(window, eval_set="extraction")
    view = window.detail.view
    window.set_search("extra")
    qtbot.waitUntil(lambda: window.current_sample_id() == "j-2")
    qtbot.waitUntil(lambda: view.search_hits != [])
    assert any(path.endswith("extra") or path == "extra" for path, _col in view.search_hits)


def test_label_view_marks_the_matching_label(window, open_request, qtbot):
    open_request(window, eval_set="intents")
    view = window.detail.view
    window.set_search("delivery")
    qtbot.waitUntil(lambda: window.current_sample_id() == "i-3")
    qtbot.waitUntil(lambda: view.search_hits != [])
    right = view.sides[1]
    assert view.search_hits == [right["name"].text()]                # the candidate's label, not the reference
    assert right["big"].text() == "delivery" and right["big"].property("searchHit")
    assert HIT_BACKGROUND in right["big"].styleSheet()
    assert not view.ref_label.property("searchHit") and view.ref_label.styleSheet() == ""
    assert amber_pixels(right["big"]) > 0
    window.set_search("")
    qtbot.waitUntil(lambda: view.search_hits == [])
    assert right["big"].styleSheet() == ""


def test_image_view_marks_the_matching_caption(window, open_request, qtbot):
    open_request(window, eval_set="photos")
    view = window.detail.view
    window.set_search("cand/p-1")
    qtbot.waitUntil(lambda: window.current_sample_id() == "p-1")
    qtbot.waitUntil(lambda: view.search_hits != [])
    name = view.shown.sides[1].name
    assert view.search_hits == [name] and view.canvas.hits == {name}
    assert view.hit_note.isVisible()
    assert view.hit_note.text() == f"search “cand/p-1” matched the caption of {name}: cand/p-1.png"
    assert view.mode == "side by side"
    qtbot.waitUntil(lambda: amber_pixels(view.canvas) > 0)          # the panel's caption drawn amber
    window.set_search("")
    qtbot.waitUntil(lambda: view.search_hits == [])
    assert not view.hit_note.isVisible() and amber_pixels(view.canvas) == 0


def test_markup_in_a_label_stays_plain_text_when_marked(window, open_request, qtbot):
    """The label and the note are plain-text labels: a needle with markup marks, never renders."""
    from PySide6.QtCore import Qt

    open_request(window, eval_set="intents")
    view = window.detail.view
    for label in [view.ref_label, *(s["big"] for s in view.sides)]:
        assert label.textFormat() == Qt.TextFormat.PlainText
    window.set_search("<b>")
    qtbot.wait(50)
    assert view.search_hits == []
