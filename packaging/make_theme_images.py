"""The dark theme's indicator images (resources/themes/*.png), drawn with Qt:

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_theme_images.py

PNG, not SVG: a bundle need not carry Qt's SVG image plugin (as the icons, see
app/ui/about_dialog.py). Drawn at 28 px; the stylesheet scales them into 14 px indicators,
so they stay sharp at 200 %."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen

OUT = Path(__file__).resolve().parents[1] / "resources" / "themes"
SIZE = 28


def draw(name: str, paint) -> None:
    image = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    paint(p)
    p.end()
    image.save(str(OUT / name))


def check(p: QPainter) -> None:
    pen = QPen(QColor("#101010"), 4.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    path = QPainterPath(QPointF(5, 15))
    path.lineTo(11.2, 21)
    path.lineTo(23, 7)
    p.drawPath(path)


def partial(p: QPainter) -> None:
    p.fillRect(QRectF(6, 12, 16, 4.8), QColor("#56B4E9"))


def dot(p: QPainter) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#56B4E9"))
    p.drawEllipse(QRectF(6, 6, 16, 16))


if __name__ == "__main__":
    app = QGuiApplication(sys.argv)
    draw("check-dark.png", check)
    draw("partial-dark.png", partial)
    draw("dot-dark.png", dot)
