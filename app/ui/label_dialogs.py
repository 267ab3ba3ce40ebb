"""The two small label editors the keys open: the error-category picker (E)
and the comment box (M). Both are window-modal (open(), not exec()), take
their text as plain text, and report the choice by signal; the window saves
it through its undo stack."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPlainTextEdit, QVBoxLayout, QWidget)

from signoff.ui.diff_view import plain_label

CLEAR = "(no error category)"
ChoiceRole = Qt.ItemDataRole.UserRole + 1


class ErrorPicker(QDialog):
    """Type to filter the categories of signoff.toml [labels]; Enter picks, Esc cancels."""

    chosen = Signal(object)      # a category, or None to clear it

    def __init__(self, categories: list[str], current: str | None, sample_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Error category — {sample_id}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("type to filter, Enter to choose")
        self.filter.setAccessibleName("filter error categories")
        self.list = QListWidget()
        self.list.setAccessibleName("error categories")
        for cat in categories:
            item = QListWidgetItem(cat)
            item.setData(ChoiceRole, cat)
            if cat == current:
                item.setText(f"{cat}   (current)")
            self.list.addItem(item)
        if current:
            item = QListWidgetItem(CLEAR)
            item.setData(ChoiceRole, None)
            self.list.addItem(item)
        self.note = plain_label("")
        lay = QVBoxLayout(self)
        lay.addWidget(plain_label(f"What kind of error is it? ({len(categories)} categories from signoff.toml)"))
        lay.addWidget(self.filter)
        lay.addWidget(self.list)
        lay.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._pick)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.filter.textChanged.connect(self._filter)
        self.filter.installEventFilter(self)
        self.list.itemActivated.connect(lambda _item: self._pick())
        self.resize(380, 320)
        self._filter("")
        if current:
            for i in range(self.list.count()):
                if self.list.item(i).data(ChoiceRole) == current:
                    self.list.setCurrentRow(i)
        self.filter.setFocus()

    def visible_choices(self) -> list[str | None]:
        return [self.list.item(i).data(ChoiceRole) for i in range(self.list.count()) if not self.list.item(i).isHidden()]

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        first = -1
        for i in range(self.list.count()):
            item = self.list.item(i)
            value = item.data(ChoiceRole)
            hide = bool(needle) and (value is None or needle not in str(value).lower())
            item.setHidden(hide)
            if not hide and first < 0:
                first = i
        if first >= 0:
            self.list.setCurrentRow(first)
        self.note.setText("" if first >= 0 else "no category matches")

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Up / Down in the filter box move through the list; Enter picks.
        if obj is self.filter and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
                if rows:
                    cur = self.list.currentRow()
                    pos = rows.index(cur) if cur in rows else -1
                    pos = min(len(rows) - 1, pos + 1) if key == Qt.Key.Key_Down else max(0, pos - 1)
                    self.list.setCurrentRow(rows[pos])
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._pick()
                return True
        return super().eventFilter(obj, event)

    def _pick(self) -> None:
        item = self.list.currentItem()
        if item is None or item.isHidden():
            self.note.setText("no category matches: change the filter or press Esc")
            return
        self.chosen.emit(item.data(ChoiceRole))
        self.accept()


class CommentEdit(QPlainTextEdit):
    """Enter saves, Shift+Enter starts a new line (Ctrl+Enter saves too)."""

    submitted = Signal()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class CommentDialog(QDialog):
    saved = Signal(str)          # the new comment ("" clears it)

    def __init__(self, current: str | None, sample_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Comment — {sample_id}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.edit = CommentEdit()
        self.edit.setPlainText(current or "")
        self.edit.setAccessibleName("comment")
        self.edit.setPlaceholderText("What did you notice? (Enter saves, Shift+Enter for a new line, Esc cancels; "
                                     "empty removes the comment)")
        self.edit.moveCursor(self.edit.textCursor().MoveOperation.End)
        hint: QLabel = plain_label("Saved with your label on this sample, visible to the other reviewers and in the report.")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        self.edit.submitted.connect(self._save)
        lay = QVBoxLayout(self)
        lay.addWidget(hint)
        lay.addWidget(self.edit, 1)
        lay.addWidget(buttons)
        self.resize(460, 240)
        self.edit.setFocus()

    def _save(self) -> None:
        self.saved.emit(self.edit.toPlainText().strip())
        self.accept()
