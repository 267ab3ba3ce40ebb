"""The built-in text renderer plugin (plugins/renderers/text.py)."""

from __future__ import annotations

import pytest

from signoff.plugin_api import Renderer
from signoff.plugins.renderers.text import TextRenderer


def test_text_renderer_metadata_and_normalise():
    assert issubclass(TextRenderer, Renderer)
    assert TextRenderer.NAME == "text" and TextRenderer.OUTPUT_TYPE == "text"
    assert TextRenderer.normalise(" A b ") == " A b "


@pytest.mark.gui
def test_text_renderer_view_shows_a_word_diff(qtbot):
    view = TextRenderer().create_view()
    qtbot.addWidget(view)
    view.set_texts("one two three", "one 2 three <b>x</b>")
    assert view.plain_texts() == ("one two three", "one 2 three <b>x</b>")
