"""Help > About: the version (from the package metadata), how this copy runs, and the icon.

The version comes from importlib.metadata, the same source as `signoff --version`;
inside the PyInstaller bundle that works because the spec copies the signoff
distribution's metadata (packaging/signoff.spec). "Copy details" puts a plain-text
summary on the clipboard for bug reports.
"""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, metadata, version
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QFont, QGuiApplication, QIcon, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from signoff.ui.diff_view import plain_label
from signoff.resources import ROOT as RESOURCES_ROOT

ICON_DIR = RESOURCES_ROOT / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
UNKNOWN_VERSION = "unknown"


def app_version() -> str:
    """The installed signoff distribution's version ("unknown" when no metadata is found)."""
    try:
        return version("signoff")
    except PackageNotFoundError:
        return UNKNOWN_VERSION


def app_summary() -> str:
    try:
        return metadata("signoff").get("Summary") or ""
    except PackageNotFoundError:
        return ""


def app_icon() -> QIcon:
    """The Signoff icon at every size shipped in resources/icons (PNG: no SVG plugin needed)."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = ICON_DIR / f"signoff-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon


def how_it_runs() -> str:
    if getattr(sys, "frozen", False):
        return f"desktop build (PyInstaller) in {Path(sys.executable).resolve().parent}"
    return f"Python package, from {Path(__file__).resolve().parents[2]}"


def about_details() -> dict[str, str]:
    """What the dialog shows below the title, as plain strings (also for 'Copy details')."""
    return {
        "Version": app_version(),
        "Running as": how_it_runs(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "Qt": f"{qVersion()} (PySide6 {PySide6.__version__})",
        "System": platform.platform(terse=True),
    }


def details_text() -> str:
    return "Signoff\n" + "\n".join(f"{k}: {v}" for k, v in about_details().items())


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About Signoff")
        self.setObjectName("about")

        logo = QLabel()
        pixmap = QPixmap(str(ICON_DIR / "signoff-128.png"))
        if not pixmap.isNull():
            logo.setPixmap(pixmap.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
        logo.setAlignment(Qt.AlignmentFlag.AlignTop)

        title = plain_label("Signoff")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        self.version_label = plain_label(f"Version {app_version()}")
        self.version_label.setObjectName("version")
        self.version_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary = plain_label(app_summary())
        summary.setWordWrap(True)

        self.details = about_details()
        rows = "\n".join(f"{k}: {v}" for k, v in self.details.items() if k != "Version")
        self.details_label = plain_label(rows)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_label.setWordWrap(True)

        text = QVBoxLayout()
        text.setSpacing(6)
        text.addWidget(title)
        text.addWidget(self.version_label)
        text.addWidget(summary)
        text.addSpacing(8)
        text.addWidget(self.details_label)
        text.addStretch(1)

        top = QHBoxLayout()
        top.setSpacing(16)
        top.addWidget(logo)
        top.addLayout(text, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton("Copy details", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 20, 20, 12)
        lay.addLayout(top)
        lay.addWidget(buttons)
        self.setMinimumWidth(540)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(details_text())
