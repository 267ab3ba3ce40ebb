"""The window's menus and keys: every command of app/ui/actions.py as a QAction bound to the
part that does it, the actions parts add (`add`), and Help (the key sheet, About)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QFontDatabase, QKeySequence, QUndoStack
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMainWindow, QMenu, QPlainTextEdit, QVBoxLayout

from signoff.ui.about_dialog import AboutDialog
from signoff.ui.actions import ACTIONS, shortcut_sheet

SHIFTED_SYMBOLS = ("?",)
MENUS = ("File", "Edit", "Review", "View", "Help")


class WindowActions(QObject):
    def __init__(self, window: QMainWindow, undo_stack: QUndoStack, handlers: dict[str, Callable[[], object]]):
        super().__init__(window)
        self.w = window
        self.actions_by_id: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {name: window.menuBar().addMenu(f"&{name}") for name in MENUS}
        self.shortcut_dialog: QDialog | None = None
        self.shortcut_sheet_view: QPlainTextEdit | None = None
        self.about_dialog: AboutDialog | None = None
        handlers = {**handlers, "help.shortcuts": self.show_shortcuts, "help.about": self.show_about}
        for spec in ACTIONS:
            if spec.id == "edit.undo":
                action = undo_stack.createUndoAction(window, spec.title)
            elif spec.id == "edit.redo":
                action = undo_stack.createRedoAction(window, spec.title)
            else:
                action = QAction(spec.title, window)
                action.triggered.connect(lambda checked=False, h=handlers[spec.id]: h())
            keys = [QKeySequence(k) for k in spec.keys]
            if spec.id == "edit.undo":
                undo = QKeySequence(QKeySequence.StandardKey.Undo)
                keys = [undo] + [k for k in keys if k != undo]
            # "?" is typed with Shift on most layouts; not every platform plugin matches it without.
            keys += [QKeySequence(f"Shift+{k}") for k in spec.keys if k in SHIFTED_SYMBOLS]
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if spec.tip:
                action.setStatusTip(spec.tip)
            action.setObjectName(spec.id)
            action.setCheckable(spec.checkable)
            self._register(self.menus[spec.menu], action)

    def _register(self, menu: QMenu, action: QAction, before: QAction | None = None) -> None:
        if before is not None:
            menu.insertAction(before, action)
        else:
            menu.addAction(action)
        self.w.addAction(action)
        self.actions_by_id[action.objectName()] = action

    def add(self, menu: str, object_name: str, title: str, keys: str, slot: Callable[[], object], tip: str = "",
            *, before: str | None = None, separator_before: bool = False) -> QAction:
        """A part's command: in `menu` (before the action `before`, if given), with its key."""
        action = QAction(title, self.w)
        action.setObjectName(object_name)
        if keys:
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        target = self.menus.get(menu) or self.menus.setdefault(menu, self.w.menuBar().addMenu(f"&{menu}"))
        anchor = self.actions_by_id.get(before) if before else None
        if separator_before:
            if anchor is not None:
                target.insertSeparator(anchor)
            else:
                target.addSeparator()
        self._register(target, action, anchor)
        return action

    def separator(self, menu: str, *, before: str | None = None) -> None:
        anchor = self.actions_by_id.get(before) if before else None
        if anchor is not None:
            self.menus[menu].insertSeparator(anchor)
        else:
            self.menus[menu].addSeparator()

    # -- Help ----------------------------------------------------------------------------------
    def shortcut_text(self) -> str:
        """Every key of the window: the table in actions.py, then any other action with a shortcut."""
        known = {spec.id for spec in ACTIONS}
        extra = []
        for action in self.w.findChildren(QAction):
            keys = [k.toString() for k in action.shortcuts() if not k.isEmpty()]
            if keys and action.objectName() not in known and action.text():
                menu = action.objectName().split(".", 1)[0].capitalize() if "." in action.objectName() else "Other"
                extra.append((" / ".join(keys), action.text().replace("&", ""), menu))
        return shortcut_sheet(sorted(set(extra), key=lambda e: (e[2], e[1])))

    def show_shortcuts(self) -> None:
        dlg = QDialog(self.w)
        dlg.setWindowTitle("Keyboard shortcuts")
        text = QPlainTextEdit()
        text.setReadOnly(True)
        text.setPlainText(self.shortcut_text())
        text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        text.setAccessibleName("keyboard shortcuts")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dlg.reject)
        lay = QVBoxLayout(dlg)
        lay.addWidget(text)
        lay.addWidget(buttons)
        dlg.resize(820, 560)
        self.shortcut_dialog = dlg
        self.shortcut_sheet_view = text
        dlg.open()

    def show_about(self) -> None:
        """Help > About: the version from the package metadata (app/ui/about_dialog.py)."""
        self.about_dialog = AboutDialog(self.w)
        self.about_dialog.open()
