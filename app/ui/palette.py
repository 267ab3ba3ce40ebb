"""The change-class and status palette for the UI: see signoff.core.palette (plain data, shared with the report)."""

from __future__ import annotations

from signoff.core.palette import (CLASS_STYLE, DELETE_TINT, INSERT_TINT, STATUS_STYLE, VERDICT_WORDS, class_colour,
                              class_symbol, contrast, relative_luminance)

__all__ = ["CLASS_STYLE", "DELETE_TINT", "INSERT_TINT", "STATUS_STYLE", "VERDICT_WORDS", "class_colour", "class_symbol",
           "contrast", "relative_luminance"]
