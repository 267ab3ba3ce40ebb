"""What the main window gains beyond review itself, installed by one call
at the end of MainWindow.__init__ (`install_extras(self)`):

- a Samples | Charts tab pair where the table and detail pane were
  (app/ui/charts_tab.py); label keys are off while the charts show, so a
  stray `1` never labels a sample you cannot see;
- File ▸ Export samples… (Ctrl+E), File ▸ Save report… (Ctrl+Shift+R),
  File ▸ Settings… (Ctrl+,), View ▸ Samples (Ctrl+1) / Charts (Ctrl+2);
- the theme from the settings, and the window layout saved on close and
  restored on open (app/ui/layout.py);
- the inbox's Mine/All choice kept in the settings;
- "Retry failed posts" beside the status bar's outbox indicator, while some
  status posts failed for good (app/ui/outbox_drain.py).

Kept apart from main_window.py so that file stays about reviewing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QSplitter, QTabWidget

from signoff.ui import workers
from signoff.ui.charts_tab import ChartsTab
from signoff.ui.layout import reset_layout, restore_layout, save_layout

log = logging.getLogger(__name__)

SAMPLES_TAB, CHARTS_TAB = 0, 1
INBOX_WIDTH = 360
REVIEW_ACTION_PREFIXES = ("label.", "nav.")


class WorkbenchExtras(QObject):
    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.report_worker: workers.Worker | None = None
        self.export_dialog = None       # the last one opened (tests drive it)
        self.settings_dialog = None
        self.last_report: Path | None = None
        self._install_tabs()
        self._install_actions()
        self._install_inbox_scope()
        self.outbox_retry = self._install_outbox_retry()
        window.requestOpened.connect(self._request_opened)
        blind = getattr(window, "blind_check", None)
        if blind is not None:   # the charts would tell a blind reviewer which output is the candidate
            blind.toggled.connect(self.charts.set_blind)
            self.charts.set_blind(blind.isChecked())
        window.labelSaved.connect(lambda _sid: self.charts.invalidate())
        window.installEventFilter(self)
        self._default_sizes = (window.main_splitter.sizes(), window.size())
        restore_layout(window)
        original_shutdown = window.shutdown

        def shutdown(wait: float = 3.0) -> None:
            self.shutdown(wait)
            original_shutdown(wait)

        window.shutdown = shutdown

    # -- tabs -------------------------------------------------------------
    def _install_tabs(self) -> None:
        w = self.window
        splitter: QSplitter = w.work_splitter
        parent_layout = splitter.parentWidget().layout()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("samples and charts")
        parent_layout.replaceWidget(splitter, self.tabs)
        self.charts = ChartsTab(w.service)
        self.tabs.addTab(splitter, "Samples")
        self.tabs.addTab(self.charts, "Charts")
        self.tabs.setTabToolTip(SAMPLES_TAB, "the sample table and the side-by-side diff (Ctrl+1)")
        self.tabs.setTabToolTip(CHARTS_TAB, "metric deltas, classes per slice, confusion change, scores, "
                                            "review progress, agreement (Ctrl+2)")
        self.tabs.currentChanged.connect(self._tab_changed)
        w.work_tabs = self.tabs
        w.charts_tab = self.charts
        # The inbox is a table now: room for status, commit, title and what is missing.
        w.main_splitter.setSizes([INBOX_WIDTH, max(600, w.width() - INBOX_WIDTH)])

    def _tab_changed(self, index: int) -> None:
        on_samples = index == SAMPLES_TAB
        for action_id, action in getattr(self.window, "actions_by_id", {}).items():
            if action_id.startswith(REVIEW_ACTION_PREFIXES):
                action.setEnabled(on_samples)
        if on_samples:
            self.window.table.setFocus()

    def show_samples(self) -> None:
        self.tabs.setCurrentIndex(SAMPLES_TAB)

    def show_charts(self) -> None:
        self.window.flush_labels()   # the progress and agreement charts read the labels back
        self.tabs.setCurrentIndex(CHARTS_TAB)

    def _request_opened(self, request_id: int) -> None:
        self.charts.set_request(request_id)

    # -- menus ------------------------------------------------------------
    def _menu(self, title: str) -> QMenu:
        for action in self.window.menuBar().actions():
            if action.text().replace("&", "") == title and action.menu() is not None:
                return action.menu()
        return self.window.menuBar().addMenu(f"&{title}")

    def _action(self, menu: QMenu, object_name: str, title: str, keys: str, slot, tip: str = "",
                before: QAction | None = None) -> QAction:
        action = QAction(title, self.window)
        action.setObjectName(object_name)
        if keys:
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        if before is not None:
            menu.insertAction(before, action)
        else:
            menu.addAction(action)
        self.window.addAction(action)
        getattr(self.window, "actions_by_id", {})[object_name] = action
        return action

    def _install_actions(self) -> None:
        file_menu = self._menu("File")
        quit_action = next((a for a in file_menu.actions() if a.objectName() == "app.quit"), None)
        self._action(file_menu, "file.export", "Export samples…", "Ctrl+E", self.open_export_dialog,
                     "the selected sample, the current filter or the eval set to CSV / JSONL / Parquet", quit_action)
        self._action(file_menu, "file.report", "Save report…", "Ctrl+Shift+R", self.ask_report,
                     "a standalone HTML report: charts, labeled regressions, decisions, checklist", quit_action)
        if quit_action is not None:
            file_menu.insertSeparator(quit_action)
        self._action(file_menu, "file.settings", "Settings…", "Ctrl+,", self.open_settings,
                     "identity, store, connections, theme, layout", quit_action)
        if quit_action is not None:
            file_menu.insertSeparator(quit_action)
        view = self._menu("View")
        view.addSeparator()
        self._action(view, "view.samples", "Samples", "Ctrl+1", self.show_samples, "the sample table")
        self._action(view, "view.charts", "Charts", "Ctrl+2", self.show_charts, "the charts of this request")

    # -- inbox scope ------------------------------------------------------
    def _install_inbox_scope(self) -> None:
        from signoff.settings import load_settings

        inbox = self.window.inbox
        if not hasattr(inbox, "set_scope"):
            return
        try:
            scope = load_settings().get("inbox.scope")
        except Exception:
            scope = "all"
        if scope == "mine":
            inbox.set_scope("mine")
        inbox.scopeChanged.connect(self._scope_changed)

    # -- outbox ----------------------------------------------------------
    def _install_outbox_retry(self):
        drain = getattr(self.window, "outbox_drain", None)
        if drain is None:       # a test double's store: nothing is posted
            return None
        from signoff.ui.outbox_drain import RetryFailedControl

        return RetryFailedControl(self.window, drain, actor=getattr(self.window.service, "user", "") or "")

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
        w.flush_labels()
        dialog = ExportDialog(w.service, w.request.id, w.eval_set, selected=w.current_sample_id(),
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
        default = str(Path.home() / f"signoff-report-{w.request.sha[:7]}.html")
        path, _ = QFileDialog.getSaveFileName(w, "Save report", default, "HTML file (*.html)")
        if path:
            self.save_report(path if path.lower().endswith((".html", ".htm")) else path + ".html")

    def save_report(self, path: str | Path) -> workers.Worker | None:
        from signoff.report.html import build_report

        w = self.window
        if w.request is None:
            return None
        w.flush_labels()
        if self.report_worker is not None and self.report_worker.is_running:
            w.statusBar().showMessage("A report is being written already.", 4000)
            return self.report_worker
        w.statusBar().showMessage("writing the report…")
        self.report_worker = workers.run_in_thread(
            build_report, w.service, w.request.id, Path(path), with_task=True,
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
        dialog = SettingsDialog(current_user=getattr(w.service, "user", ""), parent=w)
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
            if user != w.service.user:
                w.service.user = user
                w.refresh_inbox()
                if w.request is not None:
                    w.refresh_verdict()
        w.inbox.refresh_mlflow()   # MLflow servers added or removed: the inbox's MLflow section follows
        w.update_status_bar()
        w.statusBar().showMessage(f"settings saved to {dialog.settings.path}", 6000)

    def reset_layout(self) -> None:
        reset_layout()
        w = self.window
        sizes, size = self._default_sizes
        w.main_splitter.setSizes(sizes)
        w.resize(size)
        w.statusBar().showMessage("window layout reset", 4000)

    # -- lifecycle --------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if obj is self.window and event.type() == QEvent.Type.Close:
            try:
                save_layout(self.window)
            except Exception:  # never block closing the window
                log.exception("window layout not saved")
        return False

    def shutdown(self, wait: float = 3.0) -> None:
        self.charts.shutdown(wait)
        if self.report_worker is not None:
            self.report_worker.wait(wait * 5)
            self.report_worker = None
        d = self.export_dialog
        if d is not None and getattr(d, "_worker", None) is not None:
            d._worker.wait(wait)


def install_extras(window: QMainWindow) -> WorkbenchExtras:
    extras = WorkbenchExtras(window)
    window.extras = extras
    return extras
