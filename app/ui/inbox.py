"""The inbox: open review requests, newest first, each with what is missing."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStackedWidget, QVBoxLayout, QWidget

from app.store.records import RequestRecord
from app.ui.diff_view import plain_label, plain_tooltip
from app.ui.palette import STATUS_STYLE

EMPTY_TEXT = ("No review requests yet.\n\n"
              "CI creates one for a commit with:\n"
              "  signoff request --sha <commit>\n\n"
              "To try Signoff on sample data:\n"
              "  signoff demo")

RequestIdRole = Qt.ItemDataRole.UserRole + 10
RecordRole = Qt.ItemDataRole.UserRole + 11


def dot_icon(colour: str, size: int = 12) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pix)


def request_text(r: RequestRecord) -> str:
    symbol = STATUS_STYLE.get(r.status, ("", "•"))[1]
    first = f"{r.sha[:7]}  {symbol} {r.status}"
    sets = f"{len(r.eval_sets)} eval set{'s' if len(r.eval_sets) != 1 else ''}"
    title = r.title.splitlines()[0] if r.title else "(no title)"
    return f"{first}\n{title}\n{sets} · {r.description}"


class Inbox(QWidget):
    requestSelected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setAccessibleName("review requests")
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setIconSize(QSize(12, 12))
        self.list.setSpacing(2)
        self.list.setUniformItemSizes(False)
        self.empty = plain_label(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty.setMargin(8)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.list)
        self.stack.addWidget(self.empty)
        header = plain_label("Inbox")
        f = header.font()
        f.setBold(True)
        header.setFont(f)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(header)
        layout.addWidget(self.stack)
        self.list.currentItemChanged.connect(self._current_changed)
        self._updating = False

    def set_requests(self, records: list[RequestRecord], *, keep: int | None = None) -> None:
        """Fill the list; `keep` re-selects that request id without emitting requestSelected."""
        self._updating = True
        try:
            self.list.clear()
            for r in records:
                item = QListWidgetItem(request_text(r))
                item.setData(RequestIdRole, r.id)
                item.setData(RecordRole, r)
                colour = STATUS_STYLE.get(r.status, ("#999999", ""))[0]
                item.setIcon(dot_icon(colour))
                item.setToolTip(plain_tooltip(f"{r.sha}\n{r.title}\nbaseline: {r.baseline_ref}\n"
                                              f"status: {r.status} — {r.description}\n"
                                              f"eval sets: {', '.join(r.eval_sets)}"))
                self.list.addItem(item)
                if keep is not None and r.id == keep:
                    self.list.setCurrentItem(item)
            self.stack.setCurrentWidget(self.list if records else self.empty)
        finally:
            self._updating = False

    def update_status(self, request_id: int, status: str, description: str) -> None:
        """Show a request's live status (after labels or a decision) without reloading the list."""
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(RequestIdRole) == request_id:
                record = item.data(RecordRole)
                if record is not None:
                    record = replace(record, status=status, description=description)
                    item.setData(RecordRole, record)
                    item.setText(request_text(record))
                    item.setIcon(dot_icon(STATUS_STYLE.get(status, ("#999999", ""))[0]))
                return

    def _current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None and not self._updating:
            self.requestSelected.emit(int(current.data(RequestIdRole)))

    def select(self, request_id: int) -> bool:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(RequestIdRole) == request_id:
                self.list.setCurrentItem(item)
                return True
        return False

    def request_ids(self) -> list[int]:
        return [int(self.list.item(i).data(RequestIdRole)) for i in range(self.list.count())]
