"""What the window gains beyond review itself, a part the window assembles like the others:

- a Samples | Charts tab pair around the table and detail pane
  (app/ui/charts_tab.py); label keys are off while the charts show, so a
  stray `1` never labels a sample you cannot see;
- File ▸ Export samples… (Ctrl+E), File ▸ Save report… (Ctrl+Shift+R),
  File ▸ Settings… (Ctrl+,), View ▸ Samples (Ctrl+1) / Charts (Ctrl+2);
- the window layout saved on close and restored on open (app/ui/layout.py);
- the inbox's Mine/All choice kept in the settings;
- "Retry failed posts" beside the status bar's outbox indicator, while some
  status posts failed for good (app/ui/outbox_drain.py).

It reads through ReviewOps.service (app/ui/concurrent.py), so the charts, an
export and a report include the labels typed a moment ago, and it follows
`reviewChanged` (the charts are drawn again). A new identity in the settings
goes to the window (MainWindow.act_as), which owns the service.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QTabWidget, QWidget

from signoff.ui import workers
from signoff.ui.charts_tab import ChartsTab
from signoff.ui.layout import reset_layout, restore_layout, save_layout

log = logging.getLogger(__name__)

SAMPLES_TAB, CHARTS_TAB = 0, 1
INBOX_WIDTH = 360
REVIEW_ACTION_PREFIXES = ("label.", "nav.")


class WorkbenchExtras(QObject):
    def __init__(self, window, ops, actions, samples, work_area: QWidget, outbox_drain=None):
        super().__init__(window)
        self.window = window
        self.ops = ops
        self.actions = actions
        self.samples = samples
        self.report_worker: workers.Worker | None = None
        self.export_dialog = None       # the last one opened (tests drive it)
        self.settings_dialog = None
        self.last_report: Path | None = None
        self._default_sizes = None
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("samples and charts")
        self.charts = ChartsTab(ops.service)
        self.tabs.addTab(work_area, "Samples")
        self.tabs.addTab(self.charts, "Charts")
        self.tabs.setTabToolTip(SAMPLES_TAB, "the sample table and the side-by-side diff (Ctrl+1)")
        self.tabs.setTabToolTip(CHARTS_TAB, "metric deltas, classes per slice, confusion change, scores, "
                                            "review progress, agreement (Ctrl+2)")
        self.tabs.currentChanged.connect(self._tab_changed)
        self._install_actions()
        self._install_inbox_scope()
        self.outbox_retry = self._install_outbox_retry(outbox_drain)
        window.requestOpened.connect(self.charts.set_request)
        # the charts would tell a blind reviewer which output is the candidate
        samples.blind_check.toggled.connect(self.charts.set_blind)
        self.charts.set_blind(samples.blind_check.isChecked())
        window.labelSaved.connect(lambda _sid: self.charts.invalidate())
        ops.reviewChanged.connect(lambda _rid: self.charts.invalidate())

    def restore_layout(self, main_splitter) -> None:
        """The inbox's room, then the layout saved last time (the window is assembled)."""
        w = self.window
        # The inbox is a table now: room for status, commit, title and what is missing.
        main_splitter.setSizes([INBOX_WIDTH, max(600, w.width() - INBOX_WIDTH)])
        self._main_splitter = main_splitter
        self._default_sizes = (main_splitter.sizes(), w.size())
        restore_layout(w)

    # -- tabs -------------------------------------------------------------
    def _tab_changed(self, index: int) -> None:
        on_samples = index == SAMPLES_TAB
        for action_id, action in self.actions.actions_by_id.items():
            if action_id.startswith(REVIEW_ACTION_PREFIXES):
                action.setEnabled(on_samples)
        if on_samples:
            self.samples.table.setFocus()

    def show_samples(self) -> None:
        self.tabs.setCurrentIndex(SAMPLES_TAB)

    def show_charts(self) -> None:
        self.tabs.setCurrentIndex(CHARTS_TAB)

    # -- menus ------------------------------------------------------------
    def _install_actions(self) -> None:
        add = self.actions.add
        add("File", "file.export", "Export samples…", "Ctrl+E", self.open_export_dialog,
            "the selected sample, the current filter or the eval set to CSV / JSONL / Parquet", before="app.quit")
        add("File", "file.report", "Save report…", "Ctrl+Shift+R", self.ask_report,
            "a standalone HTML report: charts, labeled regressions, decisions, checklist", before="app.quit")
        add("File", "file.settings", "Settings…", "Ctrl+,", self.open_settings,
            "identity, store, connections, theme, layout", before="app.quit", separator_before=True)
        self.actions.separator("File", before="app.quit")
        add("View", "view.samples", "Samples", "Ctrl+1", self.show_samples, "the sample table", separator_before=True)
        add("View", "view.charts", "Charts", "Ctrl+2", self.show_charts, "the charts of this request")

    # -- inbox scope ------------------------------------------------------
    def _install_inbox_scope(self) -> None:
        from signoff.settings import load_settings

        inbox = self.window.inbox
        try:
            scope = load_settings().get("inbox.scope")
        except Exception:
            scope = "all"
        if scope == "mine":
            inbox.set_scope("mine")
        inbox.scopeChanged.connect(self._scope_changed)

    # -- outbox ----------------------------------------------------------
    def _install_outbox_retry(self, drain):
        if drain is None:       # no outbox to post from
            return None
        from signoff.ui.outbox_drain import RetryFailedControl

        return RetryFailedControl(self.window, drain, actor=self.ops.service.user or "")

    def _scope_changed(self, scope: str) -> None:
        from signoff.settings import load_settings

        try:
            s = load_settings()
            s.set("inbox.scope", scope)
            s.save()
        except OSError as exc:
            log.warning("inbox scope not saved: %s", exc)

    # -- export -----------------------------------------------------------
    def open_export_dialog(self):
        from signoff.ui.export_dialog import ExportDialog, visible_ids

        w = self.window
        if w.request is None or w.eval_set is None or w.model.frame is None or not len(w.model.frame):
            w.statusBar().showMessage("Open a review request with samples first.", 4000)
            return None
        dialog = ExportDialog(self.ops.service, w.request.id, w.eval_set, selected=w.current_sample_id(),
                              shown=visible_ids(w.model), total=len(w.model.frame), parent=w)
        dialog.exported.connect(self._exported)
        self.export_dialog = dialog
        dialog.open()
        return dialog

    def _exported(self, result) -> None:
        notes = f" ({'; '.join(result.notes)})" if result.notes else ""
        self.window.statusBar().showMessage(f"exported {result.rows:,} sample(s) to {result.path}{notes}", 8000)

    # -- report -----------------------------------------------------------
    def ask_report(self) -> None:
        w = self.window
        if w.request is None:
            w.statusBar().showMessage("Open a review request first.", 4000)
            return
        name = w.request.sha[:7] or f"request-{w.request.id}"   # a comparison about no commit has no SHA
        default = str(Path.home() / f"signoff-report-{name}.html")
        path, _ = QFileDialog.getSaveFileName(w, "Save report", default, "HTML file (*.html)")
        if path:
            self.save_report(path if path.lower().endswith((".html", ".htm")) else path + ".html")

    def save_report(self, path: str | Path) -> workers.Worker | None:
        from signoff.report.html import build_report

        w = self.window
        if w.request is None:
            return None
        if self.report_worker is not None and self.report_worker.is_running:
            w.statusBar().showMessage("A report is being written already.", 4000)
            return self.report_worker
        w.statusBar().showMessage("writing the report…")
        self.report_worker = workers.run_in_thread(
            build_report, self.ops.service, w.request.id, Path(path), with_task=True,
            on_progress=lambda msg, _f: w.statusBar().showMessage(f"report: {msg}"),
            on_finished=self._report_done, on_failed=self._report_failed)
        return self.report_worker

    def _report_done(self, path) -> None:
        self.report_worker = None
        self.last_report = Path(path)
        self.window.statusBar().showMessage(f"report written to {path}", 10000)

    def _report_failed(self, message: str, details: str) -> None:
        self.report_worker = None
        self.window.banner.show_message(f"Report not written: {message}", details)

    # -- settings ---------------------------------------------------------
    def open_settings(self):
        from signoff.ui.settings_dialog import SettingsDialog
        from signoff.ui.theme import apply_theme

        w = self.window
        dialog = SettingsDialog(current_user=self.ops.service.user, parent=w)
        dialog.themeChanged.connect(lambda theme: (apply_theme(theme), self.charts.invalidate()))
        dialog.layoutReset.connect(self.reset_layout)
        dialog.accepted.connect(lambda: self._settings_saved(dialog))
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def _settings_saved(self, dialog) -> None:
        import os

        from signoff.service.identity import resolve_user

        w = self.window
        if not os.environ.get("SIGNOFF_USER", "").strip():
            user = resolve_user(None)
            if user != self.ops.service.user:
                w.act_as(user)
        w.inbox.refresh_sections()   # e.g. a plugin's servers added or removed: its inbox section follows
        w.update_status_bar()
        w.statusBar().showMessage(f"settings saved to {dialog.settings.path}", 6000)

    def reset_layout(self) -> None:
        reset_layout()
        w = self.window
        sizes, size = self._default_sizes
        self._main_splitter.setSizes(sizes)
        w.resize(size)
        w.statusBar().showMessage("window layout reset", 4000)

    # -- lifecycle --------------------------------------------------------
    def save_layout(self) -> None:
        """The window is closing: keep its layout for the next start."""
        try:
            save_layout(self.window)
        except Exception:  # never block closing the window
            log.exception("window layout not saved")

    def shutdown(self, wait: float = 3.0) -> None:
        self.charts.shutdown(wait)
        if self.report_worker is not None:
            self.report_worker.wait(wait * 5)
            self.report_worker = None
        if self.export_dialog is not None:
            self.export_dialog.wait(wait)
