"""The text diff view: left | right, word-level marks, one scroll. The text renderer's view,
and the detail pane's fallback for an output type no renderer shows (so it lives here, in the
renderer SDK, not in a plugin the pane would import back)."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from signoff.core.shown import Shown
from signoff.ui.diff_view import TextDiffWidget
from signoff.ui.output_view import OutputView, as_text, side_title


class TextOutputView(OutputView):
    def __init__(self, parent: QWidget | None = None, *, monospace: bool = False):
        super().__init__(parent)
        self.diff = TextDiffWidget()
        self.diff.set_monospace(monospace)
        self.diff.invisiblesFound.connect(self.invisiblesFound)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.diff)

    def show_sample(self, shown: Shown) -> None:
        self.shown = shown
        self.diff.set_show_invisibles(self.show_invisibles)
        left, right = shown.sides
        self.diff.set_titles(side_title(left), side_title(right))
        self.diff.set_texts(as_text(left.output), as_text(right.output))

    def clear(self) -> None:
        super().clear()
        self.diff.set_titles("", "")
        self.diff.set_texts("", "")

    def set_show_invisibles(self, on: bool) -> None:
        self.show_invisibles = on
        self.diff.set_show_invisibles(on)

    def text_content(self) -> str:
        a, b = self.diff.plain_texts()
        return "\n".join([self.diff.baseline_title.text(), a, self.diff.candidate_title.text(), b])

    # The word-diff widget's own API, for callers that use the view as a plain text differ.
    def set_texts(self, left: str | None, right: str | None) -> None:
        self.diff.set_texts(left, right)

    def plain_texts(self) -> tuple[str, str]:
        return self.diff.plain_texts()
