"""A window that fits (issue 15 item 5): 1024×700 and a 960×540 screen (200 % of 1920×1080),
text contrast measured from the palettes and stylesheets in both themes, visible dark check
boxes, the input pane resized by mouse and keyboard and remembered, search hits highlighted."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QRadioButton, QWidget

from signoff.ui import theme
from signoff.ui.fit import HIT_BACKGROUND, HIT_FOREGROUND, INBOX_FOLD_WIDTH, mark_hits
from signoff.ui.palette import contrast

AA = 4.5
R = QPalette.ColorRole
TEXT_PAIRS = ((R.Text, R.Base), (R.Text, R.AlternateBase), (R.WindowText, R.Window), (R.ButtonText, R.Button),
              (R.PlaceholderText, R.Base), (R.PlaceholderText, R.Window), (R.HighlightedText, R.Highlight),
              (R.ToolTipText, R.ToolTipBase), (R.Link, R.Base), (R.Link, R.Window))
BACKGROUNDS = (R.Window, R.Base, R.AlternateBase)


@pytest.fixture
def themed(qapp):
    """apply_theme(name) for the test; the original look back afterwards."""
    def apply(name):
        theme.apply_theme(name, qapp)
        return qapp.palette()

    yield apply
    theme.apply_theme("system", qapp)


def _hex(palette: QPalette, role) -> str:
    return palette.color(QPalette.ColorGroup.Active, role).name()


@pytest.mark.parametrize("name", ["light", "dark"])
def test_every_text_colour_reaches_aa_contrast(themed, name):
    palette = themed(name)
    low = [(fg.name, bg.name, round(contrast(_hex(palette, fg), _hex(palette, bg)), 2))
           for fg, bg in TEXT_PAIRS if contrast(_hex(palette, fg), _hex(palette, bg)) < AA]
    assert low == [], f"{name}: palette text below {AA}:1"
    sheet = theme.stylesheet(name == "dark")
    tones = dict(re.findall(r'\[tone="(\w+)"\]\s*\{\s*color:\s*(#[0-9A-Fa-f]{6})', sheet))
    assert set(tones) == {"muted", "error", "warn", "ok"}
    low = [(tone, bg.name, round(contrast(colour, _hex(palette, bg)), 2)) for tone, colour in tones.items()
           for bg in BACKGROUNDS if contrast(colour, _hex(palette, bg)) < AA]
    assert low == [], f"{name}: tone below {AA}:1"
    assert contrast(HIT_FOREGROUND, HIT_BACKGROUND) >= AA          # a search hit, in either theme


def _widgets_with_colour(root: QWidget) -> list[str]:
    return [f"{type(w).__name__} {w.objectName()}: {w.styleSheet()}" for w in [root, *root.findChildren(QWidget)]
            if re.search(r"(^|[^-])color\s*:", w.styleSheet())]


@pytest.mark.parametrize("name", ["light", "dark"])
def test_the_window_as_drawn_keeps_aa_contrast(themed, window, open_request, qtbot, name):
    """Measured on the widgets: every toned label's drawn colour, the key-hint line included,
    against the window; no widget sets a text colour of its own (it would ignore the theme)."""
    palette = themed(name)
    open_request(window)
    window.set_search("refund")
    window.open_approval_dialog()
    dialog = window.approval_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert _widgets_with_colour(window) == [] and _widgets_with_colour(dialog) == []
    toned = [w for root in (window, dialog) for w in root.findChildren(QLabel) if w.property("tone")]
    assert window.detail.hints in toned and window.fit.hits_label in toned
    assert any(w.property("tone") in ("ok", "error") for w in dialog.findChildren(QLabel))
    bg = _hex(palette, R.Window)
    for label in toned:
        label.ensurePolished()
        fg = label.palette().color(label.foregroundRole()).name()
        assert contrast(fg, bg) >= AA, (label.text()[:40], fg, bg)
    hints = window.detail.hints
    assert contrast(hints.palette().color(hints.foregroundRole()).name(), bg) >= AA
    dialog.reject()


def _indicator_contrast(widget: QWidget, background: str) -> float:
    """The highest contrast between a pixel of the indicator (left part) and the background."""
    widget.resize(widget.sizeHint())
    image = widget.grab().toImage()
    side = min(image.height(), 24)
    best = 1.0
    for x in range(side):
        for y in range(image.height()):
            best = max(best, contrast(QColor(image.pixel(x, y)).name(), background))
    return best


@pytest.mark.parametrize("cls", [QCheckBox, QRadioButton])
def test_dark_theme_check_boxes_and_radio_buttons_are_visible(themed, qtbot, cls):
    palette = themed("dark")
    parent = QWidget()
    qtbot.addWidget(parent)
    box = cls("", parent)
    box.setChecked(False)
    parent.show()
    # The unchecked indicator's outline stands out from the window (non-text contrast, WCAG 1.4.11: 3:1).
    assert _indicator_contrast(box, _hex(palette, R.Window)) >= 3.0
    box.setChecked(True)
    assert _indicator_contrast(box, _hex(palette, R.Window)) >= 3.0


def test_usable_at_1024_by_700(window, open_request, qtbot):
    open_request(window)
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 700)
    assert window.minimumSizeHint().width() <= 1024
    assert not window.inbox.isVisible()                          # the inbox folded away
    assert not window.actions_by_id["view.inbox"].isChecked()
    right = window.rect().right()
    for w in (window.approve_button, window.search_edit, window.blind_check, window.review_combo,
              window.detail, window.class_buttons["unchanged"]):
        assert w.isVisible()
        top_left = w.mapTo(window, QPoint(0, 0))
        assert top_left.x() >= 0 and top_left.x() + w.width() - 1 <= right, type(w).__name__
    assert window.detail.width() > 300
    assert window.fit.filter_bar.height() > window.search_edit.height()   # the filter bar wrapped
    window.actions_by_id["view.inbox"].trigger()                           # Ctrl+Shift+I brings it back
    assert window.inbox.isVisible()
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: not window.inbox.isVisible())          # narrower still: folded again
    window.resize(INBOX_FOLD_WIDTH + 200, 800)
    qtbot.waitUntil(lambda: window.inbox.isVisible())              # back when there is room
    window.actions_by_id["view.inbox"].trigger()                   # hidden by hand: stays hidden
    window.resize(INBOX_FOLD_WIDTH + 300, 800)
    qtbot.wait(50)
    assert not window.inbox.isVisible()


def test_fits_a_960_by_540_screen(window, open_request, qtbot):
    """200 % on 1920×1080 leaves 960×540 device-independent pixels: the window shrinks into them
    and keeps the detail pane and the Approve button on screen."""
    open_request(window)
    window.resize(1440, 860)
    window.fit.fit_screen(QRect(0, 0, 960, 540))
    qtbot.waitUntil(lambda: window.frameGeometry().width() <= 960 and window.frameGeometry().height() <= 540)
    hint = window.minimumSizeHint()
    assert hint.width() <= 960 and hint.height() <= 510
    for w in (window.approve_button, window.detail, window.table):
        top_left = w.mapTo(window, QPoint(0, 0))
        assert w.isVisible() and top_left.x() + w.width() <= window.width()
        assert top_left.y() + w.height() <= window.height()


def _drag(handle: QWidget, dy: int) -> None:
    start = QPointF(handle.width() / 2, handle.height() / 2)
    end = QPointF(start.x(), start.y() + dy)
    for kind, pos, buttons in ((QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton),
                               (QEvent.Type.MouseMove, end, Qt.MouseButton.LeftButton),
                               (QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)):
        event = QMouseEvent(kind, pos, handle.mapToGlobal(pos), Qt.MouseButton.LeftButton, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(handle, event)


def test_input_pane_resized_by_mouse_and_keyboard_and_remembered(make_window, service, open_request, qtbot):
    window = make_window(service)
    open_request(window)
    fit = window.fit
    before = fit.input_height()
    _drag(window.detail.splitter.handle(1), 60)                  # the mouse
    assert fit.input_height() >= before + 50
    dragged = fit.input_height()
    window.actions_by_id["view.input_taller"].trigger()           # Ctrl+Alt+Down
    assert fit.input_height() == dragged + 40
    window.actions_by_id["view.input_shorter"].trigger()          # Ctrl+Alt+Up
    window.actions_by_id["view.input_shorter"].trigger()
    assert fit.input_height() == dragged - 40
    assert window.actions_by_id["view.input_taller"].shortcut().toString() == "Ctrl+Alt+Down"
    kept = fit.input_height()
    window.close()
    again = make_window(service)                                  # a new window: the same height
    open_request(again)
    qtbot.waitUntil(lambda: again.fit.input_height() == kept)


def test_search_hits_highlighted_and_the_matching_fields_named(window, open_request, qtbot):
    open_request(window)
    window.set_search("tracking")
    qtbot.waitUntil(lambda: window.current_sample_id() == "s-003")
    qtbot.waitUntil(lambda: window.fit.hits_label.isVisible())
    assert window.fit.hits_label.text() == "search “tracking” matched in: reference, candidate output"
    diff = window.detail.view.diff
    assert len(diff.candidate_view.extraSelections()) == 1
    assert diff.baseline_view.extraSelections() == []
    assert len(window.detail.reference_view.extraSelections()) == 1
    (hit,) = diff.candidate_view.extraSelections()
    assert hit.cursor.selectedText() == "tracking"
    window.set_search("")
    qtbot.waitUntil(lambda: not window.fit.hits_label.isVisible())
    assert diff.candidate_view.extraSelections() == []


def test_search_hits_in_markup_stay_plain_text(window, open_request, qtbot):
    open_request(window)
    window.set_search("<script>")
    qtbot.waitUntil(lambda: window.current_sample_id() == "s-004")
    view = window.detail.view.diff.candidate_view
    qtbot.waitUntil(lambda: len(view.extraSelections()) == 1)
    assert "<script>" in view.toPlainText()                      # shown as text, never rendered
    (hit,) = view.extraSelections()
    assert hit.cursor.selectedText() == "<script>"
    assert mark_hits(view, "alert") == 2


def test_the_new_keys_are_taken_once_and_listed(window):
    from PySide6.QtGui import QAction

    keys = {}
    for action in window.findChildren(QAction):
        for seq in action.shortcuts():
            keys.setdefault(seq.toString(), set()).add(action.objectName())
    for key, name in (("Ctrl+N", "file.new_review"), ("Ctrl+Shift+I", "view.inbox"),
                      ("Ctrl+Alt+Down", "view.input_taller"), ("Ctrl+Alt+Up", "view.input_shorter")):
        assert keys[key] == {name}
    sheet = window.shortcut_text()
    assert "New review…" in sheet and "Taller input pane" in sheet and "Inbox" in sheet


def test_dialogs_fit_a_960_by_540_screen(window, open_request, qtbot):
    """Settings, Browse MLflow and New review… open larger than 960×540; shown on such a screen
    they shrink into it (never below what they need) and stay on it."""
    from signoff.ui.fit import fit_into
    from signoff.ui.workbench_extras import WorkbenchExtras

    open_request(window)
    free = QRect(0, 0, 960, 540)
    extras = window.findChild(WorkbenchExtras)
    extras.open_settings()
    window.actions_by_id["file.new_review"].trigger()
    window.actions_by_id["mlflow.browse"].trigger()          # the MLflow plugin's command
    dialogs = [extras.settings_dialog, window.extension_windows["mlflow.browse"], window.new_review_dialog]
    for dialog in dialogs:
        dialog.resize(dialog.width(), max(dialog.height(), 600))
        assert fit_into(dialog, free)
        assert free.contains(dialog.frameGeometry()), type(dialog).__name__
        hint = dialog.minimumSizeHint()
        assert dialog.width() >= hint.width() and dialog.height() >= hint.height()
        dialog.reject()
