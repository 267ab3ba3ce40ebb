"""Render resources/icons/signoff.svg to the PNG sizes, the Windows .ico and a preview.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py

Run it after changing the SVG and commit the results (the build does not run it).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return bytes(data)


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841  (QImage/QPainter need it)
    renderer = QSvgRenderer(str(ICONS / "signoff.svg"))
    if not renderer.isValid():
        print("signoff.svg does not parse", file=sys.stderr)
        return 1
    for size in SIZES:
        (ICONS / f"signoff-{size}.png").write_bytes(png_bytes(render(renderer, size)))
    from PIL import Image  # Pillow is a dependency of Signoff already

    big = Image.open(io.BytesIO(png_bytes(render(renderer, 256))))
    big.save(ICONS / "signoff.ico", sizes=[(s, s) for s in ICO_SIZES])
    print(f"wrote {len(SIZES)} PNGs and signoff.ico to {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
