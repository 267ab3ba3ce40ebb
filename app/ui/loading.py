"""Opening a request and loading an eval set's table, off the GUI thread.

The load is a SingleTask (app/ui/concurrent.py) whose TaskState goes all the
way into ReviewPort.comparison(task=): opening another request or eval set,
or the loading bar's Cancel, stops the old load where it is (the service
raises Cancelled at its next check) and drops anything it still delivers.
"""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QComboBox

from signoff.core.errors import SignoffError
from signoff.core.policy import PolicyVerdict
from signoff.ui.concurrent import SingleTask
from signoff.ui.freed_memory import hand_back_freed_memory
from signoff.ui.inbox import commit_text
from signoff.ui.sample_model import MyLabel, SampleTableModel, others_labels
from signoff.ui.widgets import LoadingBar

EMPTY = ["id", "class", "severity", "delta"]


def load_comparison(service, request_id: int, eval_set: str, *, task, with_verdict: bool = False) -> tuple:
    """Worker-thread side of opening an eval set: no widgets here. With `with_verdict`, the
    policy's verdict too (its coverage reads every eval set's classes: the one just loaded
    comes from the service's cache)."""
    task.report(f"loading comparison of {eval_set}…", None)
    frame = service.comparison_view(request_id, eval_set, task=task)   # a big one paged (issue 16)
    task.report("loading the labels…", None)
    everyone = service.labels_frame(request_id)   # every reviewer: for "reviewers disagree" and "labeled by anyone"
    me = (service.user or "").lower()
    mine = everyone[everyone["user"].astype(str).str.lower() == me] if len(everyone) else everyone
    labels = labels_by_sample(mine, eval_set)
    others = others_labels(everyone, eval_set, service.user)
    task.report("preparing the table…", None)
    prepared = SampleTableModel.prepare(frame, labels, others)
    del frame
    # The reads' buffers (~120 MB at 10M paged, ~40 MB at 1M whole) to the system: here on the
    # worker, not in prepare, which set_frame may also run on the GUI thread.
    hand_back_freed_memory()
    verdict = None
    if with_verdict:
        task.report("checking the policy…", None)
        try:
            verdict = service.verdict(request_id)
        except SignoffError as exc:
            verdict = exc
    return request_id, eval_set, prepared, labels, others, verdict


def labels_by_sample(frame: pd.DataFrame, eval_set: str) -> dict[str, MyLabel]:
    """One reviewer's labels of an eval set (a labels_frame) by sample id; empty labels left out."""
    if frame is None or not len(frame):
        return {}
    mine = frame[frame["eval_set"] == eval_set]
    out: dict[str, MyLabel] = {}
    for rec in mine.to_dict("records"):
        def val(key):
            v = rec.get(key)
            return None if v is None or (not isinstance(v, (str, bool)) and pd.isna(v)) else v
        verdict = val("verdict")
        correct = val("correct")
        lab = MyLabel(verdict=None if verdict is None else str(verdict),
                      correct=None if correct is None else bool(correct),
                      error=val("error"), comment=val("comment"))
        if not lab.is_empty:
            out[str(rec["sample_id"])] = lab
    return out


