"""The renderer SDK: everything a renderer plugin's view may use of signoff.ui, in one module.

A renderer (entry-point group `signoff.renderers`, app/plugin_api.py `Renderer`) imports only
this module, signoff.core and signoff.plugin_api; its `create_view()` returns an `OutputView`
(the detail pane hands it one sample at a time as a `Shown`). Model values are shown as text
only: use `plain_label` / `plain_tooltip`, never rich text. The layer contract `plugins`
(pyproject [tool.importlinter]) lets plugins import this module and nothing else of signoff.ui.
"""

from __future__ import annotations

from signoff.core.shown import Shown, Side, is_missing
from signoff.ui.diff_view import DiffTextView, TextDiffWidget, plain_label, plain_tooltip
from signoff.ui.image_view import ImagePane, decode_image
from signoff.ui.output_view import (HIT_BACKGROUND, HIT_FOREGROUND, HIT_STYLE, OutputView, as_text, bold_label, fmt_score, hit,
                                    side_title, visible)
from signoff.ui.palette import DELETE_TINT, INSERT_TINT
from signoff.ui.text_output_view import TextOutputView

__all__ = [
    "Shown", "Side", "is_missing",
    "OutputView", "TextOutputView", "as_text", "bold_label", "fmt_score", "side_title", "visible",
    "HIT_BACKGROUND", "HIT_FOREGROUND", "HIT_STYLE", "hit",   # search hits (OutputView.show_search)
    "DiffTextView", "TextDiffWidget", "plain_label", "plain_tooltip",
    "ImagePane", "decode_image",
    "DELETE_TINT", "INSERT_TINT",
]
