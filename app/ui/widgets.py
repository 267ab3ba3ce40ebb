"""Small widgets of the workbench window: the banner (errors, cancelled loads, details one
click away), the loading bar with its Cancel, and the sample table's view."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QMessageBox, QProgressBar,
                               QPushButton, QTableView, QWidget)

from signoff.ui.diff_view import plain_label
from signoff.ui.logfile import log_path


class Banner(QFrame):
    """A message in the window (errors, cancelled loads), details one click away."""

    retry = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("Banner { border-left: 4px solid #D55E00; }")
        self.message = plain_label("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        self.retry_button = QPushButton("Retry")
        self.close_button = QPushButton("Dismiss")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.message, 1)
        lay.addWidget(self.details_button)
        lay.addWidget(self.retry_button)
        lay.addWidget(self.close_button)
        self.details_button.clicked.connect(self.show_details)
        self.retry_button.clicked.connect(self.retry)
        self.close_button.clicked.connect(self.hide)
        self._details = ""
        self.hide()

    def show_message(self, message: str, details: str = "", *, can_retry: bool = False) -> None:
        self.message.setText(message)
        self._details = details
        self.details_button.setVisible(bool(details))
        self.retry_button.setVisible(can_retry)
        self.show()

    def show_details(self) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Details")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(self.message.text())
        box.setDetailedText(self._details + _log_hint())
        box.open()

    @property
    def details(self) -> str:
        return self._details


def _log_hint() -> str:
    path = log_path()
    return f"\n\nLog file: {path}" if path else ""


class LoadingBar(QWidget):
    cancel = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.message = plain_label("")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(self.message, 1)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self.cancel)
        self.hide()

    def start(self, message: str) -> None:
        self.message.setText(message)
        self.bar.setRange(0, 0)
        self.show()

    def progress(self, message: str, fraction: float) -> None:
        if message:
            self.message.setText(message)
        if fraction < 0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))


class SampleTable(QTableView):
    """The sample table: fixed row height (fast with 1M rows), whole-row selection."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)
        vh = self.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vh.hide()
        self.setIconSize(QSize(10, 10))
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        hh.setSortIndicatorShown(True)
        hh.setSectionsClickable(True)
        hh.setHighlightSections(False)
        self.setAccessibleName("samples")

    def keyboardSearch(self, search: str) -> None:
        # Letters are review keys (j, k, n, c, x), not "jump to the row starting with…".
        return
