"""The detail pane: one sample's input and reference, then baseline |
candidate with the differences marked, then your label and the keys.

Every model value goes through plain-text paths (QPlainTextEdit via
insertText, QLabel with Qt.PlainText): nothing here renders markup.
"""

from __future__ import annotations

import json
import math

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QSplitter, QStackedWidget,
                               QVBoxLayout, QWidget)

from app.ui.diff_view import DiffTextView, TextDiffWidget, plain_label
from app.ui.image_view import ImageCompareWidget, ImagePane
from app.ui.palette import CLASS_STYLE
from app.ui.sample_model import MyLabel, format_delta

KEY_HINTS = ("[1] candidate better   [2] baseline better   [3] tie   [4] both wrong   "
             "[c] correct   [x] incorrect   [n] next unlabeled   [j/k] next/previous")


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_text(value) -> str:
    if _missing(value):
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bytes):
        return f"({len(value):,} bytes)"
    return str(value)


def pretty_json(value) -> tuple[str, bool]:
    """(pretty text with sorted keys, True) or (the raw text, False) when it is not JSON."""
    if _missing(value):
        return "", True
    if isinstance(value, (dict, list)):
        obj = value
    else:
        try:
            obj = json.loads(str(value))
        except (TypeError, ValueError):
            return str(value), False
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False), True


def fmt_score(v) -> str:
    if _missing(v):
        return ""
    v = float(v)
    return f"{v:.2f}" if math.isfinite(v) else str(v)


