"""Side-by-side text with word-level differences marked.

Model outputs are untrusted: every character reaches the screen through
QTextCursor.insertText(text, QTextCharFormat) on a read-only QTextEdit, never
setHtml / rich text, so `<b>`, `<img …>` or `<script>` in an output are
shown as the characters they are. The marks are char formats: removed text
gets a translucent vermillion tint and strike-through, added text a
translucent blue tint and underline (colour never the only cue).

The two sides scroll together. Each paragraph keeps its own direction
(Qt detects it from the first strong character), so Arabic or Hebrew reads
and aligns right to left beside English.
"""

from __future__ import annotations

import html
from typing import Iterable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QTextCharFormat, QTextCursor, QTextDocument, QTextOption
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QTextEdit, QVBoxLayout, QWidget

from signoff.core.textdiff import Span, diff_words, has_hidden_characters, make_visible
from signoff.ui.palette import DELETE_TINT, INSERT_TINT


# Outputs longer than this are shown cut, with a note (a 1 MB output takes ~2 s to lay out).
MAX_DISPLAY_CHARS = 1_000_000


def _clip(text: str) -> str:
    if len(text) <= MAX_DISPLAY_CHARS:
        return text
    return text[:MAX_DISPLAY_CHARS] + f"\n\n[… {len(text) - MAX_DISPLAY_CHARS:,} more characters not shown]"


def plain_tooltip(text: str) -> str:
    """A tooltip that shows `text` as it is: Qt guesses rich text for tooltips
    (Qt::mightBeRichText), so untrusted text is escaped inside a <qt> block."""
    body = html.escape(str(text), quote=False).replace("\n", "<br>")
    return f"<qt><span style='white-space:pre-wrap'>{body}</span></qt>"


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A QLabel that never interprets its text as rich text."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    return label


def _formats() -> dict[str, QTextCharFormat]:
    equal = QTextCharFormat()
    delete = QTextCharFormat()
    delete.setBackground(QColor(*DELETE_TINT))
    delete.setFontStrikeOut(True)
    insert = QTextCharFormat()
    insert.setBackground(QColor(*INSERT_TINT))
    insert.setFontUnderline(True)
    insert.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SingleUnderline)
    return {"equal": equal, "delete": delete, "insert": insert}


class DiffTextView(QTextEdit):
    """Read-only text built from diff spans (plain-text runs, never HTML).

    A QTextEdit rather than a QPlainTextEdit: only its layout gives each
    paragraph its own direction, so Arabic lines align right beside
    English ones. It never accepts rich text (setAcceptRichText(False)),
    and nothing here calls setHtml.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setAcceptRichText(False)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self._formats = _formats()
        # A read-only view must not swallow the review keys (1-4, j/k, …):
        # it only keeps the keys text selection needs.
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def set_spans(self, spans: Iterable[Span], *, whitespace: bool = False, invisibles: bool = False) -> None:
        # Filled while detached, then swapped in: inserting into the shown document
        # re-lays it out as it grows (a 200 KB output took 0.6 s that way, 0.1 s so).
        old = self.document()
        doc = QTextDocument(self)
        doc.setDefaultFont(self.font())
        doc.setDefaultTextOption(old.defaultTextOption())
        doc.setDocumentMargin(old.documentMargin())
        doc.setUndoRedoEnabled(False)
        cursor = QTextCursor(doc)
        cursor.beginEditBlock()
        for span in spans:
            text = make_visible(span.text, whitespace=whitespace, invisibles=invisibles)
            cursor.insertText(text, self._formats.get(span.op, self._formats["equal"]))
        cursor.endEditBlock()
        self.setDocument(doc)       # the old document was the editor's child: Qt deletes it
        self.moveCursor(QTextCursor.MoveOperation.Start)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.document().setDefaultFont(self.font())

    def set_plain(self, text: str, *, whitespace: bool = False, invisibles: bool = False) -> None:
        self.set_spans([Span("equal", text or "")], whitespace=whitespace, invisibles=invisibles)


class TextDiffWidget(QWidget):
    """Baseline | candidate, scrolled together, with the word diff marked."""

    invisiblesFound = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.baseline_title = plain_label("BASELINE")
        self.candidate_title = plain_label("CANDIDATE")
        for t in (self.baseline_title, self.candidate_title):
            f = t.font()
            f.setBold(True)
            t.setFont(f)
        self.baseline_view = DiffTextView()
        self.candidate_view = DiffTextView()
        self.baseline_view.setAccessibleName("baseline output")
        self.candidate_view.setAccessibleName("candidate output")

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.setSpacing(2)
        lv.addWidget(self.baseline_title)
        lv.addWidget(self.baseline_view)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.setSpacing(2)
        rv.addWidget(self.candidate_title)
        rv.addWidget(self.candidate_view)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setChildrenCollapsible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self._syncing = False
        self.baseline_view.verticalScrollBar().valueChanged.connect(
            lambda v: self._sync(self.baseline_view, self.candidate_view))
        self.candidate_view.verticalScrollBar().valueChanged.connect(
            lambda v: self._sync(self.candidate_view, self.baseline_view))
        self._texts: tuple[str, str] = ("", "")
        self._show_invisibles = False
        self._monospace = False

    # Same scroll: by fraction, since wrapped lines differ per side.
    def _sync(self, source: DiffTextView, target: DiffTextView) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            s, t = source.verticalScrollBar(), target.verticalScrollBar()
            frac = 0.0 if s.maximum() <= 0 else s.value() / s.maximum()
            t.setValue(round(frac * t.maximum()))
        finally:
            self._syncing = False

    def set_titles(self, baseline: str, candidate: str) -> None:
        self.baseline_title.setText(baseline)
        self.candidate_title.setText(candidate)

    def set_monospace(self, on: bool) -> None:
        self._monospace = on
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont) if on else QFont()
        for v in (self.baseline_view, self.candidate_view):
            v.setFont(font)

    def set_show_invisibles(self, on: bool) -> None:
        if on != self._show_invisibles:
            self._show_invisibles = on
            self._render()

    def set_texts(self, baseline: str | None, candidate: str | None) -> None:
        self._texts = (_clip("" if baseline is None else str(baseline)),
                       _clip("" if candidate is None else str(candidate)))
        self._render()
        self.invisiblesFound.emit(has_hidden_characters(self._texts[0]) or has_hidden_characters(self._texts[1]))

    def _render(self) -> None:
        a, b = self._texts
        diff = diff_words(a, b)
        opts = dict(whitespace=self._show_invisibles, invisibles=self._show_invisibles)
        self.baseline_view.set_spans(diff.baseline, **opts)
        self.candidate_view.set_spans(diff.candidate, **opts)

    def plain_texts(self) -> tuple[str, str]:
        return self.baseline_view.toPlainText(), self.candidate_view.toPlainText()
