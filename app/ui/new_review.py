"""File ▸ New review… (Ctrl+N): start a review from a git repository, two files or MLflow.

Three tabs:
- Git repository: the repositories of Settings ▸ Git repositories (or a folder picker); the
  candidate from a list of branches and recent commits, the baseline from the same list or the
  merge-base with the default branch. The policy is read at the protected base, as always.
- Two files: the baseline's and the candidate's prediction files; a column-mapping step shows
  the candidate file's first rows with the roles guessed as `signoff review` guesses them
  (plugins/files/pair.py), each role editable. Without a policy file it is a local review.
- a tab per UI extension action a plugin offers here (`UiExtension.NEW_REVIEW`, asked of the
  registry): e.g. MLflow, whose button opens the MLflow plugin's browser.

Creating runs on a worker with progress and Cancel (app/service/new_review.py does the work);
`requestCreated(id)` then lets the window list and open it. `install_new_review(window)` adds
the menu entry and the empty inbox's "Open the demo" / "New review…" buttons.
Every text from the files is shown as plain text.
"""

from __future__ import annotations


from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QProgressBar,
                               QPushButton, QTabWidget, QVBoxLayout, QWidget)

from signoff.service import new_review as nr
from signoff.ui import workers
from signoff.ui.diff_view import plain_label

from signoff.ui.new_review_tabs import FilesTab, GitTab   # the first two tabs, a module of their own


