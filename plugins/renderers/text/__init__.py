"""The text renderer: outputs compared as they are, shown as a word diff."""

from __future__ import annotations

from signoff.plugin_api import Renderer


class TextRenderer(Renderer):
    NAME = "text"
    OUTPUT_TYPE = "text"

    def create_view(self, parent=None):
        """Left | right with word-level differences, scrolled together (the renderer SDK's own view)."""
        from signoff.ui.renderer_sdk import TextOutputView  # Qt only here, on demand

        return TextOutputView(parent)
