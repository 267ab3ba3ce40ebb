"""What a renderer's view is: the Qt side of a `signoff.renderers` plugin.

`Renderer.create_view(parent)` returns an `OutputView`. The detail pane
hands it one sample at a time as an `signoff.core.shown.Shown` (input,
reference, and the two sides, left and right: baseline | candidate, or A | B
in blind mode, where a side's `name` is all a view may show of which model
it is). A view shows model values as text only (no rich text, no HTML).

    show_sample(shown)        show one sample
    clear()                   nothing selected
    set_show_invisibles(on)   whitespace / zero-width characters visible
    modes() / set_mode(name)  optional sub-views (V cycles them)
    zoom(step) / zoom_fit()   optional (images)
    text_content()            everything the view shows, as text (tests, copy)
    show_search(needle)       optional: mark the search hits in widgets that are not text
                              editors (tree items, labels, captions); text editors are marked by
                              the window (app/ui/fit.py). Plain text only, HIT_* colours.
    invisiblesFound(bool)     the outputs hold bidi controls or invisibles
"""

from __future__ import annotations

import json
import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QWidget

from signoff.core.shown import Shown, Side, is_missing
from signoff.core.textdiff import make_visible


class OutputView(QWidget):
    invisiblesFound = Signal(bool)
    modeChanged = Signal(str)

    MODES: tuple[str, ...] = ()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.shown: Shown | None = None
        self.show_invisibles = False
        self.mode = self.MODES[0] if self.MODES else ""

    # --- the contract ---------------------------------------------------
    def show_sample(self, shown: Shown) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        self.shown = None

    def set_show_invisibles(self, on: bool) -> None:
        if on != self.show_invisibles:
            self.show_invisibles = on
            if self.shown is not None:
                self.show_sample(self.shown)

    def modes(self) -> tuple[str, ...]:
        return self.MODES

    def set_mode(self, mode: str) -> None:
        if mode in self.MODES and mode != self.mode:
            self.mode = mode
            self._mode_changed()
            self.modeChanged.emit(mode)

    def cycle_mode(self) -> bool:
        """The V key: the next sub-view; False when the view has none."""
        if len(self.MODES) < 2:
            return False
        i = self.MODES.index(self.mode) if self.mode in self.MODES else -1
        self.set_mode(self.MODES[(i + 1) % len(self.MODES)])
        return True

    def _mode_changed(self) -> None:
        pass

    def zoom(self, step: int) -> bool:
        return False

    def zoom_fit(self) -> bool:
        return False

    def text_content(self) -> str:
        return ""

    def show_search(self, needle: str) -> int:
        """Mark what matches `needle` (case-insensitive) where the window's text-editor marking does
        not reach; returns how many marks. "" clears them. The view keeps the needle for the next
        sample."""
        return 0


# The search-hit mark (app/ui/fit.py and the views): amber under near-black text, 11:1 in both themes.
HIT_BACKGROUND = "#FFC940"
HIT_FOREGROUND = "#111111"
HIT_STYLE = f"background: {HIT_BACKGROUND}; color: {HIT_FOREGROUND};"


def hit(text: str, needle: str) -> bool:
    """`needle` occurs in `text`, case-insensitively (as the table's search finds it)."""
    return bool(needle) and needle.casefold() in (text or "").casefold()


# --- helpers the views share ---------------------------------------------------------------

def as_text(value: Any) -> str:
    """A stored value as text for a text view: dicts/lists as JSON, bytes summarised."""
    if is_missing(value):
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"({len(bytes(value)):,} bytes)"
    return str(value)


def visible(text: str, show_invisibles: bool) -> str:
    """Text for a one-line cell or label: bidi controls always shown, the rest on request."""
    return make_visible(text, whitespace=False, invisibles=show_invisibles)


def fmt_score(v: Any) -> str:
    if v is None or is_missing(v):
        return ""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{v:.2f}".replace("-", "−") if math.isfinite(v) else str(v)


def side_title(side: Side, *, extra: str = "") -> str:
    """BASELINE · score 0.74 · <extra> · (no output)"""
    parts = [side.name]
    score = fmt_score(side.score)
    if score:
        parts.append(f"score {score}")
    if extra:
        parts.append(extra)
    if not side.has_output:
        parts.append("(no output)")
    return " · ".join(parts)


def bold_label(text: str = "", parent: QWidget | None = None, *, scale: float = 1.0) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    f: QFont = label.font()
    f.setBold(True)
    if scale != 1.0:
        f.setPointSizeF(f.pointSizeF() * scale)
    label.setFont(f)
    label.setText(text)
    return label
