"""The image view: four ways to compare two images, with zoom.

    side by side   left | right (and the reference, when the sample has one)
    swipe          one image over the other, split where the slider (or the mouse) says
    onion skin     right over left, at the slider's opacity
    difference     a heatmap of |left − right| (or of either against the reference),
                   with the share of changed pixels in words (signoff.core.imagediff)

Fit (default) scales to the pane, tiny images up by whole factors with no
smoothing, so pixels stay sharp; 1:1, + and − (Ctrl+wheel, Ctrl+= / Ctrl+−)
zoom, and the scroll area pans. Images of different sizes: the right one is
scaled to the left one's size for swipe, onion skin and difference, and the
view says so. Nothing is decoded without the limits of decode_image.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFrame, QHBoxLayout, QPushButton, QScrollArea, QSizePolicy,
                               QSlider, QVBoxLayout, QWidget)

from signoff.core.imagediff import RAMP, DiffStats, difference
from signoff.core.shown import Shown
from signoff.ui.renderer_sdk import (HIT_BACKGROUND, HIT_FOREGROUND, HIT_STYLE, OutputView, decode_image, fmt_score, hit,
                                     plain_label, visible)

MODES = ("side by side", "swipe", "onion skin", "difference")
HEAT_MAX_PIXELS = 4_000_000       # larger images are compared on a scaled copy
ZOOMS = (0.125, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
GAP = 16


_CHECKER: QPixmap | None = None


def _checker() -> QPixmap:
    global _CHECKER
    if _CHECKER is None:
        pix = QPixmap(16, 16)
        pix.fill(QColor("#d0d0d0"))
        p = QPainter(pix)
        p.fillRect(0, 0, 8, 8, QColor("#a8a8a8"))
        p.fillRect(8, 8, 8, 8, QColor("#a8a8a8"))
        p.end()
        _CHECKER = pix
    return _CHECKER


def to_rgba_array(image: QImage) -> np.ndarray:
    """H×W×4 uint8 copy of a QImage."""
    img = image.convertToFormat(QImage.Format.Format_RGBA8888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 4].reshape(h, w, 4).copy()


def from_rgba_array(arr: np.ndarray) -> QImage:
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class ImageCanvas(QWidget):
    """Paints the current mode. Model images only ever reach it as decoded QImages."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.mode = MODES[0]
        self.left: QImage | None = None
        self.right: QImage | None = None
        self.reference: QImage | None = None
        self.heat: QImage | None = None
        self.names = ("", "")
        self.zoom: float | None = None       # None: fit
        self.split = 0.5
        self.opacity = 0.5
        self.heat_caption = ""
        self.hits: set[str] = set()          # panel names whose caption is drawn as a search hit
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(80, 80)
        self.setMouseTracking(False)
        self.on_zoom_wheel = None            # set by the view

    # --- geometry -------------------------------------------------------
    def _panels(self) -> list[tuple[QImage, str]]:
        if self.mode == "side by side":
            out = [(img, name) for img, name in ((self.left, self.names[0]), (self.right, self.names[1])) if img]
            if self.reference is not None:
                out.append((self.reference, "REFERENCE"))
            return out
        if self.mode == "difference":
            return [(self.heat, "")] if self.heat is not None else []
        base = self.left or self.right
        return [(base, "")] if base is not None else []

    def content_size(self) -> QSize:
        panels = self._panels()
        if not panels:
            return QSize(0, 0)
        return QSize(sum(p.width() for p, _ in panels) + GAP * (len(panels) - 1), max(p.height() for p, _ in panels))

    def caption_height(self) -> int:
        return self.fontMetrics().height() + 4

    def scale(self) -> float:
        if self.zoom is not None:
            return self.zoom
        size = self.content_size()
        if size.isEmpty():
            return 1.0
        avail_w = max(1, self.width() - 8 - GAP * max(0, len(self._panels()) - 1))
        avail_h = max(1, self.height() - 8 - self.caption_height())
        content_w = max(1, size.width() - GAP * max(0, len(self._panels()) - 1))
        s = min(avail_w / content_w, avail_h / size.height())
        return float(int(min(s, 32))) if s >= 1 else s     # whole factors up: sharp pixels

    def sizeHint(self) -> QSize:
        if self.zoom is None:
            return QSize(300, 200)
        size = self.content_size()
        s = self.zoom
        n = len(self._panels())
        return QSize(int((size.width() - GAP * max(0, n - 1)) * s + GAP * max(0, n - 1)) + 8,
                     int(size.height() * s) + self.caption_height() + 8)

    def image_rect(self) -> QRectF:
        """Where the (first) image is drawn, in widget coordinates."""
        s = self.scale()
        panels = self._panels()
        if not panels:
            return QRectF()
        n = len(panels)
        total_w = sum(p.width() * s for p, _ in panels) + GAP * (n - 1)
        x = max(4.0, (self.width() - total_w) / 2)
        y = 4.0 + self.caption_height()
        first = panels[0][0]
        return QRectF(x, y, first.width() * s, first.height() * s)

    # --- painting -------------------------------------------------------
    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        s = self.scale()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, s < 1)
        pal = self.palette()
        text_colour = pal.color(QPalette.ColorRole.WindowText)
        panels = self._panels()
        if not panels:
            p.setPen(text_colour)
            p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), "no image to show")
            p.end()
            return
        rect = self.image_rect()
        ch = self.caption_height()
        if self.mode == "side by side":
            x = rect.x()
            for img, name in panels:
                target = QRectF(x, rect.y(), img.width() * s, img.height() * s)
                self._frame(p, target)
                p.drawImage(target, img)
                caption = QRectF(x, rect.y() - ch, max(target.width(), 120), ch)
                p.setPen(text_colour)
                if name in self.hits:     # the search matched this image's file name or caption
                    width = self.fontMetrics().horizontalAdvance(f" {name} 🔍 ") + 4
                    p.fillRect(QRectF(caption.x(), caption.y(), width, caption.height()), QColor(HIT_BACKGROUND))
                    p.setPen(QColor(HIT_FOREGROUND))
                    name = f"{name} 🔍"
                p.drawText(caption, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom), name)
                x += target.width() + GAP
        elif self.mode == "swipe":
            self._frame(p, rect)
            left = self.left
            right = self._right_scaled()
            split_x = rect.x() + rect.width() * self.split
            if left is not None:
                p.save()
                p.setClipRect(QRectF(rect.x(), rect.y(), split_x - rect.x(), rect.height()))
                p.drawImage(rect, left)
                p.restore()
            if right is not None:
                p.save()
                p.setClipRect(QRectF(split_x, rect.y(), rect.right() - split_x, rect.height()))
                p.drawImage(rect, right)
                p.restore()
            pen = QPen(QColor("#FFFFFF"))
            pen.setWidth(3)
            p.setPen(pen)
            p.drawLine(QPointF(split_x, rect.y()), QPointF(split_x, rect.bottom()))
            pen = QPen(QColor("#000000"))
            pen.setWidth(1)
            p.setPen(pen)
            p.drawLine(QPointF(split_x, rect.y()), QPointF(split_x, rect.bottom()))
            p.setPen(text_colour)
            p.drawText(QRectF(rect.x(), rect.y() - ch, rect.width(), ch),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom), f"◀ {self.names[0]}")
            p.drawText(QRectF(rect.x(), rect.y() - ch, rect.width(), ch),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom), f"{self.names[1]} ▶")
        elif self.mode == "onion skin":
            self._frame(p, rect)
            if self.left is not None:
                p.drawImage(rect, self.left)
            right = self._right_scaled()
            if right is not None:
                p.setOpacity(self.opacity)
                p.drawImage(rect, right)
                p.setOpacity(1.0)
            p.setPen(text_colour)
            p.drawText(QRectF(rect.x(), rect.y() - ch, max(rect.width(), 300), ch),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
                       f"{self.names[1]} at {self.opacity:.0%} over {self.names[0]}")
        else:  # difference
            self._frame(p, rect)
            p.drawImage(rect, self.heat)
            p.setPen(text_colour)
            p.drawText(QRectF(rect.x(), rect.y() - ch, max(rect.width(), 300), ch),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom), self.heat_caption)
        p.end()

    def _frame(self, p: QPainter, rect: QRectF) -> None:
        # A checkerboard under the image, so transparency and black images both show.
        p.fillRect(rect, QBrush(_checker()))

    def _right_scaled(self) -> QImage | None:
        if self.right is None or self.left is None or self.right.size() == self.left.size():
            return self.right
        return self.right.scaled(self.left.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)

    # --- mouse ----------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        self._swipe_to(event.position().x())

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._swipe_to(event.position().x())

    def _swipe_to(self, x: float) -> None:
        if self.mode != "swipe":
            return
        rect = self.image_rect()
        if rect.width() > 0:
            self.split = max(0.0, min(1.0, (x - rect.x()) / rect.width()))
            self.update()
            if self.on_split is not None:
                self.on_split(self.split)

    on_split = None

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self.on_zoom_wheel is not None:
            self.on_zoom_wheel(1 if event.angleDelta().y() > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)


