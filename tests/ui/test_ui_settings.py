"""Settings dialog, theme, saved window layout, and the File menu's export and report."""

from __future__ import annotations

import json

import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.service.export import read_export
from app.settings import load_settings
from app.ui import layout
from app.ui.theme import apply_theme, is_dark
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
    dialog._add_mlflow_row("prod", "https://mlflow.example.com")
    dialog._add_mlflow_row("staging", "https://mlflow.staging.example.com", "/ci/main/signoff.toml")   # its policy
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
    assert again.mlflow_servers() == data["connections"]["mlflow_servers"]
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
