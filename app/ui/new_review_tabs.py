"""The first two tabs of File ▸ New review… (app/ui/new_review.py): a git repository's two
revisions, and two prediction files with their column roles (guessed as `signoff review` guesses
them, plugins/files/pair.py; each role editable). Each tab's `job()` is what the dialog runs on a
worker (app/service/new_review.py). Every text from the files is shown as plain text.
"""

from __future__ import annotations


from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QFormLayout,
                               QGridLayout, QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from signoff.service import new_review as nr
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
