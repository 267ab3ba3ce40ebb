"""The detail pane: one sample's input and reference, then the two outputs
in the view of the eval set's output type, then your label and the keys.

The output views are renderer plugins (entry-point group signoff.renderers,
app/registry.py): the pane asks the registry for the renderer of the eval
set's output type and shows its `create_view()` (app/ui/output_view.py is
the contract). A "Raw values" tab beside it shows every stored value as it
is (R). In blind mode the two outputs are A and B in a per-sample order
(app/core/shown.py) and nothing in the pane says which is the candidate.

Every model value goes through plain-text paths (insertText, QLabel with
Qt.PlainText, item text): nothing here renders markup.
"""

from __future__ import annotations

import logging

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QSizePolicy, QSplitter, QStackedWidget, QTabWidget,
                               QVBoxLayout, QWidget)

from signoff.core.shown import Shown, is_missing, looks_preformatted, shown_sample, side_names
from signoff.registry import registry
from signoff.ui.diff_view import DiffTextView, TextDiffWidget, plain_label
from signoff.ui.image_view import ImagePane
from signoff.ui.output_view import OutputView, as_text
from signoff.ui.palette import CLASS_STYLE, VERDICT_WORDS
from signoff.ui.raw_view import RawView
from signoff.ui.text_output_view import TextOutputView
from signoff.ui.sample_model import MyLabel, format_delta

log = logging.getLogger(__name__)

COMPARE_TAB, RAW_TAB = 0, 1
COMMENT_PREVIEW = 80


def key_hints(blind: bool) -> str:
    if blind:
        return ("[1] A better   [2] B better   [3] tie   [4] both wrong   [e] error   [m] comment   "
                "[n] next unlabeled   [j/k] next/previous   [b] blind off   [r] raw   [v] view   [?] all keys")
    return ("[1] candidate better   [2] baseline better   [3] tie   [4] both wrong   [c] correct   [x] incorrect   "
            "[e] error   [m] comment   [n] next unlabeled   [j/k] next/previous   [b] blind   [r] raw   [v] view   "
            "[?] all keys")


def label_words(label: MyLabel, names: dict[str, str] | None = None, *, blind: bool = False,
                full_comment: bool = False) -> str:
    """Your label in words; in blind mode the verdict says A or B, never the model.
    `full_comment`: the whole comment (another reviewer's, in the team panel), else a preview."""
    parts = []
    if label.verdict:
        if blind and names and label.verdict in names:
            parts.append(f"{names[label.verdict]} better")
        else:
            parts.append(VERDICT_WORDS.get(label.verdict, label.verdict))
    if label.correct is not None and not blind:
        parts.append("candidate correct" if label.correct else "candidate incorrect")
    elif label.correct is not None:
        parts.append("correctness marked")
    if label.error:
        parts.append(f"error: {label.error}")
    if label.comment:
        text = " ".join(str(label.comment).split())
        if full_comment:
            parts.append(f"comment: “{text}”")
        else:
            parts.append(f"comment: “{text[:COMMENT_PREVIEW]}{'…' if len(text) > COMMENT_PREVIEW else ''}”")
    return " · ".join(parts)


