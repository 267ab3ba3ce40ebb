"""Settings dialog, theme, saved window layout, and the File menu's export and report."""

from __future__ import annotations

import json

import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from signoff.service.export import read_export
from signoff.settings import load_settings
from signoff.ui import layout
from signoff.ui.theme import apply_theme, is_dark
from tests.support.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.gui



@pytest.fixture
def no_theme_left():
    yield
    apply_theme("system")


def test_settings_persist_only_what_changed_and_identity_applies_at_once(qtbot, window, monkeypatch):
    dialog = window.extras.open_settings()
    dialog.user_edit.setText("bob@example.com")
    dialog.add_repo("/src/support-model")
    servers = dialog.sections["mlflow"]                     # the MLflow plugin's part of Connections (a UI extension)
    servers._add_mlflow_row("prod", "https://mlflow.example.com")
    servers._add_mlflow_row("staging", "https://mlflow.staging.example.com", "/ci/main/signoff.toml")   # its policy
    with qtbot.waitSignal(dialog.accepted):
        dialog.accept()
    data = json.loads(load_settings().path.read_text())
    assert data == {"schema": 1, "identity": {"user": "bob@example.com"},
                    "connections": {"git_repos": ["/src/support-model"],
                                    "mlflow_servers": [{"name": "prod", "url": "https://mlflow.example.com"},
                                                       {"name": "staging", "url": "https://mlflow.staging.example.com",
                                                        "policy": "/ci/main/signoff.toml"}]}}
    assert window.service.user == "bob@example.com"
    assert "you: bob@example.com" in window.status_label.text()
    again = window.extras.open_settings()                   # what was saved is what the dialog shows
    assert again.user_edit.text() == "bob@example.com" and again.repos() == ["/src/support-model"]
    assert again.sections["mlflow"].mlflow_servers() == data["connections"]["mlflow_servers"]
    again.reject()


def test_store_url_test_connection_reports_both_outcomes(qtbot, window, tmp_path):
    dialog = window.extras.open_settings()
    dialog.store_edit.setText(f"sqlite:///{tmp_path}/team.db")
    with qtbot.waitSignal(dialog.storeChecked, timeout=10_000) as ok:
        dialog.test_store()
    assert ok.args[0] is True and "team.db" in dialog.store_result.text()
    dialog.store_edit.setText("mysql://nobody@nowhere/db")
    with qtbot.waitSignal(dialog.storeChecked, timeout=10_000) as bad:
        dialog.test_store()
    assert bad.args[0] is False and "unsupported database" in dialog.store_result.text()
    dialog.reject()


def test_forge_token_without_a_keyring_says_what_to_do(qtbot, window, monkeypatch):
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    dialog = window.extras.open_settings()
    dialog.forge_combo.setCurrentText("github")
    dialog.token_edit.setText("ghp_secret")
    assert dialog.save_token() is False
    text = dialog.token_status.text()
    assert "no OS keyring" in text and "GITHUB_TOKEN" in text and "ghp_secret" not in text
    dialog.reject()
    assert not load_settings().path.exists()                 # cancelled: nothing written, no token anywhere


def test_forge_token_goes_to_the_keyring_not_the_settings_file(qtbot, window, monkeypatch):
    ring = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: ring)
    monkeypatch.setattr(keyring, "set_password", ring.set_password)
    monkeypatch.setattr(keyring, "get_password", ring.get_password)
    dialog = window.extras.open_settings()
    dialog.forge_combo.setCurrentText("gitea")
    dialog.api_edit.setText("https://git.example.com")
    dialog.token_edit.setText("gitea-token-123")
    assert dialog.save_token() is True
    assert ring.data == {("signoff", "gitea@git.example.com"): "gitea-token-123"}
    assert "Saved in the OS keyring" in dialog.token_status.text() and dialog.token_edit.text() == ""
    dialog.accept()
    text = load_settings().path.read_text()
    assert "gitea-token-123" not in text and "https://git.example.com" in text


def test_dark_theme_applies_and_persists(qtbot, window, no_theme_left):
    dialog = window.extras.open_settings()
    dialog.theme_buttons["dark"].setChecked(True)          # previews at once
    assert is_dark(QApplication.instance().palette())
    dialog.accept()
    assert load_settings().get("appearance.theme") == "dark"
    cancel = window.extras.open_settings()
    cancel.theme_buttons["light"].setChecked(True)
    assert not is_dark()
    cancel.reject()                                          # cancel undoes the preview
    assert is_dark()


def test_window_layout_is_restored_and_a_new_layout_version_resets_it(make_window, service, monkeypatch):
    first = make_window(service)
    first.resize(1200, 700)
    first.main_splitter.setSizes([400, 800])
    first.close()                                            # saves the layout
    second = make_window(service)
    assert second.main_splitter.sizes()[0] == pytest.approx(400, abs=30)
    second.main_splitter.setSizes([300, 900])
    second.close()
    monkeypatch.setattr(layout, "LAYOUT_VERSION", layout.LAYOUT_VERSION + 1)
    third = make_window(service)                             # the window changed: the old layout is dropped
    assert third.main_splitter.sizes()[0] != pytest.approx(300, abs=30)
    assert layout.layout_settings().value("layout/version") is None


