"""The window's menus and keys: every command of app/ui/actions.py as a QAction bound to the
part that does it, the actions parts add (`add`), the actions installed UI extensions declare
(`add_extension_actions`, app/plugin_api.py ExtensionAction), and Help (the key sheet, About)."""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QFontDatabase, QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMainWindow, QMenu, QPlainTextEdit, QVBoxLayout, QWidget

from signoff.plugin_api import ExtensionAction
from signoff.ui.about_dialog import AboutDialog
from signoff.ui.actions import ACTIONS, shortcut_sheet

log = logging.getLogger(__name__)
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
        self.extension_windows: dict[str, object] = {}   # action id -> what the extension's action opened last
        self._extension_specs: dict[str, tuple[str, object]] = {}   # action id -> (plugin name, ExtensionAction)
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
        target = self.menus.get(menu) or self._new_menu(menu)
        anchor = self.actions_by_id.get(before) if before else None
        if separator_before:
            if anchor is not None:
                target.insertSeparator(anchor)
            else:
                target.addSeparator()
        self._register(target, action, anchor)
        return action

    def _new_menu(self, name: str) -> QMenu:
        """A menu a part or a plugin names (e.g. "Tools"): before Help."""
        menu = QMenu(f"&{name}", self.w)
        self.w.menuBar().insertMenu(self.menus["Help"].menuAction(), menu)
        self.menus[name] = menu
        return menu

    def separator(self, menu: str, *, before: str | None = None) -> None:
        anchor = self.actions_by_id.get(before) if before else None
        if anchor is not None:
            self.menus[menu].insertSeparator(anchor)
        else:
            self.menus[menu].addSeparator()

    # -- the commands UI extensions add ---------------------------------------------------------
    def add_extension_actions(self, extensions: dict[str, object], host) -> None:
        """A menu entry for each action of each installed UI extension (plugin name -> instance),
        after the built-in entries of its menu (in File: before Quit). It calls the extension's
        `trigger(id, host)`. An id a command already has is not taken; the keys are bound by
        `bind_extension_keys`, once every part has added its own."""
        for name, ext in extensions.items():
            for spec in getattr(ext, "ACTIONS", ()):
                if not isinstance(spec, ExtensionAction):
                    self._report(f"the {name} plugin's command {spec!r} is left out: not an ExtensionAction")
                    continue
                if spec.id in self.actions_by_id:
                    self._report(f"the {name} plugin's command {spec.text!r} is left out: "
                                 f"the window already has a command {spec.id!r}")
                    continue
                self.add(spec.menu, spec.id, spec.text, "", lambda e=ext, a=spec.id: self.run_extension(e, a, host),
                         spec.tip, before="app.quit" if spec.menu == "File" else None)
                self._extension_specs[spec.id] = (name, spec)

    def bind_extension_keys(self) -> None:
        """Each extension command's key, unless the window already uses it (a built-in command's or
        a part's key): then the built-in wins and the window says so, once (log and status bar)."""
        taken = {k.toString(): a.text().replace("&", "") for a in QWidget.actions(self.w)   # (window.actions: us)
                 if a.objectName() not in self._extension_specs for k in a.shortcuts()}
        taken.update({sc.key().toString(): "a window key" for sc in self.w.findChildren(QShortcut)
                      if sc.parent() is self.w})
        clashes = []
        for action_id, (name, spec) in self._extension_specs.items():
            key = QKeySequence(spec.shortcut) if spec.shortcut else QKeySequence()
            if key.isEmpty():
                continue
            if key.toString() in taken:
                clashes.append(f"{key.toString()} stays {taken[key.toString()]!r}, not the {name} plugin's "
                               f"{spec.text!r}")
                continue
            action = self.actions_by_id[action_id]
            action.setShortcut(key)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            taken[key.toString()] = spec.text
        if clashes:
            self._report("shortcut clash: " + "; ".join(clashes))

    def run_extension(self, extension, action: str, host):
        """An extension's command (its menu entry, its key or its New review… tab). What it opened
        is kept in `extension_windows`; a failure is reported, never fatal."""
        try:
            self.extension_windows[action] = extension.trigger(action, host)
        except Exception as exc:   # a broken plugin must not take the window down
            log.exception("UI extension action %s failed", action)
            self.w.statusBar().showMessage(f"{self.actions_by_id[action].text()} failed: {exc}", 10000)
            return None
        return self.extension_windows[action]

    def _report(self, text: str) -> None:
        log.warning(text)
        self.w.statusBar().showMessage(text, 10000)

    # -- Help ----------------------------------------------------------------------------------
    def shortcut_text(self) -> str:
        """Every key of the window: the table in actions.py, then any other action with a shortcut
        (an extension's under its menu)."""
        known = {spec.id for spec in ACTIONS}
        extra = []
        for action in self.w.findChildren(QAction):
            keys = [k.toString() for k in action.shortcuts() if not k.isEmpty()]
            if keys and action.objectName() not in known and action.text():
                name, title = action.objectName(), action.text().replace("&", "")
                if name in self._extension_specs:   # an extension's: under its menu, with its tip
                    spec = self._extension_specs[name][1]
                    menu, title = spec.menu, title + (f"  ({spec.tip})" if spec.tip else "")
                else:
                    menu = name.split(".", 1)[0].capitalize() if "." in name else "Other"
                extra.append((" / ".join(keys), title, menu))
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
