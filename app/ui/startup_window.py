"""The start-up window (app/ui/startup.py shows it before anything heavy is imported): the icon,
the name, one line of progress; on a failure the one-line message with Settings…, Retry and Quit.
Imports only PySide6 and signoff.resources, as startup.py must."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

STORE_HINT = "Check the store in Settings… (or SIGNOFF_DATABASE_URL), then Retry."
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
DEFAULT_SIZE = (1440, 860)          # MainWindow's own default size


def saved_geometry():
    """The main window's geometry as signoff.ui.layout saved it (None when there is none of this layout version)."""
    try:
        from signoff.ui.layout import GROUP, LAYOUT_VERSION, layout_settings

        s = layout_settings()
        s.beginGroup(GROUP)
        try:
            if int(s.value("version", 0) or 0) != LAYOUT_VERSION:
                return None
            return s.value("geometry")
        finally:
            s.endGroup()
    except Exception:  # a broken layout.ini: the default size
        return None


def app_icon() -> QIcon:
    """The Signoff icon from resources/icons (as signoff.ui.about_dialog.app_icon, without its imports)."""
    from signoff.resources import ROOT

    icon = QIcon()
    for size in ICON_SIZES:
        path = ROOT / "icons" / f"signoff-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon



class StartupWindow(QWidget):
    """What shows while the workbench loads: the icon, the name, one line of progress; on a failure
    the message with Settings…, Retry and Quit."""

    painted = Signal()             # the first paint: the window is on the screen
    closed = Signal()
    retryRequested = Signal()
    settingsRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Signoff")
        self.setObjectName("startup")
        icon = app_icon()
        self.setWindowIcon(icon)
        self._handed_over = False
        FirstPaint(self, self.painted.emit)    # an event filter, gone after the first paint

        logo = QLabel()
        logo.setPixmap(icon.pixmap(96, 96))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Signoff")
        title.setTextFormat(Qt.TextFormat.PlainText)
        f = title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.8)
        title.setFont(f)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel("Loading the workbench…")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setMinimumWidth(560)
        self.message.setMaximumWidth(760)
        self.message.setAccessibleName("start-up progress")
        self.hint = QLabel(STORE_HINT)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setEnabled(False)         # dimmed
        self.hint.hide()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(320)

        self.settings_button = QPushButton("Settings…")
        self.retry_button = QPushButton("Retry")
        self.quit_button = QPushButton("Quit")
        self.settings_button.clicked.connect(self.settingsRequested)
        self.retry_button.clicked.connect(self.retryRequested)
        self.quit_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.settings_button, self.retry_button, self.quit_button):
            buttons.addWidget(b)
            b.hide()
        buttons.addStretch(1)

        lay = QVBoxLayout(self)
        lay.addStretch(2)
        lay.addWidget(logo)
        lay.addWidget(title)
        lay.addSpacing(12)
        # Centred by stretches, not an alignment flag: with one, a word-wrapped label keeps the
        # height of a single line and a long store error is cut after its first line.
        middle = QHBoxLayout()
        middle.addStretch(1)
        middle.addWidget(self.message, 4)
        middle.addStretch(1)
        lay.addLayout(middle)
        lay.addWidget(self.hint, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.bar, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addLayout(buttons)
        lay.addStretch(3)

        geometry = saved_geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*DEFAULT_SIZE)

    @property
    def failed(self) -> bool:
        return self.quit_button.isVisible()

    def show_progress(self, text: str) -> None:
        self.message.setText(text)
        self.hint.hide()
        self.bar.show()
        for b in (self.settings_button, self.retry_button, self.quit_button):
            b.hide()

    def show_failure(self, text: str, hint: str = STORE_HINT) -> None:
        self.message.setText(text)
        self.hint.setText(hint)
        self.bar.hide()
        self.hint.show()
        for b in (self.settings_button, self.retry_button, self.quit_button):
            b.show()
        self.retry_button.setDefault(True)
        self.retry_button.setFocus()

    def hand_over(self) -> None:
        """Close because the workbench took over (not the user quitting)."""
        self._handed_over = True
        self.close()

    def closeEvent(self, event) -> None:
        super().closeEvent(event)
        if not self._handed_over:
            self.closed.emit()


class FirstPaint(QObject):
    """Calls `callback` once, after `widget`'s first paint."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]):
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint and self._callback is not None:
            callback, self._callback = self._callback, None
            obj.removeEventFilter(self)
            QTimer.singleShot(0, callback)      # after the paint has gone through
        return False