class DetailPane(QWidget):
    rawToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.output_type = "text"
        self.request_id = None
        self.eval_set = ""
        self.blind = False
        self.shown: Shown | None = None
        self._sample: pd.Series | None = None
        self._slices: list[str] = []
        self._label = MyLabel()
        self._views: dict[str, OutputView] = {}
        self._mono_choice: dict[str, bool] = {}     # eval set -> the reviewer's choice (else auto)
        self.view_problem = ""

        self.title = plain_label("Select a sample")
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.title.setWordWrap(True)
        self.show_invisibles = QCheckBox("show whitespace and hidden characters")
        self.show_invisibles.setToolTip("spaces as ·, tabs as →, line ends as ↵, zero-width characters as ⟨ZWSP⟩ …")
        self.show_invisibles.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.monospace = QCheckBox("monospace input")
        self.monospace.setToolTip("show the input in a fixed-width font (on by itself for input laid out with "
                                  "spaces, such as ASCII art or aligned tables)")
        self.monospace.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hidden_warning = plain_label("")
        self.hidden_warning.setProperty("tone", "warn")   # resources/themes: AA contrast in both themes

        opts = QHBoxLayout()
        opts.addWidget(self.show_invisibles)
        opts.addWidget(self.monospace)
        opts.addWidget(self.hidden_warning, 1)

        # Input | reference (text, or images for image sets)
        self.input_view = DiffTextView()
        self.input_view.setPlaceholderText("(no input)")
        self.input_view.setAccessibleName("input")
        self.reference_view = DiffTextView()
        self.reference_view.setPlaceholderText("(no reference)")
        self.reference_view.setAccessibleName("reference")
        self.input_image = ImagePane("INPUT")
        self.input_image.hide()
        self.reference_image = ImagePane("REFERENCE")
        self.reference_image.hide()
        ctx = QWidget()
        cl = QHBoxLayout(ctx)
        cl.setContentsMargins(0, 0, 0, 0)
        self.input_box = self._titled("INPUT", self.input_view)
        self.reference_box = self._titled("REFERENCE", self.reference_view)
        cl.addWidget(self.input_box, 1)
        cl.addWidget(self.input_image, 1)
        cl.addWidget(self.reference_box, 1)
        cl.addWidget(self.reference_image, 1)

        # The output view of this eval set's type | the raw values
        self.outputs = QStackedWidget()
        self.raw_view = RawView()
        self.tabs = QTabWidget()
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabs.tabBar().setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabs.addTab(self.outputs, "Compare")
        self.tabs.addTab(self.raw_view, "Raw values  (r)")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.view_note = plain_label("")
        self.view_note.setProperty("tone", "warn")
        self.view_note.hide()

        out_box = QWidget()
        ol = QVBoxLayout(out_box)
        ol.setContentsMargins(0, 0, 0, 0)
        ol.setSpacing(2)
        ol.addWidget(self.view_note)
        ol.addWidget(self.tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(ctx)
        self.splitter.addWidget(out_box)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([150, 470])

        self.my_label = plain_label("")
        self.my_label.setWordWrap(True)
        self.hints = plain_label(key_hints(False))
        self.hints.setWordWrap(True)
        self.hints.setProperty("tone", "muted")
        self.hints.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addLayout(opts)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.my_label)
        layout.addWidget(self.hints)

        self.show_invisibles.toggled.connect(self._toggle_invisibles)
        self.monospace.clicked.connect(self._monospace_clicked)
        self.set_output_type("text")

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

    # ------------------------------------------------------------------ views
    def view_for(self, output_type: str) -> OutputView:
        """The view of an output type, made once from its renderer plugin (text as a fallback)."""
        view = self._views.get(output_type)
        if view is not None:
            return view
        problem = ""
        cls = registry().renderer_for(output_type)
        if cls is None:
            problem = f"no renderer plugin for output type {output_type!r}; shown as text"
        else:
            try:
                view = cls().create_view()
                if not isinstance(view, OutputView):
                    problem = f"renderer {cls.__name__} did not return an OutputView; shown as text"
                    view = None
            except Exception as exc:  # a broken plugin is reported, not fatal
                log.exception("renderer %s failed", output_type)
                problem = f"renderer for {output_type!r} failed ({type(exc).__name__}: {exc}); shown as text"
                view = None
        if view is None:
            view = TextOutputView()   # the renderer SDK's own text view (no plugin imported back)
            if output_type in ("json", "number"):
                view.diff.set_monospace(True)
        view.setProperty("problem", problem)
        view.invisiblesFound.connect(self._on_hidden)
        view.set_show_invisibles(self.show_invisibles.isChecked())
        self.outputs.addWidget(view)
        self._views[output_type] = view
        return view

    @property
    def view(self) -> OutputView:
        return self.view_for(self.output_type)

    @property
    def text_diff(self) -> TextDiffWidget:
        """The text view's word-diff widget (the text renderer's view)."""
        return self.view_for("text").diff

    def set_context(self, request_id, eval_set: str, output_type: str) -> None:
        self.request_id = request_id
        self.eval_set = eval_set
        self.set_output_type(output_type)

    def set_output_type(self, output_type: str) -> None:
        self.output_type = output_type
        view = self.view_for(output_type)
        self.outputs.setCurrentWidget(view)
        self.view_problem = view.property("problem") or ""
        self.view_note.setText(self.view_problem)
        self.view_note.setVisible(bool(self.view_problem))
        mono = output_type in ("json", "number")
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont) if mono else self.font()
        self.reference_view.setFont(font)

    def set_blind(self, on: bool) -> None:
        self.blind = bool(on)
        self.hints.setText(key_hints(self.blind))
        if self._sample is not None:
            self.set_sample(self._sample, self._slices, self._label)

    def toggle_raw(self) -> bool:
        raw = self.tabs.currentIndex() != RAW_TAB
        self.tabs.setCurrentIndex(RAW_TAB if raw else COMPARE_TAB)
        return raw

    def cycle_mode(self) -> bool:
        if self.tabs.currentIndex() == RAW_TAB:
            self.tabs.setCurrentIndex(COMPARE_TAB)
        return self.view.cycle_mode()

    def _tab_changed(self, index: int) -> None:
        if index == RAW_TAB and self._sample is not None:
            self.raw_view.show_row(self._sample, blind=self.blind, shown=self.shown)
        self.rawToggled.emit(index == RAW_TAB)

    def _toggle_invisibles(self, on: bool) -> None:
        for view in self._views.values():
            view.set_show_invisibles(on)
        if self._sample is not None:
            self._show_context(self._sample)

    def _on_hidden(self, found: bool) -> None:
        if self.sender() is not None and self.sender() is not self.view:
            return
        self.hidden_warning.setText("⚠ hidden characters in these outputs (bidi controls shown as ⟨RLO⟩ …)"
                                    if found else "")

    def _monospace_clicked(self, on: bool) -> None:
        self._mono_choice[self.eval_set] = on
        self._apply_monospace(on)

    def _apply_monospace(self, on: bool) -> None:
        self.monospace.setChecked(on)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont) if on else self.font()
        if self.input_view.font() != font:
            self.input_view.setFont(font)

    # ------------------------------------------------------------------ samples
    def clear(self, message: str = "Select a sample") -> None:
        self._sample = None
        self.shown = None
        self.title.setText(message)
        self.input_view.clear()
        self.reference_view.clear()
        self.input_image.hide()
        self.reference_image.hide()
        self.input_box.show()
        self.reference_box.show()
        for view in self._views.values():
            view.clear()
        self.raw_view.clear_row()
        self.my_label.setText("")
        self.hidden_warning.setText("")

    def set_sample(self, sample: pd.Series, slices: list[str], label: MyLabel | None = None) -> None:
        self._sample = sample
        self._slices = list(slices)
        self.shown = shown_sample(sample, output_type=self.output_type, blind=self.blind,
                                  request_id=self.request_id, eval_set=self.eval_set)
        self.title.setText(self._title_text(sample, slices))
        self._show_context(sample)
        self.view.show_sample(self.shown)
        if self.tabs.currentIndex() == RAW_TAB:
            self.raw_view.show_row(sample, blind=self.blind, shown=self.shown)
        self.set_label(label or MyLabel())

    def _title_text(self, sample: pd.Series, slices: list[str]) -> str:
        shown = self.shown
        cls = shown.change_class if shown is not None else str(sample.get("class", ""))
        symbol = CLASS_STYLE.get(cls, ("", ""))[1]
        parts = [str(sample.get("id", "")), f"{symbol} {cls}".strip()]
        for s in slices:
            if not is_missing(sample.get(s)):
                parts.append(f"{s}: {sample.get(s)}")
        if not self.blind:
            delta = sample.get("delta")
            if not is_missing(delta):
                parts.append(f"Δscore {format_delta(delta)}")
        side = sample.get("missing_side")
        if isinstance(side, str) and side:
            if self.blind and shown is not None:
                side = side_names(shown).get(side, side)
            parts.append(f"missing from {side}")
        if self.blind:
            parts.append("blind: A and B in a random order")
        return "  ·  ".join(parts)

    def set_label(self, label: MyLabel) -> None:
        self._label = label
        names = side_names(self.shown) if self.shown is not None else None
        words = label_words(label, names, blind=self.blind)
        self.my_label.setText(f"your label: {words}" if words else "your label: (none yet)")

    def _show_context(self, sample: pd.Series) -> None:
        on = self.show_invisibles.isChecked()
        for pane, box, key in ((self.input_image, self.input_box, "input"),
                               (self.reference_image, self.reference_box, "reference")):
            data = sample.get(f"{key}_bytes")
            if isinstance(data, (bytes, bytearray, memoryview)):
                pane.show()
                box.hide()
                pane.set_image(data, as_text(sample.get(key)))
            else:
                pane.hide()
                box.show()
        text = as_text(sample.get("input"))
        mono = self._mono_choice.get(self.eval_set)
        self._apply_monospace(looks_preformatted(text) if mono is None else mono)
        self.input_view.set_plain(text, whitespace=on, invisibles=on)
        self.reference_view.set_plain(as_text(sample.get("reference")), whitespace=on, invisibles=on)
