"""The image renderer: outputs compared by their bytes, shown side by side,
as a swipe, as an onion skin, or as a difference heatmap, with zoom.

Image bytes are untrusted: they are decoded by the renderer SDK's decode_image
(QImageReader: header first, a pixel limit, Qt's allocation limit)."""

from __future__ import annotations

from signoff.plugin_api import Renderer


class ImageRenderer(Renderer):
    NAME = "image"
    OUTPUT_TYPE = "image"

    def create_view(self, parent=None):
        from .view import ImageOutputView  # Qt only here, on demand

        return ImageOutputView(parent)
