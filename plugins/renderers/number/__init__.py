"""The number renderer: numbers and small tables of numbers, each model's
value beside the reference with its error (plugins/renderers/number/view.py;
the arithmetic is signoff.core.numbers)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from signoff.core.normalise import normalise as _normalise
from signoff.plugin_api import Renderer


class NumberRenderer(Renderer):
    NAME = "number"
    OUTPUT_TYPE = "number"

    @staticmethod
    def normalise(value: Any) -> Any:
        """Numbers compared as floats ("3" = "3.0"); text that is not a number as text."""
        return _normalise(pd.Series([value], dtype=object), "number").iloc[0]

    def create_view(self, parent=None):
        from .view import NumberOutputView  # Qt only here, on demand

        return NumberOutputView(parent)
