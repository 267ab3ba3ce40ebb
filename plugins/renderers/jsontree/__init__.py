"""The JSON renderer: outputs compared as JSON values (key order ignored: signoff.core.normalise),
shown as a structural diff: added, removed and changed keys and values."""

from __future__ import annotations

from signoff.plugin_api import Renderer


class JsonRenderer(Renderer):
    NAME = "json"
    OUTPUT_TYPE = "json"

    def create_view(self, parent=None):
        from .view import JsonOutputView  # Qt only here, on demand

        return JsonOutputView(parent)