class ExtensionTab(QWidget):
    """A plugin's way to start a review (UiExtension.NEW_REVIEW): what it says, and a button that
    runs the plugin's window action."""

    chosen = Signal(str)   # the action id

    def __init__(self, action: str, text: str, button: str, parent=None):
        super().__init__(parent)
        self.action = action
        text = plain_label(text)
        text.setWordWrap(True)
        self.button = QPushButton(button)
        self.button.clicked.connect(lambda: self.chosen.emit(self.action))
        lay = QVBoxLayout(self)
        lay.addWidget(text)
        lay.addWidget(self.button, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addStretch(1)


def _extension_tabs() -> list[tuple[str, str, str, str]]:
    """(action, tab title, text, button) of every UI extension's New review… tab, from the registry."""
    from signoff.registry import registry

    return [(action, *spec) for _name, cls in sorted(registry().ui_extensions.items())
            for action, spec in (getattr(cls, "NEW_REVIEW", None) or {}).items()]


class NewReviewDialog(QDialog):
    requestCreated = Signal(int)
    actionChosen = Signal(str)          # a plugin's tab: the window runs that action

    def __init__(self, service, parent=None):
        super().__init__(parent)
        self.service = service
        self.worker: workers.Worker | None = None
        self.created = None
        self.setWindowTitle("New review")
        self.tabs = QTabWidget()
        self.git = GitTab()
        self.files = FilesTab()
        self.tabs.addTab(self.git, "Git repository")
        self.tabs.addTab(self.files, "Two files")
        self.extension_tabs: dict[str, ExtensionTab] = {}
        for action, title, text, button in _extension_tabs():
            tab = ExtensionTab(action, text, button)
            tab.chosen.connect(self._run_action)
            self.tabs.addTab(tab, title)
            self.extension_tabs[action] = tab
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.message = plain_label("")
        self.message.setWordWrap(True)
        self.error = plain_label("")
        self.error.setWordWrap(True)
        self.error.setProperty("tone", "error")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.create_button = self.buttons.addButton("Create review", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.create_button.clicked.connect(self.create)
        self.cancel_button.clicked.connect(self.cancel)
        self.tabs.currentChanged.connect(
            lambda i: self.create_button.setEnabled(not isinstance(self.tabs.widget(i), ExtensionTab)))
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self.resize(760, 560)

    def _run_action(self, action: str) -> None:
        self.actionChosen.emit(action)
        self.accept()

    def create(self) -> None:
        if self.worker is not None:
            return
        tab = self.tabs.currentWidget()
        self.error.setText("")
        try:
            job = tab.job()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.message.setText("creating the review request…")
        self.create_button.setEnabled(False)
        self.tabs.setEnabled(False)
        self.worker = workers.run_in_thread(job, self.service, with_task=True, on_finished=self._done,
                                            on_failed=self._failed, on_cancelled=self._cancelled,
                                            on_progress=self._progress)

    def _progress(self, message: str, fraction: float) -> None:
        self.message.setText(message)
        if fraction is not None and fraction >= 0:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(fraction * 100))

    def _idle(self) -> None:
        self.worker = None
        self.progress.setVisible(False)
        self.create_button.setEnabled(True)
        self.tabs.setEnabled(True)

    def _done(self, record) -> None:
        self._idle()
        self.created = record
        self.message.setText(f"review request {record.id} created")
        self.requestCreated.emit(record.id)
        self.accept()

    def _failed(self, message: str, _details: str) -> None:
        self._idle()
        self.message.setText("")
        self.error.setText(message)

    def _cancelled(self) -> None:
        self._idle()
        self.message.setText("cancelled")

    def cancel(self) -> None:
        """While creating: stop the worker (the dialog stays); else close."""
        if self.worker is not None:
            self.worker.cancel()
            self.message.setText("cancelling…")
            return
        self.reject()

    def done(self, result: int) -> None:
        if self.worker is not None:    # closing while creating: cancel and wait for it
            self.worker.cancel()
            self.worker.wait(5)
            self.worker = None
        super().done(result)


# -- in the window --------------------------------------------------------------------

def _created(window, request_id: int) -> None:
    window.refresh_inbox()
    if not window.inbox.select(request_id):
        window.open_request(request_id)


def open_new_review(window) -> NewReviewDialog:
    dialog = NewReviewDialog(window.service, window)
    dialog.requestCreated.connect(lambda rid: _created(window, rid))
    dialog.actionChosen.connect(lambda action: window.actions_by_id[action].trigger())
    window.new_review_dialog = dialog
    dialog.open()
    return dialog


def open_demo(window) -> workers.Worker:
    """The empty inbox's "Open the demo": the demo's request (built the first time), then opened."""
    window.loading.start("opening the demo (the first time builds it) …")

    def finished(record):
        window.loading.hide()
        _created(window, record.id)

    def failed(message, details):
        window.loading.hide()
        window.banner.show_message(message, details)

    window.demo_worker = workers.run_in_thread(nr.open_demo, window.service, with_task=True, on_finished=finished,
                                               on_failed=failed, on_cancelled=window.loading.hide,
                                               on_progress=window.loading.progress)
    return window.demo_worker


def install_new_review(window) -> None:
    window.new_review_dialog = None
    window.demo_worker = None
    file_menu = next((a.menu() for a in window.menuBar().actions() if a.text() == "&File"), None)
    action = QAction("New review…", window)
    action.setObjectName("file.new_review")
    action.setShortcut(QKeySequence("Ctrl+N"))
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    plugins = "".join(f", or from {title}" for _action, title, *_ in _extension_tabs())   # the plugins' tabs
    action.setStatusTip(f"a review of a git repository's commit or of two prediction files{plugins}")
    action.triggered.connect(lambda: open_new_review(window))
    window.addAction(action)
    if file_menu is not None:
        first = file_menu.actions()[0] if file_menu.actions() else None
        file_menu.insertAction(first, action)
    window.actions_by_id["file.new_review"] = action

    # The empty inbox: two buttons under its text, shown while the list is empty.
    inbox = window.inbox
    row = QWidget()
    row.setObjectName("empty_actions")
    hl = QHBoxLayout(row)
    hl.setContentsMargins(8, 0, 8, 8)
    inbox.demo_button = QPushButton("Open the demo")
    inbox.demo_button.setToolTip("a small sample review (digits and texts) with its own git repository")
    inbox.new_button = QPushButton("New review…")
    inbox.demo_button.clicked.connect(lambda: open_demo(window))
    inbox.new_button.clicked.connect(lambda: open_new_review(window))
    hl.addWidget(inbox.demo_button)
    hl.addWidget(inbox.new_button)
    hl.addStretch(1)
    inbox.empty_actions = row
    layout = inbox.layout()
    layout.insertWidget(layout.indexOf(inbox.stack) + 1, row)

    def sync(_i=0):
        row.setVisible(inbox.stack.currentWidget() is inbox.empty and not inbox._records)

    inbox.stack.currentChanged.connect(sync)
    sync()
    original = inbox.shutdown if hasattr(inbox, "shutdown") else None

    def shutdown_demo(wait: float = 3.0):
        if window.demo_worker is not None:
            window.demo_worker.cancel()
            window.demo_worker.wait(wait)
        if window.new_review_dialog is not None and window.new_review_dialog.worker is not None:
            window.new_review_dialog.done(0)
        if original is not None:
            original(wait)

    inbox.shutdown = shutdown_demo
