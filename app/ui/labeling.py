"""Labeling by keys: verdicts, correctness, error categories and comments, with undo, and N.

A label key shows its effect at once and queues the write (app/ui/label_writer.py:
one thread, keystroke order). Undo / redo (Ctrl+Z / Ctrl+Shift+Z) go through a
QUndoStack whose commands re-apply the previous or next values the same way.
In blind mode 1 / 2 mean "A / B better" and are saved as the model that A / B
stands for (app/ui/sample_view.py).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from signoff.core.errors import SignoffError
from signoff.core.model import Verdict
from signoff.ui.detail_pane import label_words
from signoff.ui.label_dialogs import CommentDialog, ErrorPicker
from signoff.ui.label_writer import LabelWriter
from signoff.ui.sample_model import MyLabel

LABEL_FIELDS = ("verdict", "correct", "error", "comment")


def label_fields(fields: dict) -> dict:
    """service.set_label's keyword fields as MyLabel's (verdicts as their words, "" as None)."""
    out = {}
    for k, v in fields.items():
        if k == "verdict":
            out[k] = None if v is None else str(getattr(v, "value", v))
        elif k in ("error", "comment"):
            out[k] = v or None
        elif k == "correct":
            out[k] = v
    return out


class LabelCommand(QUndoCommand):
    """One label change. Already applied when pushed; undo/redo re-apply it through `labeling`."""

    def __init__(self, labeling: "Labeling", key: tuple[int, str, str], before: dict, after: dict, text: str):
        super().__init__(text)
        self._labeling = labeling
        self._key = key
        self._before = before
        self._after = after
        self._applied = True

    def redo(self) -> None:
        if self._applied:  # the first redo() comes from push(): the label is saved already
            self._applied = False
            return
        self._labeling.apply_label(self._key, self._after, select=True)

    def undo(self) -> None:
        self._labeling.apply_label(self._key, self._before, select=True)


class Labeling(QObject):
    labeled = Signal(int)      # a label of this request was queued (its status follows)

    def __init__(self, window, writer: LabelWriter, service, samples, filters):
        super().__init__(window)
        self.w = window
        self.service = service           # reads after the queued labels (ReviewOps.service)
        self.samples = samples
        self.filters = filters
        self.label_dialog = None         # the error picker or comment box last opened (tests drive it)
        self.undo_stack = QUndoStack(window)
        self.writer = writer             # on the raw service: it is what reads wait for
        self.writer.failed.connect(self.label_failed)

    def _message(self, text: str, ms: int) -> None:
        self.w.statusBar().showMessage(text, ms)

    def current_key(self, sid: str | None = None) -> tuple[int, str, str] | None:
        w = self.w
        sid = self.samples.current_sample_id() if sid is None else sid
        if sid is None or w.request is None or w.eval_set is None:
            return None
        return w.request.id, w.eval_set, sid

    # -- the keys -------------------------------------------------------------------------------
    def label_verdict(self, verdict: Verdict) -> None:
        """Keys 1-4. In blind mode 1 / 2 mean "A / B better", saved as the model A / B stands for."""
        verdict = Verdict(verdict)
        text = f"label {verdict.value}"
        if self.samples.blind and verdict in (Verdict.CANDIDATE, Verdict.BASELINE):
            shown = self.samples.detail.shown
            if shown is None or shown.sample_id != self.samples.current_sample_id():
                self._message("Select a sample first.", 3000)
                return
            side = shown.left if verdict == Verdict.CANDIDATE else shown.right   # key 1 = A (left), 2 = B (right)
            text = f"label {side.name} better"
            verdict = Verdict(side.model)
        if self.change_label({"verdict": verdict}, text):
            queues = getattr(self.w, "queues", None)
            if queues is None or not queues.after_label():   # the end of a queue: a notice, not a slide
                self.samples.move(1)

    def label_correct(self, correct: bool) -> None:
        if self.samples.blind:
            self._message("c / x judge the candidate: turn blind mode off (B) to use them.", 4000)
            return
        self.change_label({"correct": correct}, "mark correct" if correct else "mark incorrect")

    def open_error_picker(self) -> None:
        """E: pick an error category from signoff.toml [labels] (type to filter, Enter)."""
        key = self.current_key()
        if key is None:
            self._message("Select a sample first.", 3000)
            return
        categories = list(getattr(self.w.config, "error_categories", ()) or ())
        if not categories:
            self._message("signoff.toml [labels] lists no error categories.", 4000)
            return
        sid = key[2]
        dialog = ErrorPicker(categories, self.samples.model.label_of(sid).error, sid, self.w)
        dialog.chosen.connect(lambda cat, s=sid: self.change_label(
            {"error": cat}, f"error {cat}" if cat else "clear error", sid=s))
        self.label_dialog = dialog
        dialog.open()

    def open_comment_box(self) -> None:
        """M: a comment on this sample (Enter saves, Shift+Enter new line, Esc cancels)."""
        key = self.current_key()
        if key is None:
            self._message("Select a sample first.", 3000)
            return
        sid = key[2]
        current = self.samples.model.label_of(sid).comment
        dialog = CommentDialog(current, sid, self.w)
        dialog.saved.connect(lambda text, s=sid, old=current: (text or None) != (old or None) and self.change_label(
            {"comment": text or None}, "comment" if text else "remove comment", sid=s))
        self.label_dialog = dialog
        dialog.open()

    # -- applying, undo, failures ---------------------------------------------------------------
    def change_label(self, fields: dict, text: str, *, sid: str | None = None) -> bool:
        key = self.current_key(sid)
        if key is None:
            self._message("Select a sample first.", 3000)
            return False
        old = self.samples.model.label_of(key[2])
        before = {k: getattr(old, k) for k in fields}
        after = dict(fields)
        if not self.apply_label(key, after, select=False):
            return False
        self.undo_stack.push(LabelCommand(self, key, before, after, f"{text} on {key[2]}"))
        return True

    def _here(self, key: tuple[int, str, str]) -> bool:
        w = self.w
        return w.request is not None and key[0] == w.request.id and key[1] == w.eval_set

    def apply_label(self, key: tuple[int, str, str], fields: dict, *, select: bool) -> bool:
        """Show the label at once and queue its write; used by keys, undo and redo. A write the
        store refuses comes back to label_failed."""
        request_id, eval_set, sid = key
        current = self.samples.model.label_of(sid) if self._here(key) else MyLabel()
        before = {k: getattr(current, k) for k in LABEL_FIELDS}
        label = MyLabel(**{**before, **label_fields(fields)})
        team_queue = getattr(self.w, "team_queue", None)
        if team_queue is not None and team_queue.adjudicates(key):
            team_queue.adjudicate(key, before, label)    # QA's adjudicated label (app/ui/team_queue.py)
        else:
            try:
                self.writer.submit(key, fields, before, {"refresh": False})   # the status follows, debounced
            except SignoffError as exc:
                self.w.banner.show_message(f"Label not saved: {exc}")
                return False
        self.show_label(key, label, select=select)
        words = (label_words(label, self.samples.names(sid), blind=True) if self.samples.blind
                 else label.words())
        self._message(f"saved: {sid} — {words or 'label cleared'}", 3000)
        self.w.labelSaved.emit(sid)
        self.labeled.emit(request_id)
        return True

    def show_label(self, key: tuple[int, str, str], label: MyLabel, *, select: bool) -> None:
        if not self._here(key):
            return
        sid = key[2]
        model = self.samples.model
        model.set_label(sid, label)
        if select:
            row = model.row_of(sid)
            if row >= 0:
                self.samples.select_row(row)
        if self.samples.current_sample_id() == sid:
            self.samples.detail.set_label(label)
        self.filters.update_counts()

    def label_failed(self, key: tuple[int, str, str], before: dict, message: str, details: str) -> None:
        """A queued label the store refused: say so, and show the label as it was."""
        self.w.banner.show_message(f"Label not saved: {message}", details)
        self.show_label(key, MyLabel(**before), select=False)
        self._message(f"not saved: {key[2]} — {message}", 6000)

    # -- N: the next one to label ---------------------------------------------------------------
    def next_unlabeled(self) -> None:
        team_queue = getattr(self.w, "team_queue", None)
        if team_queue is not None and team_queue.next():   # [policy] overlap: my next assigned item
            return
        row = self._next_in_review_order()                  # a bounded eval set: the stratified sample first
        if row < 0:
            row = self.samples.model.next_unlabeled(self.samples.current_row())
        if row < 0:
            self._message("Every sample in this filter carries your label.", 4000)
            return
        self.samples.select_row(row)

    def _next_in_review_order(self) -> int:
        """On an eval set whose regression rate the policy bounds, N serves the bound's sample in
        its order first (ReviewService.next_to_review, docs/statistics.md "The sample"); -1: no
        such set, the order is done, or none of it is in this filter (the usual next unlabeled).
        The service reads after the queued labels, so a label typed here counts."""
        w = self.w
        if w.request is None or not w.eval_set:
            return -1
        try:
            sid = self.service.next_to_review(w.request.id, w.eval_set, self.samples.current_sample_id())
        except SignoffError:
            return -1
        return -1 if sid is None else self.samples.model.row_of(sid)   # -1 also when this filter hides it

    def shutdown(self, wait: float = 30.0) -> None:
        self.writer.close(wait)