class ImageOutputView(OutputView):
    MODES = MODES

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = ImageCanvas()
        self.canvas.on_zoom_wheel = self.zoom
        self.canvas.on_split = lambda v: self._set_slider(v)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.canvas)
        self.scroll.setWidgetResizable(True)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.mode_group = QButtonGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(4)
        for i, m in enumerate(MODES):
            b = QPushButton(m)
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setToolTip(f"{m} (V cycles the modes)")
            self.mode_group.addButton(b, i)
            self.mode_buttons[m] = b
            bar.addWidget(b)
        self.mode_group.idClicked.connect(lambda i: self.set_mode(MODES[i]))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider_label = plain_label("")
        self.heat_pair = QComboBox()
        self.heat_pair.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.heat_pair.setAccessibleName("difference of")
        self.heat_pair.currentIndexChanged.connect(lambda _i: self._update_heat())
        bar.addSpacing(8)
        bar.addWidget(self.slider_label)
        bar.addWidget(self.slider)
        bar.addWidget(self.heat_pair)
        bar.addStretch(1)
        zoom_bar = QHBoxLayout()
        zoom_bar.setContentsMargins(0, 0, 0, 0)
        zoom_bar.setSpacing(2)
        self.zoom_label = plain_label("fit")
        for text, tip, fn in (("Fit", "fit to the pane (Ctrl+9)", self.zoom_fit),
                              ("1:1", "actual pixels", lambda: self.set_zoom(1.0)),
                              ("−", "zoom out (Ctrl+−, Ctrl+wheel)", lambda: self.zoom(-1)),
                              ("+", "zoom in (Ctrl+=, Ctrl+wheel)", lambda: self.zoom(1))):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMaximumWidth(40)
            b.clicked.connect(lambda _c=False, f=fn: f())
            zoom_bar.addWidget(b)
        zoom_bar.addWidget(self.zoom_label)
        self.slider.setMinimumWidth(60)
        self.slider.setMaximumWidth(140)

        self.info = plain_label("")
        self.info.setWordWrap(True)
        self.hit_note = plain_label("")      # what the search matched here (captions are not text editors)
        self.hit_note.setWordWrap(True)
        self.hit_note.setStyleSheet(HIT_STYLE)
        self.hit_note.setAccessibleName("search matched in the images")
        self.hit_note.hide()
        self._needle = ""
        self.search_hits: list[str] = []     # names of the panels whose caption matched
        self.stats_label = plain_label("")
        self.stats_label.setWordWrap(True)
        self.legend = HeatLegend()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addLayout(bar)
        lay.addWidget(self.scroll, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.stats_label, 1)
        bottom.addWidget(self.legend)
        bottom.addLayout(zoom_bar)
        lay.addLayout(bottom)
        lay.addWidget(self.info)
        lay.addWidget(self.hit_note)
        self.problems: dict[str, str] = {}
        self.stats: DiffStats | None = None
        self._heat_dirty = False
        self._mode_changed()

    # --- data -----------------------------------------------------------
    def show_sample(self, shown: Shown) -> None:
        self.shown = shown
        left, right = shown.sides
        self.problems = {}
        decoded = {}
        for key, data, name in (("left", left.output_bytes, left.name), ("right", right.output_bytes, right.name),
                                ("reference", shown.reference_bytes, "REFERENCE")):
            img, why = decode_image(data)
            decoded[key] = img
            if img is None and key != "reference":
                self.problems[key] = f"{name}: {why}"
            elif img is None and data is not None and not isinstance(data, float):
                self.problems[key] = f"REFERENCE: {why}"
        c = self.canvas
        c.left, c.right, c.reference = decoded["left"], decoded["right"], decoded["reference"]
        c.names = (left.name, right.name)
        infos = []
        for side, img in ((left, c.left), (right, c.right)):
            bits = [side.name]
            score = fmt_score(side.score)
            if score:
                bits.append(f"score {score}")
            bits.append(f"{img.width()} × {img.height()}" if img is not None else "no image")
            cap = "" if side.output is None or isinstance(side.output, float) else str(side.output)
            if cap:
                bits.append(cap)
            infos.append(" · ".join(bits))
        problems = list(self.problems.values())
        if c.left is not None and c.right is not None and c.left.size() != c.right.size():
            problems.append(f"sizes differ: {right.name} is scaled to {left.name}'s size for swipe, onion skin and difference")
        self.info.setText("    ".join(infos) + ("\n⚠ " + "; ".join(problems) if problems else ""))
        self.heat_pair.blockSignals(True)
        current = self.heat_pair.currentIndex()
        self.heat_pair.clear()
        self.heat_pair.addItem(f"{left.name} vs {right.name}", ("left", "right"))
        if c.reference is not None:
            self.heat_pair.addItem(f"{left.name} vs reference", ("left", "reference"))
            self.heat_pair.addItem(f"{right.name} vs reference", ("right", "reference"))
        self.heat_pair.setCurrentIndex(current if 0 <= current < self.heat_pair.count() else 0)
        self.heat_pair.blockSignals(False)
        self._heat_dirty = True
        if self.mode == "difference":          # computed when it is looked at, not on every keystroke
            self._update_heat()
        self._mark_hits()
        self._relayout()

    # --- search hits ----------------------------------------------------
    def show_search(self, needle: str) -> int:
        self._needle = needle
        self._mark_hits()
        self.canvas.update()
        return len(self.search_hits)

    def _captions(self) -> list[tuple[str, str]]:
        """(panel name, caption text) of each image: its file name or URI when the output is text."""
        if self.shown is None:
            return []
        left, right = self.shown.sides
        ref = self.shown.reference
        out = [(side.name, str(side.output)) for side in (left, right)
               if isinstance(side.output, str) and side.output]
        if isinstance(ref, str) and ref:
            out.append(("REFERENCE", ref))
        return out

    def _mark_hits(self) -> None:
        """Captions that hold the needle: the panel's name drawn on amber in the side-by-side view,
        and a line under the images naming them, amber under near-black text."""
        found = [(name, text) for name, text in self._captions() if hit(text, self._needle)]
        self.search_hits = [name for name, _ in found]
        self.canvas.hits = set(self.search_hits)
        if found:
            self.hit_note.setText(f"search “{self._needle}” matched the caption of "
                                  + "; ".join(f"{name}: {visible(text, False)}" for name, text in found))
            self.hit_note.show()
        else:
            self.hit_note.setText("")
            self.hit_note.hide()

    def clear(self) -> None:
        super().clear()
        c = self.canvas
        c.left = c.right = c.reference = c.heat = None
        self._mark_hits()
        self.info.setText("")
        self.stats_label.setText("")
        self.stats = None
        c.update()

    def has_image(self, side: str) -> bool:
        return getattr(self.canvas, side) is not None

    def _update_heat(self) -> None:
        self._heat_dirty = False
        c = self.canvas
        pair = self.heat_pair.currentData() or ("left", "right")
        a, b = getattr(c, pair[0]), getattr(c, pair[1])
        names = {"left": c.names[0], "right": c.names[1], "reference": "reference"}
        self.stats = None
        c.heat = None
        if a is None or b is None:
            missing = names[pair[0]] if a is None else names[pair[1]]
            self.stats_label.setText(f"no difference image: {missing} has no image" if self.shown else "")
        else:
            if b.size() != a.size():
                b = b.scaled(a.size(), Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
            note = ""
            if a.width() * a.height() > HEAT_MAX_PIXELS:
                factor = (HEAT_MAX_PIXELS / (a.width() * a.height())) ** 0.5
                size = QSize(max(1, int(a.width() * factor)), max(1, int(a.height() * factor)))
                a = a.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
                b = b.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
                note = f" (computed on a {size.width()} × {size.height()} copy)"
            diff = difference(to_rgba_array(a), to_rgba_array(b))
            c.heat = from_rgba_array(diff.heat)
            self.stats = diff.stats
            c.heat_caption = f"difference: {names[pair[0]]} vs {names[pair[1]]}"
            self.stats_label.setText(f"{names[pair[0]]} vs {names[pair[1]]}: {diff.stats.words()}{note}")
        self.legend.setVisible(self.mode == "difference" and c.heat is not None)
        c.update()

    # --- modes and zoom -------------------------------------------------
    def _mode_changed(self) -> None:
        self.canvas.mode = self.mode
        if self.mode == "difference" and getattr(self, "_heat_dirty", False):
            self._update_heat()
        b = self.mode_buttons.get(self.mode)
        if b is not None and not b.isChecked():
            b.setChecked(True)
        swipe, onion = self.mode == "swipe", self.mode == "onion skin"
        self.slider.setVisible(swipe or onion)
        self.slider_label.setVisible(swipe or onion)
        self.slider_label.setText("split" if swipe else "opacity")
        self.slider.blockSignals(True)
        self.slider.setValue(round((self.canvas.split if swipe else self.canvas.opacity) * 100))
        self.slider.blockSignals(False)
        self.heat_pair.setVisible(self.mode == "difference")
        self.stats_label.setVisible(self.mode == "difference")
        self.legend.setVisible(self.mode == "difference" and self.canvas.heat is not None)
        self._relayout()

    def _slider_moved(self, value: int) -> None:
        if self.mode == "swipe":
            self.canvas.split = value / 100
        else:
            self.canvas.opacity = value / 100
        self.canvas.update()

    def _set_slider(self, fraction: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(fraction * 100))
        self.slider.blockSignals(False)

    def set_zoom(self, zoom: float | None) -> None:
        self.canvas.zoom = zoom
        self._relayout()

    def zoom(self, step: int) -> bool:
        current = self.canvas.scale()
        if step > 0:
            bigger = [z for z in ZOOMS if z > current + 1e-9]
            self.set_zoom(bigger[0] if bigger else ZOOMS[-1])
        else:
            smaller = [z for z in ZOOMS if z < current - 1e-9]
            self.set_zoom(smaller[-1] if smaller else ZOOMS[0])
        return True

    def zoom_fit(self) -> bool:
        self.set_zoom(None)
        return True

    def _relayout(self) -> None:
        c = self.canvas
        fit = c.zoom is None
        self.scroll.setWidgetResizable(fit)
        if not fit:
            c.resize(c.sizeHint())
        self.zoom_label.setText("fit" if fit else f"{c.zoom:g}×")
        c.updateGeometry()
        c.update()

    def difference_stats(self) -> DiffStats | None:
        """The heatmap's numbers (computed now if the difference mode has not been shown yet)."""
        if self._heat_dirty:
            self._update_heat()
        return self.stats

    def text_content(self) -> str:
        if self.mode == "difference":
            return "\n".join([self.info.text(), self.stats_label.text()])
        return self.info.text()


class HeatLegend(QWidget):
    """The heatmap's ramp with words at both ends (colour is never alone)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFixedHeight(self.fontMetrics().height() + 6)
        self.setMinimumWidth(260)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        fm = self.fontMetrics()
        left, right = "same", "most different"
        lw, rw = fm.horizontalAdvance(left) + 6, fm.horizontalAdvance(right) + 6
        bar = QRect(lw, 3, max(10, self.width() - lw - rw), self.height() - 6)
        for i in range(bar.width()):
            v = int(i * 255 / max(1, bar.width() - 1))
            r, g, b = (int(x) for x in RAMP[v])
            p.setPen(QColor(r, g, b))
            p.drawLine(bar.x() + i, bar.y(), bar.x() + i, bar.bottom())
        p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        p.drawText(QRect(0, 0, lw, self.height()), int(Qt.AlignmentFlag.AlignVCenter), left)
        p.drawText(QRect(bar.right() + 6, 0, rw, self.height()), int(Qt.AlignmentFlag.AlignVCenter), right)
        p.end()