def test_export_dialog_writes_the_filtered_samples(qtbot, window, open_request, tmp_path):
    open_request(window, 1)
    window.filter_to_class("regressed")
    shown = [window.model.sample_id(r) for r in range(window.model.rowCount())]
    dialog = window.extras.open_export_dialog()
    assert dialog.scope_shown.isChecked() and f"({len(shown)})" in dialog.scope_shown.text()
    dialog.format_combo.setCurrentIndex(2)                  # Parquet
    dialog.path_edit.setText(str(tmp_path / "regressed.parquet"))
    with qtbot.waitSignal(dialog.exported, timeout=10_000):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    back = read_export(tmp_path / "regressed.parquet")
    assert list(back["id"]) == shown and set(back["class"]) == {"regressed"}
    assert "exported" in window.statusBar().currentMessage()


def test_report_from_the_menu(qtbot, window, open_request, tmp_path):
    open_request(window, 1)
    path = tmp_path / "report.html"
    worker = window.extras.save_report(path)
    qtbot.waitUntil(lambda: window.extras.last_report is not None, timeout=30_000)
    assert worker.wait(5)
    text = path.read_text()
    assert "Policy checklist" in text and "Shorter support replies" in text
    assert "report written" in window.statusBar().currentMessage()


# -- Settings ▸ Identity: the user's SSH keys -------------------------------------

@pytest.fixture
def ssh_home(monkeypatch):
    """HOME is a temp dir (tests/conftest.py); no ssh-agent and no SIGNOFF_SIGNING_KEY from the machine."""
    from pathlib import Path

    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("SIGNOFF_SIGNING_KEY", raising=False)
    return Path.home()


def _keygen(path, comment):
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return subprocess.run(["ssh-keygen", "-l", "-f", str(path)], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_identity_lists_the_users_key_and_the_choice_survives_reopening(qtbot, window, ssh_home):
    from signoff.settings import configured_signing_key

    (ssh_home / ".ssh").mkdir(mode=0o700)
    listing = _keygen(ssh_home / ".ssh" / "id_ed25519", "alice@example.com")
    (ssh_home / ".ssh" / "stray.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG/l no private key\n")
    dialog = window.extras.open_settings()
    assert dialog.keys_table.rowCount() == 1                        # stray.pub has no private key beside it
    cells = [dialog.keys_table.item(0, c).text() for c in range(4)]
    assert cells[:2] == ["ED25519", "alice@example.com"] and cells[2] == listing.split()[1]
    assert cells[3] == "~/.ssh/id_ed25519" and dialog.keys_table.item(0, 0).toolTip() == listing
    dialog.keys_table.selectRow(0)
    public = (ssh_home / ".ssh" / "id_ed25519.pub").read_text().strip()
    assert dialog.public_key_edit.text() == public and dialog.public_key_edit.isReadOnly()
    assert "[signers.keys]" in dialog.send_note.text()
    with qtbot.waitSignal(dialog.accepted):
        dialog.accept()
    choice = configured_signing_key()
    assert (choice.path, choice.source) == (ssh_home / ".ssh" / "id_ed25519", "settings")
    again = window.extras.open_settings()
    assert again.chosen_key().public_key == public and again.public_key_edit.text() == public
    again.reject()


def test_create_a_key_makes_one_openssh_accepts_and_copy_puts_it_on_the_clipboard(qtbot, window, ssh_home):
    import subprocess

    dialog = window.extras.open_settings()
    assert dialog.keys_table.rowCount() == 0 and "create one" in dialog.key_note.text()
    dialog.user_edit.setText("alice@example.com")
    qtbot.mouseClick(dialog.create_key_button, Qt.MouseButton.LeftButton)
    made = ssh_home / ".ssh" / "signoff_ed25519"
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(made)], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip().endswith("alice@example.com (ED25519)")
    assert oct(made.stat().st_mode & 0o777) == "0o600"
    public = (ssh_home / ".ssh" / "signoff_ed25519.pub").read_text().strip()
    assert dialog.chosen_key().private_path == made and dialog.public_key_edit.text() == public
    assert out.stdout.split()[1] == dialog.chosen_key().fingerprint
    qtbot.mouseClick(dialog.copy_key_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == public
    # Once more: a second key beside it, never over it
    before = made.read_bytes()
    qtbot.mouseClick(dialog.create_key_button, Qt.MouseButton.LeftButton)
    assert made.read_bytes() == before and (ssh_home / ".ssh" / "signoff_ed25519_2").is_file()
    assert dialog.keys_table.rowCount() == 2 and dialog.chosen_key().private_path.name == "signoff_ed25519_2"
    dialog.reject()


def test_signoff_signing_key_wins_and_the_dialog_says_so(qtbot, window, ssh_home, monkeypatch):
    from signoff.settings import configured_signing_key

    monkeypatch.setenv("SIGNOFF_SIGNING_KEY", "/keys/ci_ed25519")
    dialog = window.extras.open_settings()
    assert dialog.key_env_note.isVisibleTo(dialog)
    assert "SIGNOFF_SIGNING_KEY=/keys/ci_ed25519 is set in the environment and wins" in dialog.key_env_note.text()
    dialog.reject()
    choice = configured_signing_key()
    assert (str(choice.path), choice.source) == ("/keys/ci_ed25519", "SIGNOFF_SIGNING_KEY")
