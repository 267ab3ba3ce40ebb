"""Tree items that sort by a sort key (shared by the inbox and the MLflow browser)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem

SortRole = Qt.ItemDataRole.UserRole + 12


class SortableItem(QTreeWidgetItem):
    """Sorts by SortRole (status severity, created time, version numbers) where set, else by text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        tree = self.treeWidget()
        col = tree.sortColumn() if tree is not None else 0
        a, b = self.data(col, SortRole), other.data(col, SortRole)
        if a is not None and b is not None:
            return a < b
        return self.text(col).lower() < other.text(col).lower()
