"""The window's layout (geometry, splitters, column widths), kept between runs.

Stored with QSettings in `<config dir>/layout.ini` (Qt's own binary state;
the user's real settings are JSON, app/settings.py). `LAYOUT_VERSION` is
raised whenever the window's structure changes (a new pane, a splitter
more or less): a saved layout of another version is thrown away instead of
squeezing panes into the wrong places.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter, QWidget

from signoff.settings import config_dir

LAYOUT_VERSION = 2   # 2: inbox as a sortable table, Samples/Charts tabs
GROUP = "layout"


def layout_settings() -> QSettings:
    path = config_dir() / "layout.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)


def _parts(window: QMainWindow) -> dict[str, QWidget]:
    """The window's splitters (the workbench's; a plain QMainWindow has none)."""
    charts = getattr(window, "charts_tab", None)
    found = {"main_splitter": getattr(window, "main_splitter", None),
             "work_splitter": getattr(window, "work_splitter", None),
             "charts_splitter": getattr(charts, "splitter", None)}
    return {name: w for name, w in found.items() if isinstance(w, QSplitter)}


def save_layout(window: QMainWindow) -> None:
    s = layout_settings()
    s.beginGroup(GROUP)
    s.setValue("version", LAYOUT_VERSION)
    s.setValue("geometry", window.saveGeometry())
    s.setValue("state", window.saveState(LAYOUT_VERSION))
    for name, splitter in _parts(window).items():
        s.setValue(name, splitter.saveState())
    inbox = getattr(window, "inbox", None)
    if inbox is not None and hasattr(inbox, "list"):
        s.setValue("inbox_header", inbox.list.header().saveState())
    s.endGroup()
    s.sync()


def restore_layout(window: QMainWindow) -> bool:
    """Restore what save_layout kept; False (and the saved layout removed) when there is none of this version."""
    s = layout_settings()
    s.beginGroup(GROUP)
    try:
        version = int(s.value("version", 0) or 0)
    except (TypeError, ValueError):
        version = 0
    if version != LAYOUT_VERSION:
        s.remove("")      # another window structure: start from the defaults
        s.endGroup()
        s.sync()
        return False
    geometry = s.value("geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    state = s.value("state")
    if state is not None:
        window.restoreState(state, LAYOUT_VERSION)
    for name, splitter in _parts(window).items():
        value = s.value(name)
        if value is not None:
            splitter.restoreState(value)
    inbox = getattr(window, "inbox", None)
    value = s.value("inbox_header")
    if inbox is not None and value is not None and hasattr(inbox, "list"):
        inbox.list.header().restoreState(value)
    s.endGroup()
    return True


def reset_layout() -> None:
    s = layout_settings()
    s.remove(GROUP)
    s.sync()
