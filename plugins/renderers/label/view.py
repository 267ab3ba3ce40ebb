"""The classification view: reference, left and right labels in large type,
each with whether it matches the reference (✓ / ✗ and the words), and score
bars: the score, every extra prediction column between 0 and 1 (confidence,
probability, …), and per-class scores when a column holds them
({"cat": 0.7, "dog": 0.2}) — the top classes of both sides, side by side."""

from __future__ import annotations

import json
import math
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from signoff.core.shown import Shown, is_missing
from signoff.ui.renderer_sdk import HIT_STYLE, OutputView, bold_label, fmt_score, hit, plain_label, visible

MATCH_COLOUR = "#009E73"
MISS_COLOUR = "#D55E00"
TOP_CLASSES = 6
PER_CLASS_NAMES = ("scores", "probabilities", "probs", "class_scores", "logits_softmax", "distribution")


class ScoreBar(QWidget):
    """A horizontal bar filled to `value` (0..1) with the number written beside it."""

    def __init__(self, value: float, caption: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(self.fontMetrics().height() + 6)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_value(value, caption)

    def set_value(self, value: float, caption: str = "") -> None:
        self.value = max(0.0, min(1.0, float(value)))
        self.caption = caption
        self.setAccessibleName(f"{caption} {value:.2f}".strip())
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(220, self.fontMetrics().height() + 6)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = self.fontMetrics()
        text = f"{self.value:.2f}"
        text_w = fm.horizontalAdvance("0.000 ")
        bar = QRectF(0.5, 2.5, max(10.0, self.width() - text_w - 6), self.height() - 5)
        pal = self.palette()
        p.setPen(pal.color(QPalette.ColorRole.Mid))
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        p.drawRoundedRect(bar, 2, 2)
        fill = QRectF(bar.x(), bar.y(), bar.width() * self.value, bar.height())
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color(QPalette.ColorRole.Highlight))
        p.drawRoundedRect(fill, 2, 2)
        p.setPen(pal.color(QPalette.ColorRole.WindowText))
        p.drawText(QRectF(bar.right() + 6, 0, text_w, self.height()),
                   int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
        p.end()


def _unit(value: Any) -> float | None:
    """A number in [0, 1], else None."""
    if isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and 0.0 <= v <= 1.0 else None


def per_class(extras: dict) -> tuple[str, dict[str, float]] | None:
    """(column name, {class: score}) from the first extra column that holds per-class scores."""
    for name, value in extras.items():
        if isinstance(value, str) and value.strip().startswith("{"):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if isinstance(value, dict) and value:
            scores = {str(k): _unit(v) for k, v in value.items()}
            if all(v is not None for v in scores.values()) and (name in PER_CLASS_NAMES or len(scores) > 1):
                return name, {k: float(v) for k, v in scores.items()}
    return None


def label_text(value: Any) -> str:
    return "" if is_missing(value) else str(value).strip()


class _BarRows(QWidget):
    """Caption | bar rows, reused from sample to sample (no widgets made per keystroke)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(2)
        self.grid.setColumnMinimumWidth(0, 90)
        self.grid.setColumnStretch(1, 1)
        self.rows: list[tuple[QLabel, ScoreBar, QLabel]] = []

    def set_bars(self, bars: list[tuple[str, float | None]]) -> None:
        while len(self.rows) < len(bars):
            cap, bar, dash = plain_label(""), ScoreBar(0.0), plain_label("—")
            r = len(self.rows)
            self.grid.addWidget(cap, r, 0)
            self.grid.addWidget(bar, r, 1)
            self.grid.addWidget(dash, r, 1)
            self.rows.append((cap, bar, dash))
        for i, (cap, bar, dash) in enumerate(self.rows):
            if i < len(bars):
                name, value = bars[i]
                cap.setText(name)
                cap.show()
                if value is None:
                    bar.hide()
                    dash.show()
                else:
                    bar.set_value(value, name)
                    bar.show()
                    dash.hide()
            else:
                cap.hide()
                bar.hide()
                dash.hide()
        self.setVisible(bool(bars))


class LabelOutputView(OutputView):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.body = QWidget()
        self.grid = QGridLayout(self.body)
        self.grid.setContentsMargins(8, 8, 8, 8)
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(8)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        self.ref_name = bold_label("REFERENCE")
        self.ref_label = bold_label("", scale=1.6)
        self.ref_label.setAccessibleName("reference label")
        self.grid.addWidget(self.ref_name, 0, 0, right)
        self.grid.addWidget(self.ref_label, 0, 1, 1, 3, left)
        self.sides: list[dict] = []
        for i in range(2):
            name, big, mark = bold_label(""), bold_label("", scale=1.6), plain_label("")
            bars, extra = _BarRows(), plain_label("")
            extra.setWordWrap(True)
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            v.addWidget(bars)
            v.addWidget(extra)
            row = 1 + i
            self.grid.addWidget(name, row, 0, right | Qt.AlignmentFlag.AlignTop)
            self.grid.addWidget(big, row, 1, left | Qt.AlignmentFlag.AlignTop)
            self.grid.addWidget(mark, row, 2, left | Qt.AlignmentFlag.AlignTop)
            self.grid.addWidget(box, row, 3)
            self.sides.append({"name": name, "big": big, "mark": mark, "bars": bars, "extra": extra})
        self.class_title = bold_label("")
        self.class_rows: list[tuple[QLabel, _BarRows]] = []
        self.grid.addWidget(self.class_title, 3, 1, 1, 3, left)
        self._class_row0 = 4
        self.grid.setColumnStretch(3, 1)
        self.grid.setRowStretch(40, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(scroll)
        self._texts: list[str] = []
        self._needle = ""
        self.search_hits: list[str] = []     # what is marked: "REFERENCE", a side's name, "NAME extras", a class
        self.clear()

    def clear(self) -> None:
        super().clear()
        self.ref_label.setText("")
        for side in self.sides:
            for key in ("name", "big", "mark", "extra"):
                side[key].setText("")
            side["bars"].set_bars([])
        self._set_classes([], [])
        self._texts = []
        self._mark_hits()

    def show_sample(self, shown: Shown) -> None:
        self.shown = shown
        show = self.show_invisibles
        ref = label_text(shown.reference)
        self.ref_label.setText(visible(ref, show) or "(none)")
        texts = ["REFERENCE", self.ref_label.text()]
        found_hidden = self._hidden(ref)
        for side, widgets in zip(shown.sides, self.sides):
            text = label_text(side.output)
            found_hidden |= self._hidden(text)
            widgets["name"].setText(side.name)
            widgets["big"].setText(visible(text, show) if text else "(no output)")
            widgets["big"].setAccessibleName(f"{side.name} label")
            mark = widgets["mark"]
            if ref and text:
                ok = text == ref
                mark.setText("✓ matches the reference" if ok else "✗ differs from the reference")
                mark.setStyleSheet(f"color: {MATCH_COLOUR if ok else MISS_COLOUR}; font-weight: bold;")
            else:
                mark.setText("")
            bars: list[tuple[str, float | None]] = []
            if side.score is not None and _unit(side.score) is not None:
                bars.append(("score", float(side.score)))
            for name, value in side.extras.items():
                v = _unit(value)
                if v is not None:
                    bars.append((name, v))
            widgets["bars"].set_bars(bars)
            extra_text = [f"{k}: {v}" for k, v in side.extras.items()
                          if _unit(v) is None and not isinstance(v, (dict, list)) and per_class({k: v}) is None]
            if side.score is not None and _unit(side.score) is None:
                extra_text.insert(0, f"score: {fmt_score(side.score)}")
            widgets["extra"].setText(visible(" · ".join(extra_text), show))
            widgets["extra"].setVisible(bool(extra_text))
            texts += [side.name, widgets["big"].text()] + ([mark.text()] if mark.text() else [])
            texts += [f"{n} {v:.2f}" for n, v in bars if v is not None]
            if extra_text:
                texts.append(widgets["extra"].text())
        texts += self._per_class(shown)
        self._texts = texts
        self._mark_hits()
        self.invisiblesFound.emit(found_hidden)

    # --- search hits ----------------------------------------------------
    def show_search(self, needle: str) -> int:
        self._needle = needle
        self._mark_hits()
        return len(self.search_hits)

    def _marked(self) -> list[tuple[str, QLabel]]:
        """(what it is, label) of every label a search can match."""
        out = [("REFERENCE", self.ref_label)]
        for w in self.sides:
            out += [(w["name"].text(), w["big"]), (f"{w['name'].text()} extras", w["extra"])]
        out += [(cap.text(), cap) for cap, _bars in self.class_rows if cap.isVisibleTo(self)]
        return out

    def _mark_hits(self) -> None:
        """The labels whose text holds the needle: amber under near-black text (HIT_STYLE)."""
        self.search_hits = []
        for what, label in self._marked():
            on = self.shown is not None and hit(label.text(), self._needle)
            label.setStyleSheet(HIT_STYLE if on else "")
            label.setProperty("searchHit", on)
            if on:
                self.search_hits.append(what)

    @staticmethod
    def _hidden(text: str) -> bool:
        from signoff.core.textdiff import has_hidden_characters

        return has_hidden_characters(text)

    def _per_class(self, shown: Shown) -> list[str]:
        tables = [(side, per_class(dict(side.extras))) for side in shown.sides]
        if not any(t for _, t in tables):
            self._set_classes([], [])
            return []
        merged: dict[str, float] = {}
        for _, t in tables:
            if t:
                for k, v in t[1].items():
                    merged[k] = max(merged.get(k, 0.0), v)
        top = sorted(merged, key=lambda k: -merged[k])[:TOP_CLASSES]
        rows = []
        texts = []
        for cls in top:
            bars = []
            for side, t in tables:
                v = t[1].get(cls) if t else None
                bars.append((side.name, v))
                if v is not None:
                    texts.append(f"{cls} {side.name} {v:.2f}")
            rows.append((cls, bars))
        self._set_classes(rows, top)
        return texts

    def _set_classes(self, rows: list, top: list[str]) -> None:
        self.class_title.setText(f"top {len(top)} classes by score" if top else "")
        self.class_title.setVisible(bool(top))
        while len(self.class_rows) < len(rows):
            r = self._class_row0 + len(self.class_rows)
            cap, bars = plain_label(""), _BarRows()
            self.grid.addWidget(cap, r, 1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.grid.addWidget(bars, r, 3)
            self.class_rows.append((cap, bars))
        for i, (cap, bars) in enumerate(self.class_rows):
            if i < len(rows):
                cls, side_bars = rows[i]
                cap.setText(visible(cls, self.show_invisibles))
                cap.show()
                bars.set_bars(side_bars)
            else:
                cap.hide()
                bars.set_bars([])

    def text_content(self) -> str:
        return "\n".join(self._texts)
