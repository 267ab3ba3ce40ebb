"""Queues as a reviewer moves through them (issue 12, item 6).

A queue is what the current filter shows: with the default filter ("all but unchanged", worst
first) each change class of an eval set is one queue, in CLASS_ORDER. With `[policy] overlap` the
queue is what was dealt to me instead (app/ui/team_queue.py takes over the progress, Next and the
notice's text through the hooks below). Here:

- `]` / `[`: next / previous eval set.
- Progress "7/79" (labeled by me / in the queue) on the class buttons, and per eval set in the
  eval-set list, with a "viewed" mark (●) once an eval set was opened in this window.
- At the end of a queue a notice names the next queue (Enter goes there, Esc stays) instead of
  sliding silently into the next class.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton

from signoff.ui.diff_view import plain_label
from signoff.ui.sample_model import CLASS_ORDER, NOT_UNCHANGED

VIEWED = "●"


def eval_set_progress(service, request_id: int, eval_sets: list[str], user: str) -> dict[str, tuple[int, int]]:
    """Worker side: {eval set: (samples I labeled, samples to review)} over the changed classes,
    from the port's read model (ReviewPort.eval_set_progress: the ids and classes the open
    already holds), never a read of the table again (at 10M a second read of the resident
    columns took ~0.45 GB, the whole table 4.5 GB)."""
    progress = service.eval_set_progress(request_id, user=user or None)
    return {name: progress[name] for name in eval_sets if name in progress}


class EndOfQueueNotice(QFrame):
    """Non-modal: "regressed done (7/7) · next: changed 0/12 — Enter goes there, Esc stays"."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("EndOfQueueNotice { background: palette(alternate-base); }")
        self.text = plain_label("")
        self.text.setAccessibleName("end of queue")
        self.go_button = QPushButton("Go  (Enter)")
        self.stay_button = QPushButton("Stay  (Esc)")
        for b in (self.go_button, self.stay_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.text, 1)
        row.addWidget(self.go_button)
        row.addWidget(self.stay_button)
        self.target: tuple[str, str] | None = None   # ("class", name) or ("eval_set", name)
        self.hide()


