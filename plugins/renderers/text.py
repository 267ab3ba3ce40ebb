"""The text renderer: outputs compared as they are, shown as a word diff."""

from __future__ import annotations

from typing import Any

from app.plugin_api import Renderer


class TextRenderer(Renderer):
    NAME = "text"
    OUTPUT_TYPE = "text"

    @staticmethod
    def normalise(value: Any) -> Any:
        """Text is compared exactly: whitespace and case are part of an output."""
        return value

    def create_view(self, parent=None):
        """A baseline | candidate widget with word-level differences (set_texts(a, b))."""
        from app.ui.diff_view import TextDiffWidget  # Qt only here, on demand

        return TextDiffWidget(parent)
