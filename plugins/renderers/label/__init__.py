"""The label renderer (classification): each model's label beside the
reference, with score bars from the score and the predictions' other
columns (confidence, per-class probabilities) when they are there."""

from __future__ import annotations

from signoff.plugin_api import Renderer


class LabelRenderer(Renderer):
    NAME = "label"
    OUTPUT_TYPE = "label"

    def create_view(self, parent=None):
        from .view import LabelOutputView  # Qt only here, on demand

        return LabelOutputView(parent)
