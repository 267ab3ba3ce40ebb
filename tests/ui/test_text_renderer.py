"""The built-in text renderer plugin (plugins/renderers/text.py)."""

from __future__ import annotations

import pytest

from signoff.plugin_api import Renderer
from signoff.plugins.renderers.text import TextRenderer


def test_text_renderer_metadata():
    assert issubclass(TextRenderer, Renderer)
    assert TextRenderer.NAME == "text" and TextRenderer.OUTPUT_TYPE == "text"
    assert not hasattr(Renderer, "normalise")   # what counts as unchanged is the comparison's (signoff.core.normalise)


@pytest.mark.gui
def test_text_renderer_view_shows_a_word_diff(qtbot):
    view = TextRenderer().create_view()
    qtbot.addWidget(view)
    view.set_texts("one two three", "one 2 three <b>x</b>")
    assert view.plain_texts() == ("one two three", "one 2 three <b>x</b>")
