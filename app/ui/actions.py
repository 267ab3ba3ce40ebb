"""Every command of the workbench in one place: id, title, keys, tip.

The main window builds its QActions, menus and the shortcut sheet from
this table, so a key is defined once. (User-defined shortcuts, kept in
QSettings, can later override `keys` by id.)
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


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("label.candidate", "Candidate better", ("1",), "label the sample and move to the next"),
    ActionSpec("label.baseline", "Baseline better", ("2",), "label the sample and move to the next"),
    ActionSpec("label.tie", "Tie", ("3",), "label the sample and move to the next"),
    ActionSpec("label.both_wrong", "Both wrong", ("4",), "label the sample and move to the next"),
    ActionSpec("label.correct", "Candidate output correct", ("C",), "mark the candidate's output correct"),
    ActionSpec("label.incorrect", "Candidate output incorrect", ("X",), "mark the candidate's output incorrect"),
    ActionSpec("nav.next", "Next sample", ("J",), "also ↓ in the table"),
    ActionSpec("nav.previous", "Previous sample", ("K",), "also ↑ in the table"),
    ActionSpec("nav.next_unlabeled", "Next unlabeled", ("N",), "next sample without your label in this filter"),
    ActionSpec("edit.undo", "Undo label", ("Ctrl+Z",), menu="Edit"),
    ActionSpec("edit.redo", "Redo label", ("Ctrl+Shift+Z", "Ctrl+Y"), menu="Edit"),
    ActionSpec("view.search", "Search samples", ("/", "Ctrl+F"), "focus the search box", menu="View"),
    ActionSpec("view.invisibles", "Show whitespace and hidden characters", ("Ctrl+Shift+W",), menu="View"),
    ActionSpec("view.worst_first", "Sort worst first", ("Ctrl+0",), "back to the comparison's own order", menu="View"),
    ActionSpec("view.refresh", "Refresh inbox", ("F5",), menu="View"),
    ActionSpec("decide.open", "Approve / request changes / reject…", ("Ctrl+Return", "Ctrl+Enter"), menu="Review"),
    ActionSpec("help.shortcuts", "Keyboard shortcuts", ("?", "F1"), menu="Help"),
    ActionSpec("app.quit", "Quit", ("Ctrl+Q",), menu="File"),
)

BY_ID = {a.id: a for a in ACTIONS}


def shortcut_sheet() -> str:
    """Plain text list of every key, for the Help dialog."""
    width = max(len(" / ".join(a.keys)) for a in ACTIONS if a.keys)
    lines = []
    for a in ACTIONS:
        if a.keys:
            lines.append(f"{' / '.join(a.keys):<{width}}   {a.title}" + (f"  ({a.tip})" if a.tip else ""))
    return "\n".join(lines)
