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

_ORIGINAL: dict = {}


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
        R.Highlight: "#2f6ea8", R.HighlightedText: "#ffffff", R.PlaceholderText: "#9a9a9a",
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
    return style.standardPalette() if style is not None else QPalette()


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
