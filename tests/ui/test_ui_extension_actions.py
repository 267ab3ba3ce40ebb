"""The commands UI extensions declare (app/plugin_api.py ExtensionAction) become menu entries:
the window names no plugin, builds each installed extension's entries, runs the extension when
one is chosen, and keeps a built-in key or id when an extension asks for it (said once)."""

from __future__ import annotations

import logging

from PySide6.QtGui import QKeySequence

from signoff.plugin_api import ExtensionAction, UiExtension
from signoff.ui.actions import ACTIONS


class Opened:
    def __init__(self, action, host):
        self.action, self.host = action, host


class ToolsUi(UiExtension):
    NAME = "zz-tools"
    ACTIONS = (
        ExtensionAction("zz.count", "Count things…", "Ctrl+Alt+K", menu="Tools", tip="counts the things"),
        ExtensionAction("zz.quit", "Quit differently", "Ctrl+Q", menu="File"),          # Quit's key
        ExtensionAction("app.quit", "Not Quit", "Ctrl+Alt+J"),                          # Quit's id
        ExtensionAction("zz.broken", "Broken…", menu="Tools"),
        "zz.old_style",                                                                 # not an ExtensionAction
    )

    def trigger(self, action, host):
        if action == "zz.broken":
            raise RuntimeError("the plugin fell over")
        return Opened(action, host)


def _menu(window, title):
    return next(a.menu() for a in window.menuBar().actions() if a.text() == f"&{title}")


def test_the_mlflow_plugins_command_comes_from_the_plugin(window):
    assert not any("mlflow" in spec.id or "MLflow" in spec.title for spec in ACTIONS)   # not a built-in
    browse = window.actions_by_id["mlflow.browse"]
    assert browse.text() == "Browse MLflow…" and browse.shortcut() == QKeySequence("Ctrl+Shift+M")
    assert browse.statusTip().startswith("a tracking server's models")
    file_menu = [a.objectName() for a in _menu(window, "File").actions() if not a.isSeparator()]
    assert file_menu.index("file.new_review") < file_menu.index("mlflow.browse") < file_menu.index("app.quit")
    sheet = window.shortcut_text()
    file_part = sheet[sheet.index("FILE"):]
    assert "Ctrl+Shift+M" in file_part and "Browse MLflow…  (a tracking server's models" in file_part


def test_an_extensions_commands_are_built_run_and_lose_a_clash(make_window, service, monkeypatch, caplog):
    from signoff.registry import registry

    monkeypatch.setitem(registry().ui_extensions, "zz-tools", ToolsUi)
    with caplog.at_level(logging.WARNING, logger="signoff.ui.window_actions"):
        window = make_window(service)
    # its own menu, before Help, with its key and tip
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles.index("&Tools") == titles.index("&Help") - 1
    count = window.actions_by_id["zz.count"]
    assert count in _menu(window, "Tools").actions() and count.shortcut() == QKeySequence("Ctrl+Alt+K")
    assert count.statusTip() == "counts the things"
    # a clash: the built-in keeps its key and its id; said once, in the log and the status bar
    assert window.actions_by_id["app.quit"].text() == "Quit"
    assert window.actions_by_id["app.quit"].shortcut() == QKeySequence("Ctrl+Q")
    assert window.actions_by_id["zz.quit"].shortcut().isEmpty()
    clash = [r.getMessage() for r in caplog.records if "shortcut clash" in r.getMessage()]
    assert clash == ["shortcut clash: Ctrl+Q stays 'Quit', not the zz-tools plugin's 'Quit differently'"]
    assert any("'Not Quit' is left out" in r.getMessage() for r in caplog.records)
    assert any("'zz.old_style' is left out: not an ExtensionAction" in r.getMessage() for r in caplog.records)
    assert window.statusBar().currentMessage() == clash[0]
    # chosen: the extension runs with the host (the service, the window)
    count.trigger()
    opened = window.extension_windows["zz.count"]
    assert opened.action == "zz.count" and opened.host.window is window and opened.host.service is service
    # a failing command is reported, never fatal
    with caplog.at_level(logging.ERROR, logger="signoff.ui.window_actions"):
        window.actions_by_id["zz.broken"].trigger()
    assert window.statusBar().currentMessage() == "Broken… failed: the plugin fell over"
    assert "zz.broken" not in window.extension_windows
    sheet = window.shortcut_text()
    assert "Ctrl+Alt+K" in sheet[sheet.index("TOOLS"):]
