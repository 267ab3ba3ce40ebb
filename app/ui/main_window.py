"""The workbench window: inbox | comparison (header, sample table) | detail.

The window talks only to the ReviewService contract (app/service/review.py).
Loading a comparison runs off the GUI thread (signoff.ui.workers) with progress
and Cancel; labels are saved synchronously on the keystroke (the store is
local) through a QUndoStack, so Ctrl+Z / Ctrl+Shift+Z call
service.set_label with the previous values (verdicts, correctness, error
categories and comments alike).

Blind mode (B) shows the two outputs as A and B in a per-sample order
(signoff.core.shown.blind_candidate_first) and hides what would tell them
apart (scores, Δscore, improved/regressed); keys 1 / 2 then mean "A / B
better" and are saved as the model that A / B stands for.

A substring search over a big table (ASYNC_SEARCH_ROWS and more) runs on a
worker (sample_model.search_rows over an signoff.core.search.SearchIndex, built
on a worker right after the table opens); the table keeps its rows until the
new ones are ready, so typing never blocks the window.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFrame, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QMainWindow, QMessageBox, QPlainTextEdit,
                               QProgressBar, QPushButton, QSplitter, QTableView, QVBoxLayout,
                               QWidget)

from signoff.core.errors import SignoffError
from signoff.core.model import Verdict
from signoff.core.policy import PolicyVerdict
from signoff.core.policy_change import PolicyChange
from signoff.core.search import SearchIndex
from signoff.core.shown import blind_candidate_first
from signoff.store.records import RequestRecord
from signoff.ui import workers
from signoff.ui.actions import ACTIONS, shortcut_sheet
from signoff.ui.about_dialog import AboutDialog, app_icon
from signoff.ui.approval_dialog import ApprovalDialog, status_line
from signoff.ui.detail_pane import DetailPane, label_words
from signoff.ui.diff_view import plain_label, plain_tooltip
from signoff.ui.outbox_drain import BackgroundDrain
from signoff.ui.inbox import Inbox, commit_text, dot_icon
from signoff.ui.palette import CLASS_STYLE, STATUS_STYLE
from signoff.ui.policy_change_view import PolicyChangeBox
from signoff.ui.label_dialogs import CommentDialog, ErrorPicker
from signoff.ui.label_writer import LabelWriter
from signoff.ui.logfile import log_path
from signoff.ui.sample_model import (CLASS_ORDER, NOT_UNCHANGED, REVIEW_FILTERS, SEARCH_COLUMNS, MyLabel, SampleTableModel, others_labels, search_rows, slice_columns)

log = logging.getLogger(__name__)

FILTERS: list[tuple[str, set[str] | None]] = [
    ("all but unchanged", set(NOT_UNCHANGED)),
    ("all samples", None),
    *[(c, {c}) for c in CLASS_ORDER],
]
MAX_SLICE_VALUES = 200
SLICE_SEP = "\x1f"
SHIFTED_SYMBOLS = ("?",)
ASYNC_SEARCH_ROWS = 200_000     # from this many rows on, the search runs on a worker


def blind_names(request_id, eval_set: str, sample_id: str) -> dict[str, str]:
    """model -> "A" / "B" for one sample in blind mode."""
    if blind_candidate_first(request_id, eval_set, sample_id):
        return {"candidate": "A", "baseline": "B"}
    return {"baseline": "A", "candidate": "B"}


def load_comparison(service, request_id: int, eval_set: str, *, task, with_verdict: bool = False) -> tuple:
    """Worker-thread side of opening an eval set: no widgets here. With `with_verdict`, the
    policy's verdict too (its coverage reads every eval set's classes: the one just loaded
    comes from the service's cache)."""
    task.report(f"loading comparison of {eval_set}…", None)
    frame = service.comparison_view(request_id, eval_set)   # a big one paged (issue 16)
    task.check()
    task.report("loading the labels…", None)
    everyone = service.labels_frame(request_id)   # every reviewer: for "reviewers disagree" and "labeled by anyone"
    me = (service.user or "").lower()
    mine = everyone[everyone["user"].astype(str).str.lower() == me] if len(everyone) else everyone
    labels = labels_by_sample(mine, eval_set)
    others = others_labels(everyone, eval_set, service.user)
    task.check()
    task.report("preparing the table…", None)
    prepared = SampleTableModel.prepare(frame, labels, others)
    verdict = None
    if with_verdict:
        task.report("checking the policy…", None)
        try:
            verdict = service.verdict(request_id)
        except SignoffError as exc:
            verdict = exc
    return request_id, eval_set, prepared, labels, others, verdict


def refresh_statuses(service, writer, dirty: set[int], current: int) -> tuple:
    """Worker side of the debounced verdict: once the queued labels are written, re-evaluate
    (and queue for posting) the statuses of the requests labeled, and the open one's verdict.
    Returns (open request id, its verdict, whether any status was re-evaluated)."""
    writer.flush()
    refreshed = {}
    for request_id in dirty:
        try:
            refreshed[request_id] = service.refresh_status(request_id)
        except Exception:   # the labels are saved; the status follows on the next refresh
            log.exception("refresh_status failed")
    verdict = refreshed.get(current)
    if not isinstance(verdict, PolicyVerdict):
        verdict = service.verdict(current)
    return current, verdict, bool(refreshed)


def header_text(r: RequestRecord) -> str:
    """The comparison header: "1a69639 vs 783bc14e0f1a · title"; for two MLflow versions
    opened by browsing (no commit), "v2 vs v1 · title"."""
    changed = " · signoff.toml changed (not applied)" if getattr(r, "candidate_config_toml", "") else ""
    if r.source == "mlflow" and " vs " in commit_text(r):
        return f"{commit_text(r)} · {r.title}{changed}"
    return f"{r.sha[:7]} vs {r.baseline_ref[:12]} · {r.title}{changed}"


def _label_fields(fields: dict) -> dict:
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


def labels_by_sample(frame: pd.DataFrame, eval_set: str) -> dict[str, MyLabel]:
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


class LabelCommand(QUndoCommand):
    """One label change. Already applied when pushed; undo/redo re-apply through the service."""

    def __init__(self, window: "MainWindow", key: tuple[int, str, str], before: dict, after: dict, text: str):
        super().__init__(text)
        self._window = window
        self._key = key
        self._before = before
        self._after = after
        self._applied = True

    def redo(self) -> None:
        if self._applied:  # the first redo() comes from push(): the label is saved already
            self._applied = False
            return
        self._window.apply_label(self._key, self._after, select=True)

    def undo(self) -> None:
        self._window.apply_label(self._key, self._before, select=True)


