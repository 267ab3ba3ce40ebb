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
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QGridLayout, QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from signoff.service import new_review as nr
from signoff.ui import workers
from signoff.ui.diff_view import plain_label

ROLES = ("id", "input", "reference", "output", "score")
NONE = "(none)"
MERGE_BASE = ""     # baseline item data: the merge-base with the default branch
PREVIEW_ROWS = 5


def _configured_repos() -> list[str]:
    try:
        from signoff.settings import load_settings

        return [str(r) for r in load_settings().get("connections.git_repos") or []]
    except Exception:   # unreadable settings: the folder picker still works
        return []


class GitTab(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.refs: nr.RepoRefs | None = None
        self.repo_combo = QComboBox()
        self.repo_combo.setAccessibleName("git repository")
        self.repo_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.repo_combo.setMinimumContentsLength(24)
        for path in _configured_repos():
            self.repo_combo.addItem(path, path)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("any git repository on this computer (Settings ▸ Git repositories lists "
                                      "the ones you use often)")
        self.folder_button.clicked.connect(self._pick_folder)
        self.repo_combo.currentIndexChanged.connect(lambda _i: self.load_refs())
        top = QHBoxLayout()
        top.addWidget(self.repo_combo, 1)
        top.addWidget(self.folder_button)

        self.candidate_list = QListWidget()
        self.candidate_list.setAccessibleName("candidate")
        self.candidate_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.baseline_combo = QComboBox()
        self.baseline_combo.setAccessibleName("baseline")
        self.baseline_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.baseline_combo.setMinimumContentsLength(24)
        self.note = plain_label("")
        self.note.setWordWrap(True)
        self.note.setProperty("tone", "muted")

        form = QFormLayout()
        form.addRow(plain_label("repository:"), top)
        form.addRow(plain_label("candidate:"), self.candidate_list)
        form.addRow(plain_label("baseline:"), self.baseline_combo)
        lay = QVBoxLayout(self)
        lay.addLayout(form, 1)
        lay.addWidget(self.note)
        if self.repo_combo.count():
            self.load_refs()
        else:
            self.note.setText("No repositories in Settings ▸ Git repositories yet: choose a folder.")

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A git repository")
        if path:
            self.set_repo(path)

    def set_repo(self, path: str) -> None:
        i = self.repo_combo.findData(path)
        if i < 0:
            self.repo_combo.addItem(path, path)
            i = self.repo_combo.count() - 1
        if i == self.repo_combo.currentIndex():
            self.load_refs()
        else:
            self.repo_combo.setCurrentIndex(i)

    def load_refs(self) -> None:
        self.candidate_list.clear()
        self.baseline_combo.clear()
        self.refs = None
        path = self.repo_combo.currentData()
        if not path:
            return
        try:
            self.refs = refs = nr.repo_refs(path)
        except Exception as exc:   # not a repository, unreadable: one line, the tab stays usable
            self.note.setText(str(exc))
            return
        default = refs.default_branch or "the default branch"
        self.baseline_combo.addItem(f"merge-base with {default} (default)", MERGE_BASE)
        for ref in refs.branches + refs.commits:
            item = QListWidgetItem(("branch  " if ref.kind == "branch" else "commit  ") + ref.text)
            item.setData(Qt.ItemDataRole.UserRole, ref.name if ref.kind == "branch" else ref.sha)
            self.candidate_list.addItem(item)
            self.baseline_combo.addItem(ref.text, ref.sha)
        # The first branch that is not the default one is the likeliest candidate.
        pick = next((i for i, r in enumerate(refs.branches) if r.name != refs.default_branch), 0)
        if self.candidate_list.count():
            self.candidate_list.setCurrentRow(pick)
        self.note.setText(f"The policy is signoff.toml of {default} at the merge-base with the candidate "
                          f"(the protected base), never the candidate's own.")

    def select_candidate(self, name_or_sha: str) -> bool:
        for i in range(self.candidate_list.count()):
            data = self.candidate_list.item(i).data(Qt.ItemDataRole.UserRole)
            if data == name_or_sha or (len(name_or_sha) >= 7 and str(data).startswith(name_or_sha)):
                self.candidate_list.setCurrentRow(i)
                return True
        return False

    def select_baseline(self, sha: str) -> bool:
        i = self.baseline_combo.findData(sha)
        if i >= 0:
            self.baseline_combo.setCurrentIndex(i)
        return i >= 0

    def job(self):
        item = self.candidate_list.currentItem()
        path = self.repo_combo.currentData()
        if not path:
            raise ValueError("choose a git repository")
        if item is None:
            raise ValueError("choose a candidate (a branch or a commit)")
        candidate = item.data(Qt.ItemDataRole.UserRole)
        baseline = self.baseline_combo.currentData() or ""
        return lambda service, task: nr.create_from_git(service, path, candidate, baseline, task=task)


class FilesTab(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.baseline_edit, b1 = self._file_row("baseline predictions")
        self.candidate_edit, b2 = self._file_row("candidate predictions")
        self.policy_edit, b3 = self._file_row("policy (optional)", policy=True)
        self.policy_edit.setPlaceholderText("none: a local review, you are its reviewer")
        self.sha_edit = QLineEdit()
        self.sha_edit.setAccessibleName("commit")
        self.sha_edit.setPlaceholderText("with a policy: the commit this request is for (status/wait find it)")
        form = QFormLayout()
        form.addRow(plain_label("baseline file:"), b1)
        form.addRow(plain_label("candidate file:"), b2)
        form.addRow(plain_label("policy file:"), b3)
        form.addRow(plain_label("commit:"), self.sha_edit)

        self.role_combos: dict[str, QComboBox] = {}
        roles = QGridLayout()
        for i, role in enumerate(ROLES):
            combo = QComboBox()
            combo.setAccessibleName(f"{role} column")
            combo.currentIndexChanged.connect(lambda _i: self._mark_header())
            self.role_combos[role] = combo
            roles.addWidget(plain_label(f"{role}:"), i // 3, (i % 3) * 2)
            roles.addWidget(combo, i // 3, (i % 3) * 2 + 1)
        self.type_combo = QComboBox()
        self.type_combo.setAccessibleName("output type")
        self.type_combo.addItems(nr.output_types())   # the renderer plugins' too
        roles.addWidget(plain_label("type:"), 1, 4)
        roles.addWidget(self.type_combo, 1, 5)
        self.preview = QTableWidget()
        self.preview.setAccessibleName("first rows")
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.verticalHeader().setVisible(False)
        self.note = plain_label("Choose the two files; their columns are guessed as `signoff review` guesses them.")
        self.note.setWordWrap(True)
        self.note.setProperty("tone", "muted")
        self.columns: list[str] = []
        self.guessed: dict[str, str] = {}
        self.guess_text = ""

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(plain_label("Columns (guessed; change any):"))
        lay.addLayout(roles)
        lay.addWidget(self.preview, 1)
        lay.addWidget(self.note)
        self.baseline_edit.editingFinished.connect(self.read_columns)
        self.candidate_edit.editingFinished.connect(self.read_columns)

    def _file_row(self, name: str, policy: bool = False):
        edit = QLineEdit()
        edit.setAccessibleName(name)
        button = QPushButton("Browse…")
        filt = "signoff.toml (*.toml)" if policy else "Predictions (*.csv *.jsonl *.parquet)"

        def pick():
            path, _ = QFileDialog.getOpenFileName(self, name, "", filt)
            if path:
                edit.setText(path)
                if not policy:
                    self.read_columns()

        button.clicked.connect(pick)
        row = QWidget()
        hl = QHBoxLayout(row)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(edit, 1)
        hl.addWidget(button)
        return edit, row

    def set_files(self, baseline: str, candidate: str) -> None:
        self.baseline_edit.setText(baseline)
        self.candidate_edit.setText(candidate)
        self.read_columns()

    def read_columns(self) -> bool:
        """Guess the roles (the files source's guess) and show the candidate's first rows."""
        base, cand = self.baseline_edit.text().strip(), self.candidate_edit.text().strip()
        if not (base and cand):
            return False

        try:
            columns, rows = nr.preview_rows(cand, PREVIEW_ROWS)
        except Exception as exc:
            self.note.setText(str(exc))
            return False
        self.columns = columns
        for role, combo in self.role_combos.items():
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(NONE, "")
            for c in columns:
                combo.addItem(c, c)
            combo.blockSignals(False)
        self.preview.clear()
        self.preview.setColumnCount(len(columns))
        self.preview.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = QTableWidgetItem(value if len(value) <= 200 else value[:200] + "…")
                item.setToolTip("")
                self.preview.setItem(r, c, item)
        try:
            guess = nr.guess_columns(base, cand)
        except Exception as exc:   # no id/output guessed: the user maps them here
            self.guessed = {}
            self.guess_text = f"{exc}. Map the columns above."
        else:
            self.guessed = dict(guess.columns)
            for role, col in guess.columns.items():
                self.set_role(role, col)
            self.type_combo.setCurrentText(guess.output_type)
            self.guess_text = guess.describe() + " (guessed as `signoff review` guesses)"
        self._mark_header()
        return True

    def set_role(self, role: str, column: str) -> None:
        combo = self.role_combos[role]
        i = combo.findData(column or "")
        combo.setCurrentIndex(max(0, i))

    def mapping(self) -> dict[str, str]:
        return {role: combo.currentData() for role, combo in self.role_combos.items() if combo.currentData()}

    def _mark_header(self) -> None:
        by_col = {}
        for role, col in self.mapping().items():
            by_col.setdefault(col, []).append(role)
        self.preview.setHorizontalHeaderLabels(
            [c + (f"\n[{', '.join(by_col[c])}]" if c in by_col else "") for c in self.columns])
        if self.columns:
            mapping = self.mapping()
            changed = [f"{r}: {self.guessed.get(r) or NONE} → {mapping.get(r) or NONE}" for r in ROLES
                       if mapping.get(r, "") != self.guessed.get(r, "")]
            self.note.setText(self.guess_text + (f" · changed by you: {', '.join(changed)}" if changed else ""))

    def job(self):
        base, cand = self.baseline_edit.text().strip(), self.candidate_edit.text().strip()
        if not (base and cand):
            raise ValueError("choose the baseline's and the candidate's prediction files")
        if not self.columns:
            self.read_columns()
        columns = self.mapping()
        for role in ("id", "output", "input"):
            if role not in columns:
                raise ValueError(f"map the {role} column")
        output_type = self.type_combo.currentText()
        policy, sha = self.policy_edit.text().strip(), self.sha_edit.text().strip()
        return lambda service, task: nr.create_from_files(service, base, cand, columns=columns,
                                                          output_type=output_type, policy_file=policy, sha=sha,
                                                          task=task)


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
