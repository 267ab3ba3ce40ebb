"""The UI extension SDK: what a plugin's window parts (entry-point group `signoff.ui_extensions`,
app/plugin_api.py `UiExtension`) may use of signoff.ui and the app's settings, in one module.

An extension's widgets import only this module (and the renderer SDK), signoff.core, the plugin
API and their own plugin; the layer contract `plugins` (pyproject [tool.importlinter]) checks it.
Model values and server messages are shown as text only (`plain_label`, `plain_tooltip`); long
work runs on a worker (`run_in_thread`: a new one cancels nothing by itself, results come back on
the GUI thread), never on the GUI thread.

`ExtensionHost` is what the window hands an extension's `trigger(action, host)`: the service,
the window (a parent for dialogs), `open_request(id)` for a request the extension created, and
`show_message(text)` for the status bar.
"""

from __future__ import annotations

from signoff.settings import Settings, load_settings
from signoff.ui.diff_view import plain_label, plain_tooltip
from signoff.ui.sortable import SortableItem, SortRole
from signoff.ui.theme import set_tone
from signoff.ui.workers import Worker, run_in_thread



class ExtensionHost:
    """The window, as a UI extension's actions see it."""

    def __init__(self, window):
        self.window = window
        self.service = window.service

    def open_request(self, request_id: int) -> None:
        """List and open a request the extension created (e.g. two MLflow versions compared)."""
        self.window.refresh_inbox()
        if not self.window.inbox.select(request_id):   # selecting it opens it; a filtered-out one is opened here
            self.window.open_request(request_id)

    def show_message(self, text: str, ms: int = 8000) -> None:
        self.window.statusBar().showMessage(text, ms)


__all__ = [
    "ExtensionHost",
    "Settings", "load_settings",
    "plain_label", "plain_tooltip", "set_tone",
    "SortableItem", "SortRole",
    "Worker", "run_in_thread",
]