class Banner(QFrame):
    """A message in the window (errors, cancelled loads), details one click away."""

    retry = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("Banner { border-left: 4px solid #D55E00; }")
        self.message = plain_label("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        self.retry_button = QPushButton("Retry")
        self.close_button = QPushButton("Dismiss")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.message, 1)
        lay.addWidget(self.details_button)
        lay.addWidget(self.retry_button)
        lay.addWidget(self.close_button)
        self.details_button.clicked.connect(self.show_details)
        self.retry_button.clicked.connect(self.retry)
        self.close_button.clicked.connect(self.hide)
        self._details = ""
        self.hide()

    def show_message(self, message: str, details: str = "", *, can_retry: bool = False) -> None:
        self.message.setText(message)
        self._details = details
        self.details_button.setVisible(bool(details))
        self.retry_button.setVisible(can_retry)
        self.show()

    def show_details(self) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Details")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(self.message.text())
        box.setDetailedText(self._details + _log_hint())
        box.open()

    @property
    def details(self) -> str:
        return self._details


def _log_hint() -> str:
    path = log_path()
    return f"\n\nLog file: {path}" if path else ""


class LoadingBar(QWidget):
    cancel = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.message = plain_label("")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(self.message, 1)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self.cancel)
        self.hide()

    def start(self, message: str) -> None:
        self.message.setText(message)
        self.bar.setRange(0, 0)
        self.show()

    def progress(self, message: str, fraction: float) -> None:
        if message:
            self.message.setText(message)
        if fraction < 0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))


