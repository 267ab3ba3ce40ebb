"""The UI extension SDK: what a plugin's window parts (entry-point group `signoff.ui_extensions`,
app/plugin_api.py `UiExtension`) may use of signoff.ui and the app's settings, in one module.

An extension's widgets import only this module (and the renderer SDK), signoff.core, the plugin
API and their own plugin; the layer contract `plugins` (pyproject [tool.importlinter]) checks it.
Model values and server messages are shown as text only (`plain_label`, `plain_tooltip`); long
work runs on a worker (`run_in_thread`: a new one cancels nothing by itself, results come back on
the GUI thread), never on the GUI thread.
"""

from __future__ import annotations

from signoff.settings import Settings, load_settings
from signoff.ui.diff_view import plain_label, plain_tooltip
from signoff.ui.sortable import SortableItem, SortRole
from signoff.ui.theme import set_tone
from signoff.ui.workers import Worker, run_in_thread

__all__ = [
    "Settings", "load_settings",
    "plain_label", "plain_tooltip", "set_tone",
    "SortableItem", "SortRole",
    "Worker", "run_in_thread",
]
