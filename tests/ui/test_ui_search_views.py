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


def searched(window, open_request, qtbot, eval_set: str, needle: str, sample_id: str):
    """The eval set open, `needle` typed in the search box, its first hit selected and marked: the view."""
    open_request(window, eval_set=eval_set)
    view = window.detail.view
    window.set_search(needle)
    qtbot.waitUntil(lambda: window.current_sample_id() == sample_id)
    qtbot.waitUntil(lambda: view.search_hits != [])
    return view


def test_json_tree_marks_the_matching_cell_and_opens_it(window, open_request, qtbot):
    view = searched(window, open_request, qtbot, "extraction", "Bob", "j-2")
    assert view.mode == "structure"
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


def test_json_hits_inside_a_folded_object_open_their_parents(qtbot):
    """An unchanged object is folded; a hit inside it opens it, and the new needle clears the old marks."""
    from signoff.core.shown import Shown, Side
    from signoff.plugins.renderers.jsontree.view import HIT_ROLE, JsonOutputView

    view = JsonOutputView()
    qtbot.addWidget(view)
    same = '{"address": {"city": "Lyon", "zip": "69001"}, "total": 3}'
    view.show_sample(Shown("x", "", None, Side("baseline", "BASELINE", same),
                           Side("candidate", "CANDIDATE", same.replace("3}", "4}"))))
    address = next(view.tree.topLevelItem(i) for i in range(view.tree.topLevelItemCount())
                   if view.tree.topLevelItem(i).text(0) == "address")
    assert not address.isExpanded()                                  # unchanged: folded
    assert view.show_search("lyon") == 2                               # both sides' "Lyon", case-insensitive
    address = next(view.tree.topLevelItem(i) for i in range(view.tree.topLevelItemCount())
                   if view.tree.topLevelItem(i).text(0) == "address")
    assert address.isExpanded()
    city = next(address.child(i) for i in range(address.childCount()) if address.child(i).text(0) == "city")
    assert city.data(1, HIT_ROLE) and city.data(2, HIT_ROLE)
    assert view.show_search("zzz") == 0 and view.search_hits == []


def test_label_view_marks_the_matching_label(window, open_request, qtbot):
    view = searched(window, open_request, qtbot, "intents", "delivery", "i-3")
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
    view = searched(window, open_request, qtbot, "photos", "cand/p-1", "p-1")
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
