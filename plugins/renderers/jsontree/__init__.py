"""The JSON renderer: outputs compared as JSON values (key order ignored),
shown as a structural diff: added, removed and changed keys and values."""

from __future__ import annotations

from typing import Any

import pandas as pd

from signoff.core.normalise import normalise as _normalise
from signoff.plugin_api import Renderer


class JsonRenderer(Renderer):
    NAME = "json"
    OUTPUT_TYPE = "json"

    @staticmethod
    def normalise(value: Any) -> Any:
        """Canonical JSON text (sorted keys, no spaces); text that is not JSON stays text."""
        return _normalise(pd.Series([value], dtype=object), "json").iloc[0]

    def create_view(self, parent=None):
        from .view import JsonOutputView  # Qt only here, on demand

        return JsonOutputView(parent)
