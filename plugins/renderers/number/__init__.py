"""The number renderer: numbers and small tables of numbers, each model's
value beside the reference with its error (plugins/renderers/number/view.py;
the arithmetic is signoff.core.numbers)."""

from __future__ import annotations

from signoff.plugin_api import Renderer


class NumberRenderer(Renderer):
    NAME = "number"
    OUTPUT_TYPE = "number"

    def create_view(self, parent=None):
        from .view import NumberOutputView  # Qt only here, on demand

        return NumberOutputView(parent)