class SampleTable(QTableView):
    """The sample table: fixed row height (fast with 1M rows), whole-row selection."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)
        vh = self.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vh.hide()
        self.setIconSize(QSize(10, 10))
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        hh.setSortIndicatorShown(True)
        hh.setSectionsClickable(True)
        hh.setHighlightSections(False)
        self.setAccessibleName("samples")

    def keyboardSearch(self, search: str) -> None:
        # Letters are review keys (j, k, n, c, x), not "jump to the row starting with…".
        return


class MainWindow(QMainWindow):
    requestOpened = Signal(int)
    comparisonLoaded = Signal(int, str)
    loadFailed = Signal(str)
    labelSaved = Signal(str)
    filtersApplied = Signal()

    def __init__(self, service, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.request: RequestRecord | None = None
        self.config = None
        self.eval_set: str | None = None
        self.verdict: PolicyVerdict | None = None
        self._load_worker: workers.Worker | None = None
        self._load_token = 0
        self._search_worker: workers.Worker | None = None
        self._search_token = 0
        self._index_worker: workers.Worker | None = None
        self._index_token = 0
        self._pending_search: str | None = None
        self.blind = False
        self._status_dirty: set[int] = set()
        self.label_dialog = None            # the error picker or comment box last opened (tests drive it)
        self.undo_stack = QUndoStack(self)
        self.label_writer = LabelWriter(service, self)
        self.label_writer.failed.connect(self._label_failed)
        self.approval_dialog: ApprovalDialog | None = None   # the last one opened (tests drive it)
        self.setWindowTitle("Signoff")
        self.setWindowIcon(app_icon())
        self.resize(1440, 860)

        self._build_widgets()
        self._build_actions()
        self._verdict_timer = QTimer(self, singleShot=True, interval=400)
        self._verdict_timer.timeout.connect(self._refresh_verdict_in_background)
        self._verdict_worker: workers.Worker | None = None
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self._apply_filters)
        self.refresh_inbox()
        # Post what waits in the outbox in the background (only over a real store, not a test double).
        store = getattr(service, "store", None)
        self.outbox_drain = BackgroundDrain(store, self) if hasattr(store, "claim_outbox") else None
        if self.outbox_drain is not None:
            self.outbox_drain.changed.connect(lambda _state: self.update_status_bar())
            self.outbox_drain.drain_now()
        self.update_status_bar()
        from signoff.ui.workbench_extras import install_extras  # charts tab, export/report/settings, saved layout

        install_extras(self)
        from signoff.ui.queue_nav import install_queue_nav   # ] / [, queue progress, the end-of-queue notice
        from signoff.ui.team_view import install_team        # other reviewers' labels, live refresh

        install_queue_nav(self)
        install_team(self)
        from signoff.ui.team_queue import install_team_queue   # my assigned queue, QA's adjudication, inbox queues
        from signoff.ui.reassign_dialog import install_reassign  # Review ▸ Reassign…

        install_team_queue(self)
        install_reassign(self)
        self.team_queue.refresh_inbox_queues()
        from signoff.ui.new_review import install_new_review   # File ▸ New review…, the empty inbox's buttons
        from signoff.ui.fit import install_fit                 # narrow windows, the inbox that folds, search hits

        install_new_review(self)
        install_fit(self)

    # ------------------------------------------------------------------ layout
    def _build_widgets(self) -> None:
        self.inbox = Inbox()
        self.inbox.set_service(self.service)   # "mine": roles, labels and decisions of the service's user
        self.inbox.requestSelected.connect(self.open_request)

        # Header: what this is, what blocks approval, how to filter.
        self.title_label = plain_label("Open a review request from the inbox")
        f = self.title_label.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.title_label.setFont(f)
        self.title_label.setWordWrap(True)
        self.verdict_label = plain_label("")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.eval_set_combo = QComboBox()
        self.eval_set_combo.setAccessibleName("eval set")
        self.eval_set_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.eval_set_combo.currentIndexChanged.connect(self._eval_set_chosen)
        self.class_buttons: dict[str, QPushButton] = {}
        class_row = QHBoxLayout()
        class_row.setSpacing(4)
        eval_label = plain_label("eval set:")
        class_row.addWidget(eval_label)
        class_row.addWidget(self.eval_set_combo)
        class_row.addSpacing(12)
        for cls in CLASS_ORDER:
            b = QPushButton(cls)
            b.setCheckable(True)
            b.setIcon(dot_icon(CLASS_STYLE[cls][0]))
            b.setToolTip(f"show only {cls} samples (click again for all but unchanged)")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda checked=False, c=cls: self.filter_to_class(c))
            self.class_buttons[cls] = b
            class_row.addWidget(b)
        class_row.addStretch(1)

        self.filter_combo = QComboBox()
        self.filter_combo.setAccessibleName("class filter")
        for text, _ in FILTERS:
            self.filter_combo.addItem(text)
        self.filter_combo.currentIndexChanged.connect(self._filter_chosen)
        self.slice_combo = QComboBox()
        self.slice_combo.setAccessibleName("slice filter")
        self.slice_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.slice_combo.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("search id, input, outputs   ( / )")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName("search")
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.search_edit.returnPressed.connect(self._search_done)
        self.review_combo = QComboBox()
        self.review_combo.setAccessibleName("label filter")
        self.review_combo.setToolTip("by who labeled: anyone, you, or samples where the reviewers disagree")
        for key, text in REVIEW_FILTERS:
            self.review_combo.addItem(text, key)
        self.review_combo.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.blind_check = QCheckBox("blind (B)")
        self.blind_check.setToolTip("show the outputs as A and B in a random order per sample and hide which "
                                    "is the candidate (scores and Δscore too); 1 / 2 then mean A / B better")
        self.blind_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.blind_check.toggled.connect(self.set_blind)
        filter_row = QHBoxLayout()
        filter_row.addWidget(plain_label("class:"))
        filter_row.addWidget(self.filter_combo)
        filter_row.addWidget(plain_label("slice:"))
        filter_row.addWidget(self.slice_combo)
        filter_row.addWidget(plain_label("labels:"))
        filter_row.addWidget(self.review_combo)
        filter_row.addWidget(plain_label("search:"))
        filter_row.addWidget(self.search_edit, 1)
        filter_row.addWidget(self.blind_check)
        self.count_label = plain_label("")
        filter_row.addWidget(self.count_label)

        header = QWidget()
        hl = QVBoxLayout(header)
        hl.setContentsMargins(6, 6, 6, 2)
        hl.setSpacing(4)
        hl.addWidget(self.title_label)
        self.policy_change_box = PolicyChangeBox()   # a candidate's change to signoff.toml: line + diff
        hl.addWidget(self.policy_change_box)
        verdict_row = QHBoxLayout()
        self.verdict_dot = QLabel()
        self.verdict_dot.setFixedWidth(14)
        verdict_row.addWidget(self.verdict_dot, 0, Qt.AlignmentFlag.AlignTop)
        verdict_row.addWidget(self.verdict_label, 1)
        hl.addLayout(verdict_row)
        hl.addLayout(class_row)
        hl.addLayout(filter_row)

        self.loading = LoadingBar()
        self.loading.cancel.connect(self.cancel_loading)
        self.banner = Banner()
        self.banner.retry.connect(self._retry_load)

        self.model = SampleTableModel(self)
        self.table = SampleTable()
        self.table.setModel(self.model)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.table.horizontalHeader().sectionClicked.connect(self._header_clicked)
        table_header = self.table.horizontalHeader()
        table_header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table_header.customContextMenuRequested.connect(self._header_menu)
        table_header.setToolTip("click to sort; right-click for more columns (scores, outputs, confidence, …)")
        self._optional_columns: list[str] = []     # chosen in the header's menu, kept across eval sets
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder

        self.detail = DetailPane()

        self.work_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.work_splitter.addWidget(self.table)
        self.work_splitter.addWidget(self.detail)
        self.work_splitter.setStretchFactor(0, 2)
        self.work_splitter.setStretchFactor(1, 3)
        self.work_splitter.setChildrenCollapsible(False)
        self.work_splitter.setSizes([560, 620])

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(2)
        rl.addWidget(header)
        rl.addWidget(self.loading)
        rl.addWidget(self.banner)
        rl.addWidget(self.work_splitter, 1)

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.inbox)
        self.main_splitter.addWidget(right)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([260, 1180])
        self.main_splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.main_splitter)

        self.status_label = plain_label("")
        # Permanent, so a passing message ("saved: …") never hides who you are or the outbox.
        self.statusBar().addPermanentWidget(self.status_label)
        self.approve_button = QPushButton("Approve…  (Ctrl+Enter)")
        self.approve_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.approve_button.clicked.connect(self.open_approval_dialog)
        self.approve_button.setEnabled(False)
        self.statusBar().addPermanentWidget(self.approve_button)
        self._set_filter_enabled(False)

    def _build_actions(self) -> None:
        handlers = {
            "label.candidate": lambda: self.label_verdict(Verdict.CANDIDATE),
            "label.baseline": lambda: self.label_verdict(Verdict.BASELINE),
            "label.tie": lambda: self.label_verdict(Verdict.TIE),
            "label.both_wrong": lambda: self.label_verdict(Verdict.BOTH_WRONG),
            "label.correct": lambda: self.label_correct(True),
            "label.incorrect": lambda: self.label_correct(False),
            "label.error": self.open_error_picker,
            "label.comment": self.open_comment_box,
            "view.blind": lambda: self.set_blind(self.actions_by_id["view.blind"].isChecked()),
            "view.raw": self.toggle_raw,
            "view.mode": self.cycle_view_mode,
            "view.zoom_in": lambda: self.detail.view.zoom(1),
            "view.zoom_out": lambda: self.detail.view.zoom(-1),
            "view.zoom_fit": lambda: self.detail.view.zoom_fit(),
            "nav.next": lambda: self.move(1),
            "nav.previous": lambda: self.move(-1),
            "nav.next_unlabeled": self.next_unlabeled,
            "view.search": self.focus_search,
            "view.invisibles": lambda: self.detail.show_invisibles.toggle(),
            "view.worst_first": self.sort_worst_first,
            "view.refresh": self.refresh_all,
            "decide.open": self.open_approval_dialog,
            "help.shortcuts": self.show_shortcuts,
            "help.about": self.show_about,
            "file.mlflow": self.open_mlflow_browser,
            "app.quit": self.close,
        }
        self.actions_by_id: dict[str, QAction] = {}
        menus: dict[str, object] = {}
        for name in ("File", "Edit", "Review", "View", "Help"):
            menus[name] = self.menuBar().addMenu(f"&{name}")
        for spec in ACTIONS:
            if spec.id == "edit.undo":
                action = self.undo_stack.createUndoAction(self, spec.title)
            elif spec.id == "edit.redo":
                action = self.undo_stack.createRedoAction(self, spec.title)
            else:
                action = QAction(spec.title, self)
                action.triggered.connect(lambda checked=False, h=handlers[spec.id]: h())
            keys = [QKeySequence(k) for k in spec.keys]
            if spec.id == "edit.undo":
                keys = [QKeySequence(QKeySequence.StandardKey.Undo)] + [k for k in keys if k != QKeySequence(QKeySequence.StandardKey.Undo)]
            # "?" is typed with Shift on most layouts; not every platform plugin matches it without.
            keys += [QKeySequence(f"Shift+{k}") for k in spec.keys if k in SHIFTED_SYMBOLS]
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if spec.tip:
                action.setStatusTip(spec.tip)
            action.setObjectName(spec.id)
            action.setCheckable(spec.checkable)
            self.addAction(action)
            menus[spec.menu].addAction(action)
            self.actions_by_id[spec.id] = action

    # ------------------------------------------------------------------ inbox
    def refresh_inbox(self) -> None:
        self.flush_labels()   # the inbox's "still missing" counts read the labels
        try:
            records = self.service.list_requests()
        except SignoffError as exc:
            self.banner.show_message(f"Could not list review requests: {exc}")
            return
        self.inbox.set_requests(records, keep=self.request.id if self.request else None)
        self.inbox.refresh_mlflow()   # versions CI tagged for review on the MLflow servers in Settings (worker)

    def refresh_all(self) -> None:
        """F5: the inbox, and the open request as the store has it now."""
        team = getattr(self, "team", None)
        if team is not None:
            team.refresh_now()
        else:
            self.refresh_inbox()

    def open_request(self, request_id: int) -> None:
        """Open a request: its header, eval sets, and the first eval set's table."""
        if (self.request is not None and self.request.id == request_id and self._load_worker is not None
                and self._load_worker.is_running):
            return   # already on its way (the inbox selected it as the window opened, say)
        try:
            request = self.service.get_request(request_id)
            config = self.service.config(request_id)
        except SignoffError as exc:
            self.banner.show_message(f"Could not open request {request_id}: {exc}")
            return
        if self.request is None or self.request.id != request_id:
            self.undo_stack.clear()
        self.request, self.config = request, config
        self.banner.hide()
        if self.inbox.current_request_id() != request_id:
            # Only show it as selected: the inbox's selection signal would open it a second time
            # (two loads of the same table, side by side).
            self.inbox.blockSignals(True)
            try:
                self.inbox.set_requests(self.service.list_requests(), keep=request_id)
            finally:
                self.inbox.blockSignals(False)
        self.setWindowTitle(f"Signoff — {commit_text(request)} {request.title}")
        self.eval_set_combo.blockSignals(True)
        self.eval_set_combo.clear()
        for name in request.eval_sets:   # the name as data: the shown text gains progress (queue_nav)
            self.eval_set_combo.addItem(name, name)
        self.eval_set_combo.blockSignals(False)
        self.approve_button.setEnabled(True)
        self.update_status_bar()
        self.requestOpened.emit(request_id)
        if request.eval_sets:
            # The verdict comes with the first eval set (its coverage needs the same table).
            self.flush_status()
            self.title_label.setText(header_text(request))
            self.verdict_label.setText("checking the policy…")
            self.load_eval_set(request.eval_sets[0], with_verdict=True)
        else:
            self.refresh_verdict()
            self.model.set_frame(pd.DataFrame(columns=["id", "class", "severity", "delta"]))
            self.detail.clear("This request has no eval sets.")

    def _eval_set_chosen(self, index: int) -> None:
        if index >= 0 and self.request is not None:
            name = self.eval_set_combo.itemData(index) or self.eval_set_combo.itemText(index)
            if name != self.eval_set:
                self.load_eval_set(name)

    # ------------------------------------------------------------------ loading
    def load_eval_set(self, eval_set: str, *, with_verdict: bool = False) -> None:
        if self.request is None:
            return
        self.flush_labels()   # the table reads the labels back from the store
        self.cancel_loading(quiet=True)
        self._load_token += 1
        token = self._load_token
        self.eval_set = eval_set
        idx = self.eval_set_combo.findData(eval_set)
        if idx >= 0 and idx != self.eval_set_combo.currentIndex():
            self.eval_set_combo.blockSignals(True)
            self.eval_set_combo.setCurrentIndex(idx)
            self.eval_set_combo.blockSignals(False)
        try:
            output_type = self.config.eval_set(eval_set).output_type if self.config else "text"
        except SignoffError:
            output_type = "text"
        self.detail.set_context(self.request.id, eval_set, output_type)
        self.banner.hide()
        self.loading.start(f"loading {eval_set}…")
        self._set_filter_enabled(False)
        self.model.set_frame(pd.DataFrame(columns=["id", "class", "severity", "delta"]))
        self.detail.clear("Loading…")
        # Connect before starting: a fast function may finish before the next line runs.
        worker = workers.Worker(load_comparison, self.service, self.request.id, eval_set, with_task=True,
                                with_verdict=with_verdict)
        worker.signals.progress.connect(self.loading.progress)
        worker.signals.finished.connect(lambda result, t=token: self._loaded(t, result))
        worker.signals.failed.connect(lambda msg, details, t=token: self._load_failed(t, msg, details))
        worker.signals.cancelled.connect(lambda t=token: self._load_cancelled(t))
        self._load_worker = workers.start(worker)

    def cancel_loading(self, quiet: bool = False) -> None:
        w = self._load_worker
        if w is not None and w.is_running:
            w.cancel()
            if not quiet:
                self._load_token += 1  # results arriving later are dropped
                self.loading.hide()
                self.banner.show_message(f"Loading {self.eval_set} was cancelled.", can_retry=True)
        self._load_worker = None

    def _retry_load(self) -> None:
        if self.request is not None and self.eval_set:
            self.load_eval_set(self.eval_set)

    def _loaded(self, token: int, result) -> None:
        if token != self._load_token:
            return
        self._load_worker = None
        self.loading.hide()
        request_id, eval_set, prepared, labels, others, verdict = result
        self._cancel_search()
        self._cancel_index()
        self.model.set_frame(prepared)
        frame = self.model.frame
        if isinstance(verdict, PolicyVerdict):
            self._show_verdict(verdict)
        elif isinstance(verdict, SignoffError):
            self.verdict_label.setText(f"policy could not be evaluated: {verdict}")
        self._sort_column = -1
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self._fill_slices(frame)
        self.filter_combo.blockSignals(True)
        self.filter_combo.setCurrentIndex(0)
        self.filter_combo.blockSignals(False)
        self.search_edit.blockSignals(True)
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self.review_combo.blockSignals(True)
        self.review_combo.setCurrentIndex(0)
        self.review_combo.blockSignals(False)
        self.model.set_filter(classes=FILTERS[0][1], search="", slice_=None, review=None)
        self._set_filter_enabled(True)
        if self._optional_columns:
            self.model.set_optional_columns(self._optional_columns)
        self._size_columns()
        self._apply_blind_to_table()
        if len(frame) >= ASYNC_SEARCH_ROWS:
            self._start_index()
        self._update_counts()
        # Land on the first unlabeled sample of the default filter: worst first, so a regression.
        row = self.model.next_unlabeled(-1)
        self.select_row(row if row >= 0 else 0)
        self.table.setFocus()
        self.comparisonLoaded.emit(request_id, eval_set)

    def _load_failed(self, token: int, message: str, details: str) -> None:
        if token != self._load_token:
            return
        self._load_worker = None
        self.loading.hide()
        self.detail.clear("")
        self.banner.show_message(f"Could not load {self.eval_set}: {message}", details, can_retry=True)
        self.loadFailed.emit(message)

    def _load_cancelled(self, token: int) -> None:
        if token != self._load_token:
            return
        self._load_worker = None
        self.loading.hide()
        self.banner.show_message(f"Loading {self.eval_set} was cancelled.", can_retry=True)

    def _size_columns(self) -> None:
        fm = self.table.fontMetrics()
        for i, col in enumerate(self.model.columns_):
            sample = {"id": "s-0000000", "class": "▼ unchanged  ", "delta": "−0.00 ", "mine": "✓ both ✗ · wrong"}
            text = sample.get(col.key, col.title + "  ")
            if col.key not in sample:
                # slice columns: the widest of a few values
                vals = [self.model.data(self.model.index(r, i)) or "" for r in range(min(50, self.model.rowCount()))]
                text = max([col.title, *vals], key=len) + "  "
            width = min(max(fm.horizontalAdvance(text), fm.horizontalAdvance(col.title)) + 24, 260)
            self.table.setColumnWidth(i, width)

    # ------------------------------------------------------------------ filters
    def _set_filter_enabled(self, on: bool) -> None:
        for w in (self.filter_combo, self.slice_combo, self.review_combo, self.search_edit,
                  *self.class_buttons.values()):
            w.setEnabled(on)

    def _fill_slices(self, frame: pd.DataFrame) -> None:
        self.slice_combo.blockSignals(True)
        self.slice_combo.clear()
        self.slice_combo.addItem("all slices", None)
        for col in slice_columns(frame):
            codes, uniques = self.model.slice_values(col)   # factorized on the loading worker
            if len(uniques) > MAX_SLICE_VALUES:
                continue
            counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
            for value, count in sorted(zip(uniques.tolist(), counts.tolist())):
                self.slice_combo.addItem(f"{col} = {value}  ({count:,})", f"{col}{SLICE_SEP}{value}")
        self.slice_combo.blockSignals(False)
        self.slice_combo.setVisible(self.slice_combo.count() > 1)

    def _filter_chosen(self, index: int) -> None:
        self._apply_filters()

    def filter_to_class(self, cls: str) -> None:
        """The class-count buttons: one click filters to that class, a second back to the default."""
        current = self.model.class_filter
        target = 0 if current == {cls} else 2 + CLASS_ORDER.index(cls)
        self.filter_combo.setCurrentIndex(target)  # -> _apply_filters

    def set_search(self, text: str) -> None:
        """Set the search text and filter at once (tests, and Enter in the box)."""
        self.search_edit.setText(text)
        self._search_timer.stop()
        self._apply_filters()

    def _search_done(self) -> None:
        self._search_timer.stop()
        self._apply_filters()
        self.table.setFocus()

    def _apply_filters(self) -> None:
        if self.model.frame is None:
            return
        keep = self.current_sample_id()
        classes = FILTERS[max(0, self.filter_combo.currentIndex())][1]
        data = self.slice_combo.currentData()
        slice_ = tuple(data.split(SLICE_SEP, 1)) if isinstance(data, str) and SLICE_SEP in data else None
        needle = self.search_edit.text().strip()
        search = needle
        review = self.review_combo.currentData()
        if len(self.model.frame) >= ASYNC_SEARCH_ROWS and not self.model.has_search_hits(needle):
            # Big table: the other filters now, the search on a worker (the rows of the
            # last search stay until the new ones are ready).
            self._start_search(needle)
            search = self.model.search_text
            if (classes, slice_, review) == (self.model.class_filter, self.model.slice_filter, self.model.review_filter):
                self._update_counts()     # only the search changed: its worker refilters
                return
        else:
            self._cancel_search()
        self.model.set_filter(classes=classes, search=search, slice_=slice_, review=review)
        self._update_counts()
        row = self.model.row_of(keep) if keep is not None else -1
        self.select_row(row if row >= 0 else 0)
        if self._search_worker is None and self._pending_search is None:
            self.filtersApplied.emit()

    def _start_search(self, needle: str) -> None:
        self._cancel_search()
        self._search_token += 1
        token = self._search_token
        if self._index_worker is not None:
            # The index is being built: this search runs as soon as it is there.
            self._pending_search = needle
            self.count_label.setText(f"preparing the search of {len(self.model.frame):,} samples…")
            return
        self.count_label.setText(f"searching {len(self.model.frame):,} samples for “{needle[:40]}”…")
        worker = workers.Worker(search_rows, self.model.frame, needle, self.model.search_index, with_task=True)
        worker.signals.finished.connect(lambda result, t=token, n=needle: self._search_found(t, n, result))
        worker.signals.failed.connect(lambda msg, details, t=token: self._search_failed(t, msg, details))
        self._search_worker = workers.start(worker)

    def _start_index(self) -> None:
        """Big tables: build the search index on a worker as soon as the table is shown."""
        self._cancel_index()
        token = self._index_token
        worker = workers.Worker(SearchIndex.build, self.model.frame, SEARCH_COLUMNS, with_task=True)
        worker.signals.finished.connect(lambda index, t=token: self._index_built(t, index))
        worker.signals.failed.connect(lambda msg, details, t=token: self._index_built(t, None))
        self._index_worker = workers.start(worker)

    def _cancel_index(self) -> None:
        if self._index_worker is not None:
            self._index_worker.cancel()
            self._index_worker = None
        self._index_token += 1
        self._pending_search = None

    def _index_built(self, token: int, index) -> None:
        if token != self._index_token:
            return
        self._index_worker = None
        if index is not None:
            self.model.set_search_index(index)
        pending, self._pending_search = self._pending_search, None
        if pending is not None and pending == self.search_edit.text().strip():
            self._start_search(pending)

    def _cancel_search(self) -> None:
        if self._search_worker is not None:
            self._search_worker.cancel()
            self._search_worker = None
        self._search_token += 1
        self._pending_search = None

    def _search_found(self, token: int, needle: str, result) -> None:
        if token != self._search_token:
            return
        self._search_worker = None
        mask, index = result
        keep = self.current_sample_id()
        self.model.set_search_hits(needle, mask, index)
        self._update_counts()
        row = self.model.row_of(keep) if keep is not None else -1
        self.select_row(row if row >= 0 else 0)
        self.filtersApplied.emit()

    def _search_failed(self, token: int, message: str, details: str) -> None:
        if token != self._search_token:
            return
        self._search_worker = None
        self.banner.show_message(f"Search failed: {message}", details)
        self._update_counts()

    def _update_counts(self) -> None:
        counts = self.model.class_counts()
        current = self.model.class_filter
        for cls, b in self.class_buttons.items():
            b.setText(f"{cls} {counts.get(cls, 0):,}")
            b.setChecked(current == {cls})
        total = len(self.model.frame)
        text = f"{self.model.visible_count():,} of {total:,} shown · {self.model.labeled_count():,} labeled by you"
        if self._search_worker is not None or self._pending_search is not None:
            text = "searching… · " + text
        self.count_label.setText(text)
        if getattr(self, "queues", None) is not None:
            self.queues.update_buttons()     # "7/79" per class

    def _header_clicked(self, column: int) -> None:
        if column == self._sort_column:
            self._sort_order = (Qt.SortOrder.DescendingOrder if self._sort_order == Qt.SortOrder.AscendingOrder
                                else Qt.SortOrder.AscendingOrder)
        else:
            self._sort_column, self._sort_order = column, Qt.SortOrder.AscendingOrder
        self.table.horizontalHeader().setSortIndicator(column, self._sort_order)
        keep = self.current_sample_id()
        self.model.sort(column, self._sort_order)
        if keep is not None:
            self.select_row(self.model.row_of(keep))

    def sort_worst_first(self) -> None:
        keep = self.current_sample_id()
        self._sort_column = -1
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.model.reset_order()
        if keep is not None:
            self.select_row(self.model.row_of(keep))

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    # ------------------------------------------------------------------ selection
    def current_row(self) -> int:
        idx = self.table.currentIndex()
        return idx.row() if idx.isValid() else -1

    def current_sample_id(self) -> str | None:
        row = self.current_row()
        return self.model.sample_id(row) if 0 <= row < self.model.rowCount() else None

    def select_row(self, row: int) -> None:
        if not (0 <= row < self.model.rowCount()):
            if self.model.rowCount() == 0:
                self.detail.clear("No samples match this filter." if len(self.model.frame) else "")
            return
        idx = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(idx, QAbstractItemView.ScrollHint.EnsureVisible)

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        row = current.row()
        sample = self.model.sample(row)
        self.detail.set_sample(sample, slice_columns(self.model.frame), self.model.label_of(self.model.sample_id(row)))

    def move(self, step: int) -> None:
        row = self.current_row()
        target = (0 if step > 0 else self.model.rowCount() - 1) if row < 0 else row + step
        if 0 <= target < self.model.rowCount():
            self.select_row(target)

    def next_unlabeled(self) -> None:
        team_queue = getattr(self, "team_queue", None)
        if team_queue is not None and team_queue.next():   # [policy] overlap: my next assigned item
            return
        row = self._next_in_review_order()                  # a bounded eval set: the stratified sample first
        if row < 0:
            row = self.model.next_unlabeled(self.current_row())
        if row < 0:
            self.statusBar().showMessage("Every sample in this filter carries your label.", 4000)
            return
        self.select_row(row)

    def _next_in_review_order(self) -> int:
        """On an eval set whose regression rate the policy bounds, N serves the bound's sample in
        its order first (ReviewService.next_to_review, docs/statistics.md "The sample"); -1: no
        such set, the order is done, or none of it is in this filter (the usual next unlabeled)."""
        nxt = self.service.next_to_review
        if self.request is None or not self.eval_set:
            return -1
        current = self.current_sample_id()
        try:
            sid = nxt(self.request.id, self.eval_set, current)
            if sid is not None and not self.model.label_of(sid).is_empty:
                self.flush_labels()   # labeled here, not in the store yet (written off the GUI thread)
                sid = nxt(self.request.id, self.eval_set, current)
        except SignoffError:
            return -1
        return -1 if sid is None else self.model.row_of(sid)   # -1 also when this filter hides it
        if sid is not None and self.model.label_of(sid).is_empty:
            return self.model.row_of(sid)
        # labeled here, not yet in the store (labels are written off the GUI thread): the first open
        # one of the order as this window knows it; the service gave the order's start
        order = self.service.review_order(self.request.id, self.eval_set) if sid is not None else []
        for sid in order:
            if sid != current and self.model.label_of(sid).is_empty and \
                    nxt(self.request.id, self.eval_set, current) is not None:
                return self.model.row_of(sid)
        return -1

    # ------------------------------------------------------------------ labels
    def label_verdict(self, verdict: Verdict) -> None:
        """Keys 1-4. In blind mode 1 / 2 mean "A / B better", saved as the model A / B stands for."""
        verdict = Verdict(verdict)
        text = f"label {verdict.value}"
        if self.blind and verdict in (Verdict.CANDIDATE, Verdict.BASELINE):
            shown = self.detail.shown
            if shown is None or shown.sample_id != self.current_sample_id():
                self.statusBar().showMessage("Select a sample first.", 3000)
                return
            side = shown.left if verdict == Verdict.CANDIDATE else shown.right   # key 1 = A (left), 2 = B (right)
            text = f"label {side.name} better"
            verdict = Verdict(side.model)
        if self._change_label({"verdict": verdict}, text):
            queues = getattr(self, "queues", None)
            if queues is None or not queues.after_label():   # the end of a queue: a notice, not a slide
                self.move(1)

    def label_correct(self, correct: bool) -> None:
        if self.blind:
            self.statusBar().showMessage("c / x judge the candidate: turn blind mode off (B) to use them.", 4000)
            return
        self._change_label({"correct": correct}, "mark correct" if correct else "mark incorrect")

    def open_error_picker(self) -> None:
        """E: pick an error category from signoff.toml [labels] (type to filter, Enter)."""
        sid = self.current_sample_id()
        if sid is None or self.request is None:
            self.statusBar().showMessage("Select a sample first.", 3000)
            return
        categories = list(getattr(self.config, "error_categories", ()) or ())
        if not categories:
            self.statusBar().showMessage("signoff.toml [labels] lists no error categories.", 4000)
            return
        dialog = ErrorPicker(categories, self.model.label_of(sid).error, sid, self)
        dialog.chosen.connect(lambda cat, s=sid: self._change_label(
            {"error": cat}, f"error {cat}" if cat else "clear error", sid=s))
        self.label_dialog = dialog
        dialog.open()

    def open_comment_box(self) -> None:
        """M: a comment on this sample (Enter saves, Shift+Enter new line, Esc cancels)."""
        sid = self.current_sample_id()
        if sid is None or self.request is None:
            self.statusBar().showMessage("Select a sample first.", 3000)
            return
        current = self.model.label_of(sid).comment
        dialog = CommentDialog(current, sid, self)
        dialog.saved.connect(lambda text, s=sid, old=current: (text or None) != (old or None) and self._change_label(
            {"comment": text or None}, "comment" if text else "remove comment", sid=s))
        self.label_dialog = dialog
        dialog.open()

    # ------------------------------------------------------------------ blind mode and views
    def set_blind(self, on: bool) -> None:
        on = bool(on)
        if on == self.blind:
            return
        self.blind = on
        for widget in (self.blind_check, self.actions_by_id.get("view.blind")):
            if widget is not None and widget.isChecked() != on:
                widget.blockSignals(True)
                widget.setChecked(on)
                widget.blockSignals(False)
        a1, a2 = self.actions_by_id.get("label.candidate"), self.actions_by_id.get("label.baseline")
        if a1 is not None and a2 is not None:
            a1.setText("A better" if on else "Candidate better")
            a2.setText("B better" if on else "Baseline better")
        self._apply_blind_to_table()
        self.detail.set_blind(on)
        self.statusBar().showMessage(
            "Blind mode: the outputs are A and B in a random order per sample; 1 = A better, 2 = B better."
            if on else "Blind mode off: baseline left, candidate right; 1 = candidate better, 2 = baseline better.",
            6000)

    def _apply_blind_to_table(self) -> None:
        rid, es = (self.request.id if self.request else None), self.eval_set or ""
        self.model.set_blind(self.blind, (lambda sid: blind_names(rid, es, sid)) if self.blind else None)
        for i, col in enumerate(self.model.columns_):
            if col.key == "delta" or col.key.startswith(("baseline_", "candidate_")):
                self.table.setColumnHidden(i, self.blind)

    def _header_menu(self, pos) -> None:
        from PySide6.QtWidgets import QMenu

        menu = QMenu(self)
        menu.addSection("Columns")
        for key, title in self.model.optional_columns():
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(key in self.model.shown_optional)
            if self.blind and key.startswith(("baseline_", "candidate_")):
                action.setEnabled(False)
                action.setToolTip("hidden in blind mode: it would say which output is which")
            action.toggled.connect(lambda on, k=key: self.show_column(k, on))
        menu.popup(self.table.horizontalHeader().mapToGlobal(pos))
        self.header_menu = menu

    def show_column(self, key: str, on: bool = True) -> None:
        """Add or remove one of the optional columns (scores, outputs, prediction fields)."""
        keys = [k for k in self.model.shown_optional if k != key] + ([key] if on else [])
        self._optional_columns = keys
        self._set_optional_columns(keys)

    def _set_optional_columns(self, keys: list[str]) -> None:
        keep = self.current_sample_id()
        self.model.set_optional_columns(keys)
        self._sort_column = -1
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.model.reset_order()
        self._size_columns()
        self._apply_blind_to_table()
        if keep is not None and self.model.row_of(keep) >= 0:
            self.select_row(self.model.row_of(keep))

    def toggle_raw(self) -> None:
        raw = self.detail.toggle_raw()
        self.statusBar().showMessage("raw stored values (R again for the comparison)" if raw else "", 3000)

    def cycle_view_mode(self) -> None:
        if self.detail.cycle_mode():
            self.statusBar().showMessage(f"view: {self.detail.view.mode}", 2000)
        else:
            self.statusBar().showMessage("this view has one mode", 2000)

    def _change_label(self, fields: dict, text: str, *, sid: str | None = None) -> bool:
        sid = self.current_sample_id() if sid is None else sid
        if sid is None or self.request is None or self.eval_set is None:
            self.statusBar().showMessage("Select a sample first.", 3000)
            return False
        old = self.model.label_of(sid)
        before = {k: getattr(old, k) for k in fields}
        after = dict(fields)
        key = (self.request.id, self.eval_set, sid)
        if not self.apply_label(key, after, select=False):
            return False
        self.undo_stack.push(LabelCommand(self, key, before, after, f"{text} on {sid}"))
        return True

    def apply_label(self, key: tuple[int, str, str], fields: dict, *, select: bool) -> bool:
        """Show the label at once and queue its write (app/ui/label_writer.py); used by keys,
        undo and redo. A write the store refuses comes back to _label_failed."""
        request_id, eval_set, sid = key
        here = self.request is not None and request_id == self.request.id and eval_set == self.eval_set
        current = self.model.label_of(sid) if here else MyLabel()
        before = {k: getattr(current, k) for k in ("verdict", "correct", "error", "comment")}
        label = MyLabel(**{**before, **_label_fields(fields)})
        team_queue = getattr(self, "team_queue", None)
        if team_queue is not None and team_queue.adjudicates(key):
            team_queue.adjudicate(key, before, label)    # QA's adjudicated label (app/ui/team_queue.py)
        else:
            try:
                self.label_writer.submit(key, fields, before, {"refresh": False})   # the status follows, debounced
            except SignoffError as exc:
                self.banner.show_message(f"Label not saved: {exc}")
                return False
        self._show_label(key, label, select=select)
        words = (label_words(label, blind_names(request_id, eval_set, sid), blind=True) if self.blind
                 else label.words())
        self.statusBar().showMessage(f"saved: {sid} — {words or 'label cleared'}", 3000)
        self.labelSaved.emit(sid)
        self._status_dirty.add(request_id)
        self._verdict_timer.start()
        return True

    def _show_label(self, key: tuple[int, str, str], label: MyLabel, *, select: bool) -> None:
        request_id, eval_set, sid = key
        if self.request is None or request_id != self.request.id or eval_set != self.eval_set:
            return
        self.model.set_label(sid, label)
        if select:
            row = self.model.row_of(sid)
            if row >= 0:
                self.select_row(row)
        if self.current_sample_id() == sid:
            self.detail.set_label(label)
        self._update_counts()

    def _label_failed(self, key: tuple[int, str, str], before: dict, message: str, details: str) -> None:
        """A queued label the store refused: say so, and show the label as it was."""
        self.banner.show_message(f"Label not saved: {message}", details)
        self._show_label(key, MyLabel(**before), select=False)
        self.statusBar().showMessage(f"not saved: {key[2]} — {message}", 6000)

    def flush_labels(self, timeout: float = 30.0) -> bool:
        """Wait for queued labels to reach the store (before anything reads them back)."""
        return self.label_writer.flush(timeout)

    def flush_status(self) -> dict:
        """Re-evaluate (and queue for posting) the status of requests labeled since the last
        time; returns the verdicts it computed, by request id."""
        self.flush_labels()
        dirty, self._status_dirty = self._status_dirty, set()
        out = {}
        for request_id in dirty:
            try:
                out[request_id] = self.service.refresh_status(request_id)
            except Exception:   # the labels are saved; the status follows on the next refresh
                log.exception("refresh_status failed")
        if out and getattr(self, "outbox_drain", None) is not None:
            self.outbox_drain.drain_now()
        return out

    def _refresh_verdict_in_background(self) -> None:
        """The debounced refresh after labeling: the policy's coverage reads every label and
        every eval set's classes (~0.1 s at a million samples), so it runs on a worker."""
        if self.request is None:
            return
        if self._verdict_worker is not None and self._verdict_worker.is_running:
            self._verdict_timer.start()      # one at a time: try again shortly
            return
        dirty, self._status_dirty = self._status_dirty, set()
        worker = workers.Worker(refresh_statuses, self.service, self.label_writer, dirty, self.request.id)
        worker.signals.finished.connect(self._background_verdict)
        worker.signals.failed.connect(
            lambda message, _details: self.verdict_label.setText(f"policy could not be evaluated: {message}"))
        self._verdict_worker = workers.start(worker)

    def _background_verdict(self, result) -> None:
        request_id, verdict, posted = result
        if posted and getattr(self, "outbox_drain", None) is not None:
            self.outbox_drain.drain_now()
        if self.request is not None and self.request.id == request_id:
            self._show_verdict(verdict)

    # ------------------------------------------------------------------ verdict & decisions
    def refresh_verdict(self) -> None:
        if self.request is None:
            return
        fresh = self.flush_status().get(self.request.id)
        try:
            verdict = fresh if isinstance(fresh, PolicyVerdict) else self.service.verdict(self.request.id)
        except SignoffError as exc:
            self.verdict_label.setText(f"policy could not be evaluated: {exc}")
            return
        self._show_verdict(verdict)

    def _show_verdict(self, verdict: PolicyVerdict) -> None:
        self.verdict = verdict
        r = self.request
        self.title_label.setText(header_text(r))
        colour = STATUS_STYLE.get(self.verdict.status.value, ("#999999", ""))[0]
        self.verdict_dot.setPixmap(dot_icon(colour).pixmap(12, 12))
        self.verdict_label.setText(status_line(self.verdict))
        self._show_policy_change(r, verdict)
        # The inbox shows the live verdict of the open request, not the last one posted.
        self.inbox.update_status(r.id, self.verdict.status.value, self.verdict.description)

    def _show_policy_change(self, r, verdict: PolicyVerdict) -> None:
        if not r.candidate_config_toml:
            self.policy_change_box.set_change(PolicyChange(), None)
            return
        try:
            change, owners = self.service.policy_change(r.id), tuple(self.service.config(r.id).policy.owners)
        except SignoffError as exc:
            log.warning("policy change of request %s: %s", r.id, exc)
            return
        self.policy_change_box.set_change(change, verdict, owners)

    def open_approval_dialog(self) -> None:
        if self.request is None:
            self.statusBar().showMessage("Open a review request first.", 3000)
            return
        self.flush_status()   # every label written and the status current before the checklist
        try:
            dialog = ApprovalDialog(self.service, self.request.id, self)
        except SignoffError as exc:
            self.banner.show_message(f"Could not evaluate the policy: {exc}")
            return
        dialog.accepted.connect(self._decided)
        self.approval_dialog = dialog
        dialog.open()

    def _decided(self) -> None:
        if getattr(self, "outbox_drain", None) is not None:
            self.outbox_drain.drain_now()     # the new status goes out at once, off the GUI thread
        dialog = self.approval_dialog
        if dialog is not None and dialog.result_verdict is not None:
            self.statusBar().showMessage(f"decision recorded — {dialog.result_verdict.description}", 6000)
        if self.request is not None:
            try:
                self.request = self.service.get_request(self.request.id)
            except SignoffError:
                pass
        self.refresh_verdict()
        self.refresh_inbox()
        self.update_status_bar()

    # ------------------------------------------------------------------ status bar, help
    def update_status_bar(self) -> None:
        parts = []
        user = getattr(self.service, "user", "") or "(unknown user)"
        roles: list[str] = []
        if self.request is not None:
            try:
                roles = list(self.service.my_roles(self.request.id))
            except Exception:
                roles = []
        parts.append(f"you: {user}" + (f" ({', '.join(roles)})" if roles else ""))
        store = getattr(self.service, "store", None)
        try:
            if store is not None and hasattr(store, "describe"):
                parts.append(f"store: {store.describe()}")
        except Exception:
            pass
        drain = getattr(self, "outbox_drain", None)
        tooltip = ""
        try:
            if drain is not None and drain.state is not None:
                state = drain.state
                parts.append(f"outbox: {state.summary}")
                tooltip = "\n".join(state.problems)
            elif store is not None and hasattr(store, "outbox_items"):
                n = len(store.outbox_items(states=("waiting",)))
                parts.append(f"outbox {n} waiting")
        except Exception:
            pass
        self.status_label.setText(" · ".join(parts))
        self.status_label.setToolTip(plain_tooltip(tooltip) if tooltip else "")

    def shortcut_text(self) -> str:
        """Every key of the window: the table in actions.py, then any other action with a shortcut."""
        known = {spec.id for spec in ACTIONS}
        extra = []
        for action in self.findChildren(QAction):
            keys = [k.toString() for k in action.shortcuts() if not k.isEmpty()]
            if keys and action.objectName() not in known and action.text():
                menu = action.objectName().split(".", 1)[0].capitalize() if "." in action.objectName() else "Other"
                extra.append((" / ".join(keys), action.text().replace("&", ""), menu))
        return shortcut_sheet(sorted(set(extra), key=lambda e: (e[2], e[1])))

    def show_shortcuts(self) -> None:
        dlg = QDialog(self)
        dlg.setWindowTitle("Keyboard shortcuts")
        text = QPlainTextEdit()
        text.setReadOnly(True)
        text.setPlainText(self.shortcut_text())
        from PySide6.QtGui import QFontDatabase

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
        self.about_dialog = AboutDialog(self)
        self.about_dialog.open()

    def open_mlflow_browser(self):
        """File > Browse MLflow…: compare any two model versions (app/ui/mlflow_browser.py); the
        request it creates is listed and opened."""
        from signoff.ui.mlflow_browser import MlflowBrowser

        dialog = MlflowBrowser(self.service, self)
        dialog.requestCreated.connect(
            lambda rid: (self.refresh_inbox(), self.inbox.select(rid) or self.open_request(rid)))
        self.mlflow_browser = dialog
        dialog.open()
        return dialog

    # ------------------------------------------------------------------ lifecycle
    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, wait: float = 3.0) -> None:
        """Cancel background work and wait for it (so no thread outlives the window)."""
        if getattr(self, "team", None) is not None:
            self.team.stop()
        self._verdict_timer.stop()
        if self._verdict_worker is not None:
            self._verdict_worker.wait(wait)
            self._verdict_worker = None
        self.flush_status()
        self.label_writer.close()
        self.inbox.shutdown(wait)
        if getattr(self, "outbox_drain", None) is not None:
            self.outbox_drain.stop(wait)
        self._search_timer.stop()
        for name in ("_search_worker", "_index_worker"):
            w = getattr(self, name)
            if w is not None:
                w.cancel()
                w.wait(wait)
                setattr(self, name, None)
        if self._load_worker is not None:
            self._load_worker.cancel()
            self._load_worker.wait(wait)
            self._load_worker = None