class DetailPane(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.output_type = "text"

        self.title = plain_label("Select a sample")
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.title.setWordWrap(True)
        self.show_invisibles = QCheckBox("show whitespace and hidden characters")
        self.show_invisibles.setToolTip("spaces as ·, tabs as →, line ends as ↵, zero-width characters as ⟨ZWSP⟩ …")
        self.hidden_warning = plain_label("")
        self.hidden_warning.setStyleSheet("color: #D55E00;")

        top = QHBoxLayout()
        top.addWidget(self.title, 1)

        opts = QHBoxLayout()
        opts.addWidget(self.show_invisibles)
        opts.addWidget(self.hidden_warning, 1)

        # Input | reference
        self.input_view = DiffTextView()
        self.input_view.setPlaceholderText("(no input)")
        self.reference_view = DiffTextView()
        self.reference_view.setPlaceholderText("(no reference)")
        self.input_image = ImagePane("INPUT")
        self.input_image.hide()
        ctx = QWidget()
        cl = QHBoxLayout(ctx)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self._titled("INPUT", self.input_view), 1)
        cl.addWidget(self.input_image, 1)
        cl.addWidget(self._titled("REFERENCE", self.reference_view), 1)

        # Baseline | candidate
        self.text_diff = TextDiffWidget()
        self.image_diff = ImageCompareWidget()
        self.outputs = QStackedWidget()
        self.outputs.addWidget(self.text_diff)
        self.outputs.addWidget(self.image_diff)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(ctx)
        self.splitter.addWidget(self.outputs)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([140, 460])

        self.my_label = plain_label("")
        self.hints = plain_label(KEY_HINTS)
        self.hints.setWordWrap(True)
        self.hints.setStyleSheet("color: palette(placeholder-text);")
        self.hints.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addLayout(opts)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.my_label)
        layout.addWidget(self.hints)

        self.show_invisibles.toggled.connect(self._toggle_invisibles)
        self.text_diff.invisiblesFound.connect(self._on_hidden)
        self._sample: pd.Series | None = None

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        t = plain_label(title)
        f = t.font()
        f.setBold(True)
        t.setFont(f)
        v.addWidget(t)
        v.addWidget(widget)
        return box

    def _toggle_invisibles(self, on: bool) -> None:
        self.text_diff.set_show_invisibles(on)
        if self._sample is not None:
            self._show_context(self._sample)

    def _on_hidden(self, found: bool) -> None:
        self.hidden_warning.setText("⚠ hidden characters in these outputs (bidi controls shown as ⟨RLO⟩ …)"
                                    if found else "")

    def set_output_type(self, output_type: str) -> None:
        self.output_type = output_type
        self.text_diff.set_monospace(output_type in ("json", "number"))

    def clear(self, message: str = "Select a sample") -> None:
        self._sample = None
        self.title.setText(message)
        self.input_view.clear()
        self.reference_view.clear()
        self.text_diff.set_texts("", "")
        self.text_diff.set_titles("BASELINE", "CANDIDATE")
        self.image_diff.set_images(None, None)
        self.my_label.setText("")

    def set_sample(self, sample: pd.Series, slices: list[str], label: MyLabel | None = None) -> None:
        self._sample = sample
        cls = str(sample.get("class", ""))
        symbol = CLASS_STYLE.get(cls, ("", ""))[1]
        parts = [str(sample.get("id", "")), f"{symbol} {cls}"]
        for s in slices:
            if not _missing(sample.get(s)):
                parts.append(f"{s}: {sample.get(s)}")
        delta = sample.get("delta")
        if not _missing(delta):
            parts.append(f"Δscore {format_delta(delta)}")
        side = sample.get("missing_side")
        if isinstance(side, str) and side:
            parts.append(f"missing from {side}")
        self.title.setText("  ·  ".join(parts))
        self._show_context(sample)
        self._show_outputs(sample)
        self.set_label(label or MyLabel())

    def set_label(self, label: MyLabel) -> None:
        self.my_label.setText(f"your label: {label.words()}" if not label.is_empty else "your label: (none yet)")

    def _show_context(self, sample: pd.Series) -> None:
        on = self.show_invisibles.isChecked()
        input_bytes = sample.get("input_bytes")
        if not _missing(input_bytes) and isinstance(input_bytes, (bytes, bytearray, memoryview)):
            self.input_image.show()
            self.input_image.set_image(input_bytes, as_text(sample.get("input")))
        else:
            self.input_image.hide()
        self.input_view.set_plain(as_text(sample.get("input")), whitespace=on, invisibles=on)
        self.reference_view.set_plain(as_text(sample.get("reference")), whitespace=on, invisibles=on)

    def _titles(self, sample: pd.Series, extra: tuple[str, str] = ("", "")) -> tuple[str, str]:
        out = []
        for side, more in zip(("baseline", "candidate"), extra):
            t = side.upper()
            score = fmt_score(sample.get(f"{side}_score"))
            if score:
                t += f" · score {score}"
            if more:
                t += f" · {more}"
            if _missing(sample.get(f"{side}_output")) and not isinstance(sample.get(f"{side}_output_bytes"), bytes):
                t += " · (no output)"
            out.append(t)
        return out[0], out[1]

    def _show_outputs(self, sample: pd.Series) -> None:
        otype = self.output_type
        if otype == "image":
            self.outputs.setCurrentWidget(self.image_diff)
            self.image_diff.set_images(sample.get("baseline_output_bytes"), sample.get("candidate_output_bytes"),
                                       baseline_caption=as_text(sample.get("baseline_output")),
                                       candidate_caption=as_text(sample.get("candidate_output")))
            b, c = self._titles(sample)
            self.image_diff.baseline.title.setText(b)
            self.image_diff.candidate.title.setText(c)
            return
        self.outputs.setCurrentWidget(self.text_diff)
        extra = ("", "")
        if otype == "json":
            (b, bok), (c, cok) = pretty_json(sample.get("baseline_output")), pretty_json(sample.get("candidate_output"))
            extra = ("" if bok else "not valid JSON", "" if cok else "not valid JSON")
        elif otype == "number":
            b, c = as_text(sample.get("baseline_output")), as_text(sample.get("candidate_output"))
            extra = (self._number_error(sample, "baseline"), self._number_error(sample, "candidate"))
        else:
            b, c = as_text(sample.get("baseline_output")), as_text(sample.get("candidate_output"))
        self.text_diff.set_titles(*self._titles(sample, extra))
        self.text_diff.set_texts(b, c)

    @staticmethod
    def _number_error(sample: pd.Series, side: str) -> str:
        try:
            value = float(sample.get(f"{side}_output"))
            ref = float(sample.get("reference"))
        except (TypeError, ValueError):
            return ""
        if not (math.isfinite(value) and math.isfinite(ref)):
            return ""
        return f"error {value - ref:+.4g}".replace("-", "−")