class QueueNav(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.viewed: set[tuple[int, str]] = set()
        self.progress: dict[str, tuple[int, int]] = {}
        self._worker = None
        self.notice = EndOfQueueNotice()
        header_layout = window.title_label.parentWidget().layout()
        header_layout.addWidget(self.notice)
        self.notice.go_button.clicked.connect(self.go)
        self.notice.stay_button.clicked.connect(self.notice.hide)
        self.shortcuts = []
        for key, slot in (("]", lambda: self.step_eval_set(1)), ("[", lambda: self.step_eval_set(-1))):
            sc = QShortcut(QKeySequence(key), window)
            sc.activated.connect(slot)
            self.shortcuts.append(sc)
        self.go_keys = []
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            sc = QShortcut(QKeySequence(key), window)
            sc.setEnabled(False)
            sc.activated.connect(self.go)
            self.go_keys.append(sc)
        self.stay_key = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self.stay_key.setEnabled(False)
        self.stay_key.activated.connect(self.hide_notice)
        window.comparisonLoaded.connect(self._loaded)
        window.labelSaved.connect(lambda *_: self.update_buttons())
        window.filtersApplied.connect(self.update_buttons)

    # -- eval sets --------------------------------------------------------
    def step_eval_set(self, step: int) -> None:
        w = self.window
        if w.request is None or not w.request.eval_sets:
            return
        names = list(w.request.eval_sets)
        i = names.index(w.eval_set) if w.eval_set in names else -1
        j = i + step
        if not 0 <= j < len(names):
            w.statusBar().showMessage("this is the " + ("last" if step > 0 else "first") + " eval set", 3000)
            return
        self.hide_notice()
        w.load_eval_set(names[j])

    def _loaded(self, request_id: int, eval_set: str) -> None:
        self.viewed.add((request_id, eval_set))
        self.hide_notice()
        self.update_buttons()
        w = self.window
        if self._worker is not None and self._worker.is_running:
            return
        from signoff.ui import workers

        worker = workers.Worker(eval_set_progress, w.service, request_id, list(w.request.eval_sets),
                                getattr(w.service, "user", "") or "")
        worker.signals.finished.connect(lambda result, r=request_id: self._progress(r, result))
        self._worker = workers.start(worker)

    def _progress(self, request_id: int, result: dict) -> None:
        self._worker = None
        if self.window.request is None or self.window.request.id != request_id:
            return
        mine = self._assigned()
        self.progress = mine.eval_set_progress() if mine is not None else dict(result)
        self._mark_eval_sets()

    def _mark_eval_sets(self) -> None:
        w = self.window
        if w.request is None:
            return
        combo = w.eval_set_combo
        for i in range(combo.count()):
            name = w.request.eval_sets[i] if i < len(w.request.eval_sets) else combo.itemText(i)
            done, total = self.progress.get(name, (None, None))
            mark = f"{VIEWED} " if (w.request.id, name) in self.viewed else "   "
            text = f"{mark}{name}" + (f"  {done}/{total}" if total is not None else "")
            combo.setItemData(i, text, Qt.ItemDataRole.DisplayRole)
            combo.setItemData(i, "viewed" if mark.strip() else "not viewed yet", Qt.ItemDataRole.ToolTipRole)

    # -- progress on the class buttons --------------------------------------
    def _assigned(self):
        """The assigned queue (app/ui/team_queue.py) when the policy deals the work, else None."""
        mine = getattr(self.window, "team_queue", None)
        return mine if mine is not None and mine.active else None

    def class_progress(self) -> dict[str, tuple[int, int]]:
        """{class: (labeled by me, samples)} of the open eval set; with overlap (labeled by me, assigned
        to me)."""
        mine = self._assigned()
        if mine is not None:
            return mine.class_progress()
        m = self.window.model
        codes = m._class_codes
        if not len(codes):
            return {c: (0, 0) for c in CLASS_ORDER}
        total = m.class_counts()    # counted once by the open; only the labeled rows' classes here
        labeled = codes[m._labeled]
        done = np.bincount(labeled[labeled >= 0], minlength=len(CLASS_ORDER))
        return {c: (int(done[i]), total.get(c, 0)) for i, c in enumerate(CLASS_ORDER)}

    def update_buttons(self) -> None:
        w = self.window
        progress = self.class_progress()
        for cls, b in w.class_buttons.items():
            done, total = progress.get(cls, (0, 0))
            b.setText(f"{cls} {done:,}/{total:,}")
        if w.eval_set in self.progress:   # the open eval set's figure follows each keystroke
            done = sum(progress[c][0] for c in NOT_UNCHANGED)
            total = sum(progress[c][1] for c in NOT_UNCHANGED)
            self.progress[w.eval_set] = (done, total)
            self._mark_eval_sets()

    # -- the end of a queue -------------------------------------------------
    def after_label(self) -> bool:
        """Called after a label moved on (keys 1-4): True when the queue ended and the notice shows
        (the window then stays on the sample), False to move on as usual."""
        w = self.window
        mine = self._assigned()
        if mine is not None:
            return mine.after_label()
        m = w.model
        row = w.current_row()
        if row < 0 or not m.rowCount():
            return False
        cls = m._arrays["class"][m.position(row)]
        last = row + 1 >= m.rowCount()
        crossing = (not last and m._order is None
                    and m._arrays["class"][m.position(row + 1)] != cls)
        if not (last or crossing):
            return False
        progress = self.class_progress()
        single = m.class_filter is not None and len(m.class_filter) == 1
        queue = cls if (single or crossing or last) else None
        done, total = progress.get(queue, (0, 0))
        if done < total:   # still open items in this queue: keep going as before
            return False
        self.show_notice(queue, done, total)
        return True

    def next_queue(self, after: str) -> tuple[str, str] | None:
        progress = self.class_progress()
        order = [c for c in CLASS_ORDER if c in NOT_UNCHANGED]
        start = order.index(after) + 1 if after in order else 0
        for cls in order[start:]:
            done, total = progress.get(cls, (0, 0))
            if total and done < total:
                return ("class", cls)
        w = self.window
        names = list(w.request.eval_sets) if w.request else []
        if w.eval_set in names:
            for name in names[names.index(w.eval_set) + 1:]:
                done, total = self.progress.get(name, (0, 1))
                if done < total:
                    return ("eval_set", name)
        return None

    def show_notice(self, queue: str, done: int, total: int) -> None:
        target = self.next_queue(queue)
        n = self.notice
        n.target = target
        here = f"{queue} queue of {self.window.eval_set} done ({done}/{total})"
        if target is None:
            n.text.setText(f"{here}. Nothing left to label in this request: Ctrl+Enter to decide.")
            n.go_button.hide()
        else:
            kind, name = target
            if kind == "class":
                d, t = self.class_progress()[name]
                what = f"{name} in {self.window.eval_set} ({d}/{t})"
            else:
                d, t = self.progress.get(name, (0, 0))
                what = f"eval set {name} ({d}/{t})"
            n.text.setText(f"{here}. Next queue: {what} — Enter goes there, Esc stays.")
            n.go_button.show()
        self._show(target)

    def present(self, text: str, target: tuple[str, str] | None) -> None:
        """Show the notice with this text; Enter goes to `target` (None: nowhere to go)."""
        n = self.notice
        n.target = target
        n.text.setText(text)
        n.go_button.setVisible(target is not None)
        self._show(target)

    def _show(self, target) -> None:
        n = self.notice
        n.show()
        for sc in self.go_keys:
            sc.setEnabled(target is not None)
        self.stay_key.setEnabled(True)

    def hide_notice(self) -> None:
        self.notice.hide()
        for sc in self.go_keys:
            sc.setEnabled(False)
        self.stay_key.setEnabled(False)

    def go(self) -> None:
        target = self.notice.target
        self.hide_notice()
        if target is None:
            return
        kind, name = target
        w = self.window
        if kind == "class":
            w.filter_to_class(name)
            row = w.model.next_unlabeled(-1)
            w.select_row(row if row >= 0 else 0)
        else:
            w.load_eval_set(name)


def install_queue_nav(window) -> QueueNav:
    window.queues = QueueNav(window)
    return window.queues
