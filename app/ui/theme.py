"""Light, dark or the system's look (Settings ▸ Appearance).

"system" leaves Qt's own palette alone (it follows the desktop where the
platform tells Qt its colour scheme); "light" and "dark" use the Fusion
style with an explicit palette, the same on every platform. The class
colours (Okabe-Ito) and the diff tints (translucent, with strike/underline)
were chosen to read on both; charts pick plotly's dark template when the
window is dark (`is_dark`).
"""

from __future__ import annotations


from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from signoff.resources import ROOT as RESOURCES_ROOT

_ORIGINAL: dict = {}
THEMES_DIR = RESOURCES_ROOT / "themes"
# Placeholder text (also the key-hint line) at 4.5:1 or more on the window and base colours.
LIGHT_PLACEHOLDER = "#5c5c5c"
DARK_PLACEHOLDER = "#a8a8a8"
LIGHT_HIGHLIGHT = "#2468a8"     # Fusion's own #308cc6 under white text is 3.7:1


def set_tone(widget, tone: str) -> None:
    """A text tone of the theme's stylesheet ("muted", "error", "warn", "ok"; "" for none)."""
    widget.setProperty("tone", tone or None)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def stylesheet(dark: bool) -> str:
    """The theme's stylesheet (resources/themes): text tones by the "tone" property, and in
    the dark theme check boxes and radio buttons that are visible."""
    text = (THEMES_DIR / ("dark.qss" if dark else "light.qss")).read_text(encoding="utf-8")
    return text.replace("{THEMES}", THEMES_DIR.as_posix())


def apply_tones(app: QApplication | None = None) -> None:
    """Set the stylesheet that matches the palette now in use (light or dark)."""
    app = app or QApplication.instance()
    if app is None:
        return
    from signoff.ui.palette import contrast

    palette = app.palette()
    dark = is_dark(palette)
    placeholder = palette.color(QPalette.ColorRole.PlaceholderText).name()
    worst = min(contrast(placeholder, palette.color(role).name())
                for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base))
    if worst < 4.5:   # the system's own palette: its placeholder (the key hints) made readable
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, QPalette.ColorRole.PlaceholderText,
                             QColor(DARK_PLACEHOLDER if dark else LIGHT_PLACEHOLDER))
        app.setPalette(palette)
    if _ORIGINAL.get("sheet_dark") is dark and app.styleSheet():
        return
    _ORIGINAL["sheet_dark"] = dark
    app.setStyleSheet(stylesheet(dark))


def is_dark(palette: QPalette | None = None) -> bool:
    if palette is None:
        app = QApplication.instance()
        if app is None:
            return False
        palette = app.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def dark_palette() -> QPalette:
    p = QPalette()
    R, G = QPalette.ColorRole, QPalette.ColorGroup
    colours = {
        R.Window: "#2b2b2b", R.WindowText: "#e8e8e8", R.Base: "#1e1e1e", R.AlternateBase: "#262626",
        R.ToolTipBase: "#333333", R.ToolTipText: "#f0f0f0", R.Text: "#e8e8e8", R.Button: "#353535",
        R.ButtonText: "#e8e8e8", R.BrightText: "#ff8a65", R.Link: "#56B4E9", R.LinkVisited: "#CC79A7",
        R.Highlight: "#2f6ea8", R.HighlightedText: "#ffffff", R.PlaceholderText: DARK_PLACEHOLDER,
        R.Light: "#4a4a4a", R.Midlight: "#404040", R.Mid: "#303030", R.Dark: "#1a1a1a", R.Shadow: "#000000",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (R.Text, R.ButtonText, R.WindowText):
        p.setColor(G.Disabled, role, QColor("#7a7a7a"))
    p.setColor(G.Disabled, R.Base, QColor("#262626"))
    return p


def light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    p = style.standardPalette() if style is not None else QPalette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(LIGHT_PLACEHOLDER))
        p.setColor(group, QPalette.ColorRole.Highlight, QColor(LIGHT_HIGHLIGHT))   # white on it: 4.5:1 or more
    return p


def apply_theme(theme: str, app: QApplication | None = None) -> None:
    app = app or QApplication.instance()
    if app is None:
        return
    if "palette" not in _ORIGINAL:
        _ORIGINAL["palette"] = QPalette(app.palette())
        _ORIGINAL["style"] = app.style().name()
    if theme == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    elif theme == "light":
        app.setStyle("Fusion")
        app.setPalette(light_palette())
    else:
        if _ORIGINAL.get("style"):
            app.setStyle(_ORIGINAL["style"])
        app.setPalette(_ORIGINAL["palette"])
    apply_tones(app)
