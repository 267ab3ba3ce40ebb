"""The workbench window: inbox | comparison (header, sample table) | detail, assembled from parts.

Each part owns its widgets and its work; the window builds them, lays their
widgets out, wires them to each other and to the menus, and keeps the open
request (`request`, `config`, `eval_set`, `verdict`) they share:

- `ops`       ReviewOps (concurrent.py): writes off the GUI thread, `reviewChanged`,
               and `ops.service`, which reads after the queued labels
- `samples`   SampleView (sample_view.py): table, detail pane, selection, sort, columns, blind
- `filters`   TableFilters (table_filters.py): class / slice / labels filters, search, counts
- `labeling`  Labeling (labeling.py): label keys, undo, the label queue, N
- `verdicts`  VerdictPanel (verdict_panel.py): header, verdict, policy change, deciding
- `loader`    Loader (loading.py): opening a request, loading an eval set (cancellable)
- `status`    StatusLine (status_bar.py): you, the store, the outbox
- `actions`   WindowActions (window_actions.py): menus, keys, Help, the UI extensions' commands
- `extras`    WorkbenchExtras (workbench_extras.py): Charts tab, export, report, settings, layout

The team parts (queue_nav, team_view, team_queue, reassign_dialog), New
review and the fitting to narrow windows (fit.py) are installed last; they use
the attributes and signals below.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QSplitter, QVBoxLayout, QWidget

from signoff.core.errors import SignoffError
from signoff.core.model import Verdict
from signoff.core.policy import PolicyVerdict
from signoff.store.records import RequestRecord
from signoff.ui.about_dialog import app_icon
from signoff.ui.concurrent import ReviewOps
from signoff.ui.diff_view import plain_label
from signoff.ui.extension_sdk import ExtensionHost
from signoff.ui.inbox import Inbox
from signoff.ui.label_writer import LabelWriter
from signoff.ui.labeling import Labeling
from signoff.ui.loading import Loader
from signoff.ui.sample_view import SampleView
from signoff.ui.status_bar import StatusLine
from signoff.ui.table_filters import TableFilters
from signoff.ui.verdict_panel import VerdictPanel
from signoff.ui.widgets import Banner
from signoff.ui.window_actions import WindowActions
from signoff.ui.workbench_extras import WorkbenchExtras

log = logging.getLogger(__name__)


def _ui_extensions() -> dict:
    """An instance of each installed UI extension, by plugin name (one that cannot be made is
    logged and left out: a broken plugin must not stop the window)."""
    from signoff.registry import registry

    made = {}
    for name, cls in sorted(registry().ui_extensions.items()):
        try:
            made[name] = cls()
        except Exception:
            log.exception("UI extension %s could not be made", name)
    return made


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
        self.setWindowTitle("Signoff")
        self.setWindowIcon(app_icon())
        self.resize(1440, 860)

        # The parts. The label writer calls the service itself; everything else reads through
        # ops.service, which waits for the labels still queued.
        self.label_writer = LabelWriter(service, self)
        self.ops = ReviewOps(service, self, flush_labels=self.label_writer.flush)
        self.banner = Banner()
        self.inbox = Inbox()
        self.inbox.set_service(self.ops.service)   # "mine": roles, labels and decisions of the service's user
        self.inbox.requestSelected.connect(self.open_request)
        self.samples = SampleView(self)
        self.filters = TableFilters(self, self.samples)
        self.labeling = Labeling(self, self.label_writer, self.ops.service, self.samples, self.filters)
        self.verdicts = VerdictPanel(self, self.ops)
        self.loader = Loader(self, self.ops, self.samples, self.filters, self.verdicts)
        self.status = StatusLine(self, service)
        self.actions = WindowActions(self, self.labeling.undo_stack, self._handlers())
        self.actions.add_extension_actions(_ui_extensions(), ExtensionHost(self))   # the plugins' commands
        self.labeling.labeled.connect(self.verdicts.labeled)
        self.ops.reviewChanged.connect(self.status.review_changed)

        # What parts and tests reach by name.
        s, f, v = self.samples, self.filters, self.verdicts
        self.model, self.table, self.detail, self.blind_check = s.model, s.table, s.detail, s.blind_check
        self.class_buttons, self.filter_combo, self.slice_combo = f.class_buttons, f.filter_combo, f.slice_combo
        self.search_edit, self.review_combo, self.count_label = f.search_edit, f.review_combo, f.count_label
        self.title_label, self.verdict_label, self.verdict_dot = v.title_label, v.verdict_label, v.verdict_dot
        self.policy_change_box, self.approve_button = v.policy_change_box, v.approve_button
        self.eval_set_combo, self.loading = self.loader.eval_set_combo, self.loader.bar
        self.undo_stack = self.labeling.undo_stack
        self.status_label, self.outbox_drain = self.status.status_label, self.status.outbox_drain
        self.actions_by_id = self.actions.actions_by_id
        self.extension_windows = self.actions.extension_windows   # what a plugin's command opened last, by its id

        self.work_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.work_splitter.addWidget(self.table)
        self.work_splitter.addWidget(self.detail)
        self.work_splitter.setStretchFactor(0, 2)
        self.work_splitter.setStretchFactor(1, 3)
        self.work_splitter.setChildrenCollapsible(False)
        self.work_splitter.setSizes([560, 620])
        # Permanent, so a passing message ("saved: …") never hides who you are or the outbox;
        # the extras' "Retry failed posts" goes between the two.
        self.statusBar().addPermanentWidget(self.status_label)
        self.statusBar().addPermanentWidget(self.approve_button)
        self.extras = WorkbenchExtras(self, self.ops, self.actions, self.samples, self.work_splitter,
                                      self.outbox_drain)
        self.work_tabs, self.charts_tab = self.extras.tabs, self.extras.charts
        self._lay_out()
        self.refresh_inbox()
        self.status.start()
        self.extras.restore_layout(self.main_splitter)
        self._install_team_and_more()

    def _handlers(self) -> dict:
        s, lab = self.samples, self.labeling
        return {
            "label.candidate": lambda: lab.label_verdict(Verdict.CANDIDATE),
            "label.baseline": lambda: lab.label_verdict(Verdict.BASELINE),
            "label.tie": lambda: lab.label_verdict(Verdict.TIE),
            "label.both_wrong": lambda: lab.label_verdict(Verdict.BOTH_WRONG),
            "label.correct": lambda: lab.label_correct(True),
            "label.incorrect": lambda: lab.label_correct(False),
            "label.error": lab.open_error_picker,
            "label.comment": lab.open_comment_box,
            "view.blind": lambda: s.set_blind(self.actions_by_id["view.blind"].isChecked()),
            "view.raw": s.toggle_raw,
            "view.mode": s.cycle_view_mode,
            "view.zoom_in": lambda: s.detail.view.zoom(1),
            "view.zoom_out": lambda: s.detail.view.zoom(-1),
            "view.zoom_fit": lambda: s.detail.view.zoom_fit(),
            "nav.next": lambda: s.move(1),
            "nav.previous": lambda: s.move(-1),
            "nav.next_unlabeled": lab.next_unlabeled,
            "view.search": self.filters.focus_search,
            "view.invisibles": lambda: s.detail.show_invisibles.toggle(),
            "view.worst_first": s.sort_worst_first,
            "view.refresh": self.refresh_all,
            "decide.open": self.verdicts.open_approval_dialog,
            "app.quit": self.close,
        }

    def _lay_out(self) -> None:
        header = QWidget()
        hl = QVBoxLayout(header)
        hl.setContentsMargins(6, 6, 6, 2)
        hl.setSpacing(4)
        hl.addWidget(self.title_label)
        hl.addWidget(self.policy_change_box)
        hl.addLayout(self.verdicts.verdict_row())
        class_row = QHBoxLayout()
        class_row.setSpacing(4)
        class_row.addWidget(plain_label("eval set:"))
        class_row.addWidget(self.eval_set_combo)
        class_row.addSpacing(12)
        for b in self.class_buttons.values():
            class_row.addWidget(b)
        class_row.addStretch(1)
        hl.addLayout(class_row)
        hl.addLayout(self.filters.filter_row(self.blind_check))

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(2)
        rl.addWidget(header)
        rl.addWidget(self.loading)
        rl.addWidget(self.banner)
        rl.addWidget(self.work_tabs, 1)

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.inbox)
        self.main_splitter.addWidget(right)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([260, 1180])
        self.main_splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.main_splitter)

    def _install_team_and_more(self) -> None:
        from signoff.ui.fit import install_fit                    # narrow windows, the inbox that folds, search hits
        from signoff.ui.new_review import install_new_review      # File ▸ New review…, the empty inbox's buttons
        from signoff.ui.queue_nav import install_queue_nav        # ] / [, queue progress, the end-of-queue notice
        from signoff.ui.reassign_dialog import install_reassign   # Review ▸ Reassign…
        from signoff.ui.team_queue import install_team_queue      # my assigned queue, QA's adjudication, inbox queues
        from signoff.ui.team_view import install_team             # other reviewers' labels, live refresh

        install_queue_nav(self)
        install_team(self)
        install_team_queue(self)
        install_reassign(self)
        self.team_queue.refresh_inbox_queues()
        install_new_review(self)
        install_fit(self)
        self.actions.bind_extension_keys()   # last: every part's key is known, a built-in one wins a clash

    # ------------------------------------------------------------------ the inbox and the service
    def refresh_inbox(self) -> None:
        try:
            records = self.ops.service.list_requests()   # after the queued labels: "still missing" counts
        except SignoffError as exc:
            self.banner.show_message(f"Could not list review requests: {exc}")
            return
        self.inbox.set_requests(records, keep=self.request.id if self.request else None)
        self.inbox.refresh_sections()   # the plugins' sections (e.g. versions awaiting review on a server; workers)

    def refresh_all(self) -> None:
        """F5: the inbox, and the open request as the store has it now."""
        team = getattr(self, "team", None)
        if team is not None:
            team.refresh_now()
        else:
            self.refresh_inbox()

    def act_as(self, user: str) -> None:
        """Another identity (Settings): the labels queued as the previous one are written first."""
        self.flush_labels()
        self.service.act_as(user)
        self.refresh_inbox()
        if self.request is not None:
            self.refresh_verdict()
        self.update_status_bar()

    # ------------------------------------------------------------------ the parts' commands, by name
    # (the team parts, fit.py, new_review.py, the screenshot scripts and the tests call these)
    @property
    def blind(self) -> bool:
        return self.samples.blind

    @property
    def label_dialog(self):
        return self.labeling.label_dialog

    @property
    def approval_dialog(self):
        return self.verdicts.approval_dialog

    @property
    def header_menu(self):
        return self.samples.header_menu_shown

    @property
    def shortcut_dialog(self):
        return self.actions.shortcut_dialog

    @property
    def shortcut_sheet_view(self):
        return self.actions.shortcut_sheet_view

    @property
    def about_dialog(self):
        return self.actions.about_dialog

    def open_request(self, request_id: int) -> None:
        self.loader.open_request(request_id)

    def load_eval_set(self, eval_set: str, *, with_verdict: bool = False) -> None:
        self.loader.load_eval_set(eval_set, with_verdict=with_verdict)

    def current_row(self) -> int:
        return self.samples.current_row()

    def current_sample_id(self) -> str | None:
        return self.samples.current_sample_id()

    def select_row(self, row: int) -> None:
        self.samples.select_row(row)

    def move(self, step: int) -> None:
        self.samples.move(step)

    def set_blind(self, on: bool) -> None:
        self.samples.set_blind(on)

    def show_column(self, key: str, on: bool = True) -> None:
        self.samples.show_column(key, on)

    def sort_worst_first(self) -> None:
        self.samples.sort_worst_first()

    def toggle_raw(self) -> None:
        self.samples.toggle_raw()

    def cycle_view_mode(self) -> None:
        self.samples.cycle_view_mode()

    def _header_menu(self, pos) -> None:
        self.samples.header_menu(pos)

    def set_search(self, text: str) -> None:
        self.filters.set_search(text)

    def filter_to_class(self, cls: str) -> None:
        self.filters.filter_to_class(cls)

    def focus_search(self) -> None:
        self.filters.focus_search()

    def _apply_filters(self) -> None:
        self.filters.apply()

    def label_verdict(self, verdict: Verdict) -> None:
        self.labeling.label_verdict(verdict)

    def label_correct(self, correct: bool) -> None:
        self.labeling.label_correct(correct)

    def open_error_picker(self) -> None:
        self.labeling.open_error_picker()

    def open_comment_box(self) -> None:
        self.labeling.open_comment_box()

    def next_unlabeled(self) -> None:
        self.labeling.next_unlabeled()

    def apply_label(self, key: tuple[int, str, str], fields: dict, *, select: bool) -> bool:
        return self.labeling.apply_label(key, fields, select=select)

    def _label_failed(self, key: tuple[int, str, str], before: dict, message: str, details: str) -> None:
        self.labeling.label_failed(key, before, message, details)

    def flush_labels(self, timeout: float = 30.0) -> bool:
        """Wait for queued labels to reach the store (tests; readers use ops.service, which does it)."""
        return self.label_writer.flush(timeout)

    def flush_status(self) -> dict:
        return self.verdicts.flush_status()

    def refresh_verdict(self) -> None:
        self.verdicts.refresh_verdict()

    def _refresh_verdict_in_background(self) -> None:
        self.verdicts.refresh_in_background()

    def open_approval_dialog(self) -> None:
        self.verdicts.open_approval_dialog()

    def update_status_bar(self) -> None:
        self.status.update()

    def shortcut_text(self) -> str:
        return self.actions.shortcut_text()

    def show_shortcuts(self) -> None:
        self.actions.show_shortcuts()

    def show_about(self) -> None:
        self.actions.show_about()

    # ------------------------------------------------------------------ lifecycle
    def closeEvent(self, event) -> None:
        self.extras.save_layout()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, wait: float = 3.0) -> None:
        """Cancel background work and wait for it (so no thread outlives the window)."""
        if getattr(self, "team", None) is not None:
            self.team.stop()
        self.extras.shutdown(wait)
        self.verdicts.shutdown(wait)
        self.flush_status()
        self.labeling.shutdown()
        self.ops.wait(wait * 10)    # a decision on its way (it may wait on the forge)
        self.inbox.shutdown(wait)
        self.status.shutdown(wait)
        self.filters.shutdown(wait)
        self.samples.shutdown(wait)
        self.loader.shutdown(wait)
