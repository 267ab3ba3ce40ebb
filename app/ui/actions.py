"""Every built-in command of the workbench in one place: id, title, keys, tip.

The main window builds its QActions, menus and the shortcut sheet from
this table, so a key is defined once. The commands a plugin adds are the
plugin's (UiExtension.ACTIONS, app/plugin_api.py ExtensionAction): the window
builds them after these (window_actions.py), and a key here wins over theirs.
(User-defined shortcuts, kept in QSettings, can later override `keys` by id.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    id: str
    title: str
    keys: tuple[str, ...] = ()
    tip: str = ""
    menu: str = "Review"
    checkable: bool = False


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("label.candidate", "Candidate better", ("1",), "label the sample and move to the next"),
    ActionSpec("label.baseline", "Baseline better", ("2",), "label the sample and move to the next"),
    ActionSpec("label.tie", "Tie", ("3",), "label the sample and move to the next"),
    ActionSpec("label.both_wrong", "Both wrong", ("4",), "label the sample and move to the next"),
    ActionSpec("label.correct", "Candidate output correct", ("C",), "mark the candidate's output correct"),
    ActionSpec("label.incorrect", "Candidate output incorrect", ("X",), "mark the candidate's output incorrect"),
    ActionSpec("label.error", "Error category…", ("E",), "pick from signoff.toml [labels]: type to filter, Enter"),
    ActionSpec("label.comment", "Comment…", ("M",), "a note on this sample: Enter saves, Shift+Enter new line"),
    ActionSpec("nav.next", "Next sample", ("J",), "also ↓ in the table"),
    ActionSpec("nav.previous", "Previous sample", ("K",), "also ↑ in the table"),
    ActionSpec("nav.next_unlabeled", "Next unlabeled", ("N",), "next sample without your label in this filter"),
    ActionSpec("edit.undo", "Undo label", ("Ctrl+Z",), menu="Edit"),
    ActionSpec("edit.redo", "Redo label", ("Ctrl+Shift+Z", "Ctrl+Y"), menu="Edit"),
    ActionSpec("view.search", "Search samples", ("/", "Ctrl+F"), "focus the search box", menu="View"),
    ActionSpec("view.invisibles", "Show whitespace and hidden characters", ("Ctrl+Shift+W",), menu="View"),
    ActionSpec("view.worst_first", "Sort worst first", ("Ctrl+0",), "back to the comparison's own order", menu="View"),
    ActionSpec("view.blind", "Blind mode (A / B)", ("B",),
               "outputs as A and B in a random order per sample; 1 / 2 = A / B better", menu="View", checkable=True),
    ActionSpec("view.raw", "Raw values", ("R",), "every stored value, escaped, with its type", menu="View"),
    ActionSpec("view.mode", "Next view mode", ("V",),
               "images: side by side → swipe → onion skin → difference; JSON: structure ↔ text", menu="View"),
    ActionSpec("view.zoom_in", "Zoom in", ("Ctrl+=", "Ctrl++"), "images; also Ctrl+wheel", menu="View"),
    ActionSpec("view.zoom_out", "Zoom out", ("Ctrl+-",), "images", menu="View"),
    ActionSpec("view.zoom_fit", "Zoom to fit", ("Ctrl+9",), "images", menu="View"),
    ActionSpec("view.refresh", "Refresh", ("F5",), "the inbox and the open request as the store has them now "
               "(also every second by itself)", menu="View"),
    ActionSpec("decide.open", "Approve / request changes / reject…", ("Ctrl+Return", "Ctrl+Enter"), menu="Review"),
    ActionSpec("help.shortcuts", "Keyboard shortcuts", ("?", "F1"), menu="Help"),
    ActionSpec("help.about", "About Signoff", (), "version, and how this copy runs", menu="Help"),
    ActionSpec("app.quit", "Quit", ("Ctrl+Q",), menu="File"),
)

BY_ID = {a.id: a for a in ACTIONS}


MENU_ORDER = ("Review", "Edit", "View", "File", "Help")


def shortcut_sheet(extra: list[tuple[str, str, str]] | None = None) -> str:
    """Plain text list of every key, grouped by menu, for the shortcut sheet (?).

    `extra`: (keys, title, menu) of actions made elsewhere (not in ACTIONS)."""
    entries = [(" / ".join(a.keys), a.title + (f"  ({a.tip})" if a.tip else ""), a.menu) for a in ACTIONS if a.keys]
    entries += list(extra or [])
    width = max(len(k) for k, _, _ in entries)
    menus = [m for m in MENU_ORDER if any(e[2] == m for e in entries)]
    menus += sorted({e[2] for e in entries} - set(menus))
    lines: list[str] = []
    for menu in menus:
        if lines:
            lines.append("")
        lines.append(menu.upper())
        for keys, title, m in entries:
            if m == menu:
                lines.append(f"  {keys:<{width}}   {title}")
    return "\n".join(lines)
