"""The image renderer: outputs compared by their bytes, shown side by side,
as a swipe, as an onion skin, or as a difference heatmap, with zoom.

Image bytes are untrusted: they are decoded by signoff.ui.image_view.decode_image
(QImageReader: header first, a pixel limit, Qt's allocation limit)."""

from __future__ import annotations

import hashlib
from typing import Any

from signoff.plugin_api import Renderer


class ImageRenderer(Renderer):
    NAME = "image"
    OUTPUT_TYPE = "image"

    @staticmethod
    def normalise(value: Any) -> Any:
        """Images are equal when their bytes are (a SHA-256 of them)."""
        if value is None or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, str):
            value = value.encode()
        return hashlib.sha256(bytes(value)).hexdigest()

    def create_view(self, parent=None):
        from .view import ImageOutputView  # Qt only here, on demand

        return ImageOutputView(parent)