class Loader(QObject):
    """The eval-set combo, the loading bar, and the load task."""

    def __init__(self, window, ops, samples, filters, verdicts):
        super().__init__(window)
        self.w = window
        self.ops = ops
        self.samples = samples
        self.filters = filters
        self.verdicts = verdicts
        self.task = SingleTask(self)
        self.eval_set_combo = QComboBox()
        self.eval_set_combo.setAccessibleName("eval set")
        self.eval_set_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.eval_set_combo.currentIndexChanged.connect(self._eval_set_chosen)
        self.bar = LoadingBar()
        self.bar.cancel.connect(self.cancel)
        window.banner.retry.connect(self.retry)

    @property
    def running(self) -> bool:
        return self.task.running

    def open_request(self, request_id: int) -> None:
        """Open a request: its header, eval sets, and the first eval set's table."""
        w = self.w
        if w.request is not None and w.request.id == request_id and self.task.running:
            return   # already on its way (the inbox selected it as the window opened, say)
        try:
            request = self.ops.service.get_request(request_id)
            config = self.ops.service.config(request_id)
        except SignoffError as exc:
            w.banner.show_message(f"Could not open request {request_id}: {exc}")
            return
        self.task.cancel()            # another request: the old load stops where it is
        if w.request is None or w.request.id != request_id:
            w.labeling.undo_stack.clear()
        w.request, w.config = request, config
        w.banner.hide()
        if w.inbox.current_request_id() != request_id:
            # Only show it as selected: the inbox's selection signal would open it a second time
            # (two loads of the same table, side by side).
            w.inbox.blockSignals(True)
            try:
                w.inbox.set_requests(self.ops.service.list_requests(), keep=request_id)
            finally:
                w.inbox.blockSignals(False)
        w.setWindowTitle(f"Signoff — {commit_text(request)} {request.title}")
        self.eval_set_combo.blockSignals(True)
        self.eval_set_combo.clear()
        for name in request.eval_sets:   # the name as data: the shown text gains progress (queue_nav)
            self.eval_set_combo.addItem(name, name)
        self.eval_set_combo.blockSignals(False)
        self.verdicts.approve_button.setEnabled(True)
        w.update_status_bar()
        w.requestOpened.emit(request_id)
        if request.eval_sets:
            # The verdict comes with the first eval set (its coverage needs the same table).
            self.verdicts.post_statuses()
            self.verdicts.checking(request)
            self.load_eval_set(request.eval_sets[0], with_verdict=True)
        else:
            self.verdicts.refresh_verdict()
            self.samples.model.set_frame(pd.DataFrame(columns=EMPTY))
            self.samples.detail.clear("This request has no eval sets.")

    def _eval_set_chosen(self, index: int) -> None:
        if index >= 0 and self.w.request is not None:
            name = self.eval_set_combo.itemData(index) or self.eval_set_combo.itemText(index)
            if name != self.w.eval_set:
                self.load_eval_set(name)

    def load_eval_set(self, eval_set: str, *, with_verdict: bool = False) -> None:
        w = self.w
        if w.request is None:
            return
        w.eval_set = eval_set
        idx = self.eval_set_combo.findData(eval_set)
        if idx >= 0 and idx != self.eval_set_combo.currentIndex():
            self.eval_set_combo.blockSignals(True)
            self.eval_set_combo.setCurrentIndex(idx)
            self.eval_set_combo.blockSignals(False)
        try:
            output_type = w.config.eval_set(eval_set).output_type if w.config else "text"
        except SignoffError:
            output_type = "text"
        self.samples.detail.set_context(w.request.id, eval_set, output_type)
        w.banner.hide()
        self.bar.start(f"loading {eval_set}…")
        self.filters.set_enabled(False)
        self.samples.model.set_frame(pd.DataFrame(columns=EMPTY))
        self.samples.detail.clear("Loading…")
        # ops.service: the labels read back include the ones still queued a moment ago.
        self.task.start(load_comparison, self.ops.service, w.request.id, eval_set, with_verdict=with_verdict,
                        on_progress=self.bar.progress, on_finished=self._loaded,
                        on_failed=self._failed, on_cancelled=self._cancelled)

    def cancel(self) -> None:
        """The loading bar's Cancel: the load stops, and the banner offers Retry."""
        if self.task.cancel():
            self._cancelled()

    def retry(self) -> None:
        if self.w.request is not None and self.w.eval_set:
            self.load_eval_set(self.w.eval_set)

    def _loaded(self, result) -> None:
        w = self.w
        self.bar.hide()
        request_id, eval_set, prepared, labels, others, verdict = result
        self.filters.stop_search()
        model = self.samples.model
        model.set_frame(prepared)
        if isinstance(verdict, PolicyVerdict):
            self.verdicts.show_verdict(verdict)
        elif isinstance(verdict, SignoffError):
            self.verdicts.not_evaluated(verdict)
        self.filters.reset(model.frame)
        self.samples.show_table()
        self.filters.start_index()
        self.filters.update_counts()
        # Land on the first unlabeled sample of the default filter: worst first, so a regression.
        row = model.next_unlabeled(-1)
        self.samples.select_row(row if row >= 0 else 0)
        self.samples.table.setFocus()
        w.comparisonLoaded.emit(request_id, eval_set)

    def _failed(self, message: str, details: str) -> None:
        self.bar.hide()
        self.samples.detail.clear("")
        self.w.banner.show_message(f"Could not load {self.w.eval_set}: {message}", details, can_retry=True)
        self.w.loadFailed.emit(message)

    def _cancelled(self) -> None:
        self.bar.hide()
        self.w.banner.show_message(f"Loading {self.w.eval_set} was cancelled.", can_retry=True)

    def shutdown(self, wait: float = 3.0) -> None:
        self.task.shutdown(wait)
