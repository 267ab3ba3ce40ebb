"""File ▸ Settings…: identity (who you are, the SSH key you sign with), store,
connections, appearance, layout.

Identity lists the user's SSH keys (the ssh-agent's and ~/.ssh/*.pub with the
private key beside it, app/service/local_keys.py), creates an ed25519 key on
request, and shows the chosen public key with a Copy button and what to do with it.

Writes app/settings.py's JSON file (only what was changed) on OK. Forge
tokens go straight to the OS keyring through app/credentials.py when
"Save token" is clicked, never into the settings file; where the machine
has no keyring the dialog says so and names the environment variable to
use instead.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLineEdit, QListWidget, QPushButton,
                               QRadioButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from signoff.core.errors import SignoffError
from signoff.service import local_keys
from signoff.settings import ENV_SIGNING_KEY, THEMES, Settings, load_settings
from signoff.ui import workers
from signoff.ui.diff_view import plain_label

log = logging.getLogger(__name__)
THEME_WORDS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}


def _token_sinks() -> dict[str, type]:
    """The sinks that take a token, from the registry (each declares its TokenSpec)."""
    from signoff.registry import registry

    return registry().token_sinks()


def _default_api(sink) -> str:
    """What the API URL field starts with for a sink: its default URL, else its public host."""
    spec = sink.TOKEN
    return spec.default_url or (f"https://{spec.public_host}" if spec.public_host else "")


def _note(text: str = ""):
    label = plain_label(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _home_short(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + os.sep) else path


def _check_store_url(url: str) -> str:
    """signoff.store.store.check_store_url, imported on the worker thread: the dialog opens before the store's
    heavy imports (pandas, SQLAlchemy) when start-up could not reach the store."""
    from signoff.store.store import check_store_url

    return check_store_url(url)


class SettingsDialog(QDialog):
    themeChanged = Signal(str)
    layoutReset = Signal()
    storeChecked = Signal(bool, str)     # ok, message
    tokenMessage = Signal(bool, str)     # ok, message

    def __init__(self, settings: Settings | None = None, *, current_user: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings or load_settings()
        self._original_theme = self.settings.get("appearance.theme")
        self._worker: workers.Worker | None = None
        self.tabs = QTabWidget()
        self.tabs.addTab(self._identity_tab(current_user), "Identity")
        self.tabs.addTab(self._store_tab(), "Store")
        self.tabs.addTab(self._connections_tab(), "Connections")
        self.tabs.addTab(self._appearance_tab(), "Appearance")
        self.problem = _note(self.settings.problem)
        self.problem.setVisible(bool(self.settings.problem))
        self.path_note = _note(f"Saved in {self.settings.path}")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.problem)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.path_note)
        lay.addWidget(buttons)
        self.resize(900, 680)

    # -- tabs ---------------------------------------------------------------
    def _identity_tab(self, current_user: str) -> QWidget:
        w = QWidget()
        self._current_user = current_user
        self.user_edit = QLineEdit(self.settings.get("identity.user"))
        self.user_edit.setPlaceholderText("e.g. alice@example.com (as listed in signoff.toml [roles])")
        self.user_edit.setAccessibleName("identity")
        env = os.environ.get("SIGNOFF_USER", "").strip()
        text = (f"Acting now as: {current_user}." if current_user else "")
        if env:
            text += f"\nSIGNOFF_USER={env} is set in the environment and wins over this setting."
        else:
            text += "\nEmpty: Signoff uses git's user.email. The CLI uses this setting too."
        self.user_note = _note(text.strip())
        outer = QVBoxLayout(w)
        form = QFormLayout()
        form.addRow("Your identity", self.user_edit)
        form.addRow("", self.user_note)
        outer.addLayout(form)
        outer.addWidget(self._keys_box(), 1)
        return w

    def _keys_box(self) -> QGroupBox:
        """Your signing key: the way a forge's "SSH keys" page shows them."""
        box = QGroupBox("Your signing key")
        self.keys_table = QTableWidget(0, 4)
        self.keys_table.setHorizontalHeaderLabels(["Type", "Comment", "Fingerprint", "Where"])
        self.keys_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.keys_table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.keys_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.keys_table.verticalHeader().hide()
        self.keys_table.setAccessibleName("signing keys")
        header = self.keys_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)    # the comment gives way, never the fingerprint
        self.keys_table.itemSelectionChanged.connect(self._key_selected)
        self.create_key_button = QPushButton("Create a key…")
        self.create_key_button.setToolTip("Makes a new ed25519 key in ~/.ssh (signoff_ed25519) and selects it")
        self.create_key_button.clicked.connect(self.create_key)
        refresh = QPushButton("Look again")
        refresh.clicked.connect(self.refresh_keys)
        self.public_key_edit = QLineEdit()
        self.public_key_edit.setReadOnly(True)
        self.public_key_edit.setAccessibleName("public key")
        self.public_key_edit.setPlaceholderText("choose a key above, or create one")
        self.copy_key_button = QPushButton("Copy")
        self.copy_key_button.clicked.connect(self.copy_public_key)
        self.key_note = _note("")
        self.key_env_note = _note("")
        self.key_message = _note("")
        self.send_note = _note("Send this public key to your policy owner to add under [signers.keys] in signoff.toml "
                               "on the default branch (or add it to GitHub as a signing key if your team lists you "
                               "as github:LOGIN).")
        buttons = QHBoxLayout()
        buttons.addWidget(self.create_key_button)
        buttons.addWidget(refresh)
        buttons.addStretch(1)
        copy_row = QHBoxLayout()
        copy_row.addWidget(self.public_key_edit, 1)
        copy_row.addWidget(self.copy_key_button)
        lay = QVBoxLayout(box)
        lay.addWidget(self.key_env_note)
        lay.addWidget(self.keys_table, 1)
        lay.addWidget(self.key_note)
        lay.addLayout(buttons)
        lay.addWidget(self.key_message)
        lay.addWidget(plain_label("Public key"))
        lay.addLayout(copy_row)
        lay.addWidget(self.send_note)
        self._keys: list = []
        self._chosen_key = self.settings.get("identity.signing_key")
        env_key = os.environ.get(ENV_SIGNING_KEY, "").strip()
        self.key_env_note.setText(f"{ENV_SIGNING_KEY}={env_key} is set in the environment and wins over the key "
                                  f"chosen here." if env_key else "")
        self.key_env_note.setVisible(bool(env_key))
        self.refresh_keys()
        return box

    # -- signing keys -----------------------------------------------------------
    def refresh_keys(self) -> None:
        self._keys, agent_note = local_keys.find_keys()
        chosen = self._chosen_key
        if chosen and local_keys.find_choice(self._keys, chosen) is None:
            note = f"The key chosen before ({chosen}) is not here any more. "
        else:
            note = ""
        if not self._keys:
            note += "No SSH keys found in the ssh-agent or in ~/.ssh: create one below."
        elif agent_note:
            note += f"Keys from ~/.ssh ({agent_note})."
        self.key_note.setText(note.strip())
        self.key_note.setVisible(bool(note))
        table = self.keys_table
        table.blockSignals(True)
        table.setRowCount(len(self._keys))
        for row, key in enumerate(self._keys):
            where = "ssh-agent" if key.private_path is None else _home_short(key.where)
            for col, text in enumerate((key.key_type, key.comment, key.fingerprint, where)):
                item = QTableWidgetItem(text)
                item.setToolTip(key.listing)
                table.setItem(row, col, item)
        table.clearSelection()
        table.blockSignals(False)
        self.select_key(chosen)

    def select_key(self, choice: str) -> None:
        for row, key in enumerate(self._keys):
            if key.choice == choice:
                self.keys_table.selectRow(row)
                return
        self._show_public_key(None)

    def _key_selected(self) -> None:
        rows = {i.row() for i in self.keys_table.selectedItems()}
        key = self._keys[min(rows)] if rows else None
        if key is not None:
            self._chosen_key = key.choice
        self._show_public_key(key)

    def _show_public_key(self, key) -> None:
        self.public_key_edit.setText(key.public_key if key else "")
        self.public_key_edit.setCursorPosition(0)
        self.copy_key_button.setEnabled(key is not None)

    def chosen_key(self):
        return local_keys.find_choice(self._keys, self._chosen_key)

    def create_key(self) -> None:
        try:
            key = local_keys.create_key(comment=self.user_edit.text().strip() or self._current_user)
        except SignoffError as exc:
            self.key_message.setText(f"✗ {exc}")
            return
        self.key_message.setText(f"✓ Created {_home_short(key.where)} and chose it. Copy the public key below and send it on.")
        self._chosen_key = key.choice
        self.refresh_keys()

    def copy_public_key(self) -> None:
        text = self.public_key_edit.text()
        if text:
            QGuiApplication.clipboard().setText(text)
            self.key_message.setText("✓ The public key is on the clipboard.")

    def _store_tab(self) -> QWidget:
        w = QWidget()
        self.store_edit = QLineEdit(self.settings.get("store.url"))
        self.store_edit.setPlaceholderText("empty: a local SQLite file · postgresql://user@host/db to share reviews")
        self.store_edit.setAccessibleName("store URL")
        self.store_test = QPushButton("Test connection")
        self.store_test.clicked.connect(self.test_store)
        self.store_result = _note("")
        env = os.environ.get("SIGNOFF_DATABASE_URL", "").strip()
        note = ("A password in the URL is stored in this file as it is; prefer a .pgpass file or a "
                "PGPASSWORD variable for PostgreSQL. A new store is used from the next start of Signoff.")
        if env:
            note = "SIGNOFF_DATABASE_URL is set in the environment and wins over this setting.\n" + note
        row = QHBoxLayout()
        row.addWidget(self.store_edit, 1)
        row.addWidget(self.store_test)
        form = QFormLayout(w)
        form.addRow("Store URL", row)
        form.addRow("", self.store_result)
        form.addRow("", _note(note))
        return w

    def _connections_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)

        git = QGroupBox("Git repositories (offered by File ▸ New review…; where signoff.toml, eval sets and predictions live)")
        gl = QHBoxLayout(git)
        self.repo_list = QListWidget()
        self.repo_list.setAccessibleName("git repositories")
        self.repo_list.addItems(self.settings.get("connections.git_repos"))
        self.repo_list.setToolTip("File ▸ New review… offers these repositories: pick a candidate branch or commit "
                                  "and a baseline from their lists")
        col = QVBoxLayout()
        add_repo, remove_repo = QPushButton("Add…"), QPushButton("Remove")
        add_repo.clicked.connect(self._add_repo)
        remove_repo.clicked.connect(lambda: self._remove_selected(self.repo_list))
        col.addWidget(add_repo)
        col.addWidget(remove_repo)
        col.addStretch(1)
        gl.addWidget(self.repo_list, 1)
        gl.addLayout(col)
        lay.addWidget(git)

        # Each UI extension's part of Connections (e.g. the MLflow plugin's tracking servers), from the registry.
        self.sections: dict[str, QWidget] = {}
        from signoff.registry import registry

        for name, cls in sorted(registry().ui_extensions.items()):
            try:
                section = cls().settings_section(self.settings)
            except Exception:  # noqa: BLE001 (a broken plugin must not take Settings down)
                log.exception("UI extension %s: its settings section failed", name)
                continue
            if section is not None:
                lay.addWidget(section)
                self.sections[name] = section

        forge = QGroupBox("Forge tokens (kept in the OS keyring, never in the settings file)")
        fl = QFormLayout(forge)
        self.forge_combo = QComboBox()
        self._token_sinks = _token_sinks()
        for i, (name, sink) in enumerate(self._token_sinks.items()):
            self.forge_combo.addItem(name)
            self.forge_combo.setItemData(i, getattr(sink, "DISPLAY_NAME", "") or name, Qt.ItemDataRole.ToolTipRole)
        self.api_edit = QLineEdit()
        self.api_edit.setPlaceholderText("API base URL, e.g. https://api.github.com or https://git.example.com")
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("paste a token (it is not shown)")
        self.token_edit.setAccessibleName("forge token")
        save_token, delete_token = QPushButton("Save token"), QPushButton("Remove token")
        save_token.clicked.connect(self.save_token)
        delete_token.clicked.connect(self.delete_token)
        self.token_status = _note("")
        row = QHBoxLayout()
        row.addWidget(self.token_edit, 1)
        row.addWidget(save_token)
        row.addWidget(delete_token)
        fl.addRow("Forge", self.forge_combo)
        fl.addRow("API URL", self.api_edit)
        fl.addRow("Token", row)
        fl.addRow("", self.token_status)
        self._forges = {f.get("forge"): f.get("api_url", "") for f in self.settings.get("connections.forges")}
        self.forge_combo.currentTextChanged.connect(self._forge_chosen)
        self._forge_chosen(self.forge_combo.currentText())
        lay.addWidget(forge)
        return w

    def _appearance_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.theme_buttons: dict[str, QRadioButton] = {}
        group = QButtonGroup(self)
        current = self.settings.get("appearance.theme")
        for theme in THEMES:
            b = QRadioButton(THEME_WORDS[theme])
            b.setChecked(theme == current)
            b.toggled.connect(lambda on, t=theme: on and self.themeChanged.emit(t))
            group.addButton(b)
            self.theme_buttons[theme] = b
            lay.addWidget(b)
        lay.addWidget(_note("Class colours and diff marks are chosen to read in both light and dark."))
        reset = QPushButton("Reset window layout")
        reset.setToolTip("pane sizes, column widths and the window's size back to the defaults")
        reset.clicked.connect(self.layoutReset)
        lay.addSpacing(12)
        lay.addWidget(reset, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addStretch(1)
        return w

    # -- actions --------------------------------------------------------------
    def _add_repo(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A model repository")
        if path:
            self.add_repo(path)

    def add_repo(self, path: str) -> None:
        if path and path not in self.repos():
            self.repo_list.addItem(path)

    def _remove_selected(self, lw: QListWidget) -> None:
        for item in lw.selectedItems():
            lw.takeItem(lw.row(item))

    def repos(self) -> list[str]:
        return [self.repo_list.item(i).text() for i in range(self.repo_list.count())]

    def _forge_chosen(self, forge: str) -> None:
        self.api_edit.setText(self._forges.get(forge) or self._default_api(forge))
        self._show_token_state()

    def _default_api(self, forge: str) -> str:
        sink = self._token_sinks.get(forge)
        return _default_api(sink) if sink is not None else ""

    def _show_token_state(self) -> None:
        forge, api = self.forge_combo.currentText(), self.api_edit.text().strip()
        try:
            from signoff.credentials import find_token

            found = find_token(forge, api)
        except SignoffError as exc:
            self.token_status.setText(str(exc))
            return
        shown = getattr(self._token_sinks.get(forge), "DISPLAY_NAME", "") or forge
        if found.token is not None:
            text = f"A {shown} token for {found.host} is set ({found.source})."
        else:
            text = f"No {shown} token for {found.host} yet."
        if found.problem:
            text += f" Note: {found.problem}."
        self.token_status.setText(text)

    def save_token(self) -> bool:
        from signoff.credentials import store_token

        forge, api, token = self.forge_combo.currentText(), self.api_edit.text().strip(), self.token_edit.text()
        try:
            store_token(forge, api, token)
        except SignoffError as exc:
            self.token_status.setText(f"Token not saved: {exc}")
            self.tokenMessage.emit(False, str(exc))
            return False
        self.token_edit.clear()
        self._forges[forge] = api
        self._show_token_state()
        self.token_status.setText("Saved in the OS keyring. " + self.token_status.text())
        self.tokenMessage.emit(True, self.token_status.text())
        return True

    def delete_token(self) -> None:
        from signoff.credentials import delete_token

        forge, api = self.forge_combo.currentText(), self.api_edit.text().strip()
        try:
            removed = delete_token(forge, api)
        except SignoffError as exc:
            self.token_status.setText(str(exc))
            return
        self._show_token_state()
        if not removed:
            self.token_status.setText("No token in the OS keyring to remove. " + self.token_status.text())

    def test_store(self) -> None:
        if self._worker is not None and self._worker.is_running:
            return
        self.store_test.setEnabled(False)
        self.store_result.setText("connecting…")
        self._worker = workers.run_in_thread(_check_store_url, self.store_edit.text(),
                                             on_finished=lambda msg: self._store_checked(True, msg),
                                             on_failed=lambda msg, _d: self._store_checked(False, msg))

    def _store_checked(self, ok: bool, message: str) -> None:
        self._worker = None
        self.store_test.setEnabled(True)
        self.store_result.setText(("✓ " if ok else "✗ ") + message)
        self.storeChecked.emit(ok, message)

    def chosen_theme(self) -> str:
        return next((t for t, b in self.theme_buttons.items() if b.isChecked()), "system")

    # -- result ---------------------------------------------------------------
    def apply_to_settings(self) -> Settings:
        s = self.settings
        s.set("identity.user", self.user_edit.text().strip())
        s.set("identity.signing_key", self._chosen_key or "")
        s.set("store.url", self.store_edit.text().strip())
        s.set("connections.git_repos", self.repos())
        for section in self.sections.values():
            section.apply_to_settings(s)
        forge, api = self.forge_combo.currentText(), self.api_edit.text().strip()
        if api and api != self._default_api(forge):
            self._forges[forge] = api
        s.set("connections.forges", [{"forge": f, "api_url": a} for f, a in sorted(self._forges.items()) if f and a])
        s.set("appearance.theme", self.chosen_theme())
        return s

    def accept(self) -> None:
        self.apply_to_settings()
        try:
            self.settings.save()
        except OSError as exc:
            self.problem.setText(f"Settings not saved: {exc.strerror or exc} ({self.settings.path})")
            self.problem.show()
            return
        self._finish()
        super().accept()

    def reject(self) -> None:
        if self.chosen_theme() != self._original_theme:
            self.themeChanged.emit(self._original_theme)   # undo the preview
        self._finish()
        super().reject()

    def _finish(self) -> None:
        if self._worker is not None:
            self._worker.wait(5.0)
            self._worker = None
