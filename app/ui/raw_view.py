"""The raw view: every stored value of the sample exactly as the store holds
it, one field a line: name, type, and a repr (strings quoted and escaped, so
a newline reads \\n and a zero-width space \\u200b; bytes as their length and
first bytes). Plain text, monospace, selectable for copying."""

from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QTextOption
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from signoff.core.shown import RawField, Shown, raw_fields


def format_fields(fields: list[RawField]) -> str:
    if not fields:
        return ""
    name_w = min(max(len(f.name) for f in fields), 28)
    type_w = min(max(len(f.type) for f in fields), 12)
    return "\n".join(f"{f.name:<{name_w}}  {f.type:<{type_w}}  {f.text}" for f in fields)


class RawView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setAccessibleName("raw stored values")
        self.fields: list[RawField] = []

    def show_row(self, row: Mapping[str, Any], *, blind: bool = False, shown: Shown | None = None) -> None:
        self.fields = raw_fields(row, blind=blind, shown=shown)
        self.setPlainText(format_fields(self.fields))

    def clear_row(self) -> None:
        self.fields = []
        self.setPlainText("")
