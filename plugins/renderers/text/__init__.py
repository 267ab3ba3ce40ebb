"""The text renderer: outputs compared as they are, shown as a word diff."""

from __future__ import annotations

from typing import Any

from signoff.plugin_api import Renderer


class TextRenderer(Renderer):
    NAME = "text"
    OUTPUT_TYPE = "text"

    @staticmethod
    def normalise(value: Any) -> Any:
        """Text is compared exactly: whitespace and case are part of an output."""
        return value

    def create_view(self, parent=None):
        """Left | right with word-level differences, scrolled together (plugins/renderers/text/view.py)."""
        from .view import TextOutputView  # Qt only here, on demand

        return TextOutputView(parent)
