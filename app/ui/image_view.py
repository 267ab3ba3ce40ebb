"""Images from model outputs, decoded defensively.

The bytes are untrusted (an output may be a decompression bomb or not an
image at all): QImageReader reads the header first, the size is checked
before anything is decoded, and Qt's allocation limit caps what a decoder
may allocate. A bad image becomes a message in place of the picture.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageReader, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

MAX_PIXELS = 40_000_000          # 40 megapixels
MAX_BYTES = 64 * 1024 * 1024     # encoded size
ALLOCATION_LIMIT_MB = 256        # what any Qt image decoder may allocate


def decode_image(data, *, max_pixels: int = MAX_PIXELS) -> tuple[QImage | None, str]:
    """(image, "") or (None, why not)."""
    if data is None:
        return None, "no image"
    try:
        raw = bytes(data)
    except (TypeError, ValueError):
        return None, "no image"
    if not raw:
        return None, "empty image"
    if len(raw) > MAX_BYTES:
        return None, f"image file too large ({len(raw) / 1e6:.0f} MB)"
    QImageReader.setAllocationLimit(ALLOCATION_LIMIT_MB)
    ba = QByteArray(raw)
    buf = QBuffer()
    buf.setData(ba)
    buf.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buf)
    reader.setDecideFormatFromContent(True)
    if not reader.canRead():
        return None, "not an image Qt can read"
    size: QSize = reader.size()
    if not size.isValid():
        return None, f"unreadable image header ({reader.errorString()})"
    if size.width() * size.height() > max_pixels:
        return None, f"image refused: {size.width():,} × {size.height():,} pixels is over the {max_pixels / 1e6:.0f} MP limit"
    image = reader.read()
    if image.isNull():
        return None, f"image could not be decoded: {reader.errorString()}"
    return image, ""


class ImagePane(QWidget):
    """One image with a caption; scales down to fit, tiny images up by whole factors."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(title)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.picture = QLabel()
        self.picture.setTextFormat(Qt.TextFormat.PlainText)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(64, 64)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setWordWrap(True)
        self.info = QLabel()
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.info)
        self._image: QImage | None = None

    def set_image(self, data, caption: str = "") -> bool:
        image, why = decode_image(data)
        self._image = image
        if image is None:
            self.picture.setPixmap(QPixmap())
            self.picture.setText(why)
            self.info.setText(caption)
            return False
        self.picture.setText("")
        self.info.setText(f"{caption}  {image.width()} × {image.height()}".strip())
        self._rescale()
        return True

    def has_image(self) -> bool:
        return self._image is not None

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._image is None:
            return
        target = self.picture.size()
        if target.width() < 8 or target.height() < 8:
            return
        pix = QPixmap.fromImage(self._image)
        if pix.width() > target.width() or pix.height() > target.height():
            pix = pix.scaled(target, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        elif pix.width() * 2 <= target.width() and pix.height() * 2 <= target.height():
            # Tiny images: enlarge by whole factors with no smoothing so pixels stay visible.
            factor = max(1, min(target.width() // max(pix.width(), 1), target.height() // max(pix.height(), 1), 8))
            pix = pix.scaled(pix.width() * factor, pix.height() * factor, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.FastTransformation)
        self.picture.setPixmap(pix)
