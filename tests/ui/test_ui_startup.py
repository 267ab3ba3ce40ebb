"""Starting the app (app/ui/startup.py): the start-up window shows before the store is opened,
the workbench replaces it, a store that cannot be opened is one line with Settings… / Retry / Quit,
and neither `signoff`'s CLI module nor the start-up module imports the heavy libraries."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMainWindow

from signoff.ui import startup

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "pyarrow", "sqlalchemy", "alembic")
DOWN_URL = "postgresql://alice:s3cret@127.0.0.1:1/signoff"   # nothing listens on port 1: refused at once


@pytest.fixture
def seeded(tmp_path):
    """The demo request in the test's store (SIGNOFF_HOME is a fresh temp dir, tests/conftest.py)."""
    from signoff.service.review import ReviewService
    from signoff.store.store import Store
    from signoff.plugins.demo import DemoSource, build_demo_workspace

    ws = build_demo_workspace(tmp_path / "demo")
    store = Store()
    req = ReviewService(store, user="ci@example.com").create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    store.close()
    return req


@pytest.fixture
def launched(qtbot):
    """launched(**kwargs): a Launcher, cleaned up after the test (window, store, thread)."""
    made = []

    def make(**kwargs):
        launcher = startup.Launcher(**kwargs)
        qtbot.addWidget(launcher.startup)
        made.append(launcher)
        return launcher

    yield make
    for launcher in made:
        assert launcher.wait(30), "the start-up thread still runs"
        if launcher.window is not None:
            launcher.window.close()          # shutdown(): no worker outlives the test
            launcher.window.service.store.close()


def _save_geometry(width: int, height: int) -> None:
    from signoff.ui.layout import save_layout

    w = QMainWindow()
    w.resize(width, height)
    save_layout(w)
    w.deleteLater()


def test_the_start_up_window_shows_before_the_store_opens(qtbot, launched, monkeypatch, seeded):
    _save_geometry(720, 500)     # within the offscreen screen (800 x 600)
    gate, entered = threading.Event(), threading.Event()
    real = startup.open_service

    def held(user=None, progress=lambda text: None):
        entered.set()
        assert gate.wait(30)
        return real(user, progress)

    monkeypatch.setattr(startup, "open_service", held)
    launcher = launched(open_request=seeded.id, user="alice@example.com")
    try:
        _check_held_then_released(qtbot, launcher, gate, entered, seeded)
    finally:
        gate.set()                            # a failing assert must not leave the loader waiting


def _check_held_then_released(qtbot, launcher, gate, entered, seeded):
    said = []
    launcher._progress.connect(lambda _attempt, text: said.append(text))
    with qtbot.waitSignal(launcher.startup.painted, timeout=5000):
        launcher.start()
    assert entered.wait(5)

    # On the screen while the loader is held: title, icon, saved size, a line of progress.
    s = launcher.startup
    assert s.isVisible() and launcher.window is None
    assert s.windowTitle() == "Signoff"
    assert not s.windowIcon().isNull()
    assert (s.width(), s.height()) == (720, 500)
    assert s.message.text() == "Loading the workbench…"
    assert s.bar.isVisible() and not s.quit_button.isVisible()

    gate.set()
    with qtbot.waitSignal(launcher.ready, timeout=60_000) as ready:
        pass
    window = ready.args[0]
    qtbot.waitUntil(lambda: window.isVisible() and not s.isVisible(), timeout=5000)
    assert window is launcher.window
    # Where the start-up window was (no smaller than the workbench can be).
    assert window.pos() == s.pos()
    assert window.height() == s.height() and window.width() >= s.width()
    assert seeded.id in window.inbox.request_ids()
    assert window.service.user == "alice@example.com"
    qtbot.waitUntil(lambda: window.request is not None and window.request.id == seeded.id, timeout=20_000)
    with qtbot.waitSignal(window.comparisonLoaded, timeout=20_000, raising=False):
        pass
    home = Path(os.environ["SIGNOFF_HOME"])
    assert f"Opening the review store (local: {home / 'signoff.db'})…" in said
    assert launcher.exit_code == 0


def test_a_store_that_is_down_is_one_line_with_quit_and_no_traceback(qtbot, launched, monkeypatch, capsys):
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", DOWN_URL)
    launcher = launched()
    with qtbot.waitSignal(launcher.failed, timeout=60_000) as failed:
        launcher.start()
    s = launcher.startup
    text = s.message.text()
    assert failed.args == [text]
    assert text.startswith("cannot open the review store postgresql://alice@127.0.0.1:1/signoff")
    assert "\n" not in text and "Traceback" not in text and "s3cret" not in text
    qtbot.waitUntil(lambda: s.message.height() >= s.message.heightForWidth(s.message.width()))  # all of it shows
    assert s.message.heightForWidth(s.message.width()) > s.message.fontMetrics().height()     # (it wraps)
    assert s.isVisible() and launcher.window is None
    assert s.quit_button.isVisible() and s.retry_button.isVisible() and s.settings_button.isVisible()
    assert not s.bar.isVisible()
    assert launcher.exit_code != 0
    err = capsys.readouterr().err
    assert f"signoff: {text}" in err and "Traceback" not in err

    qtbot.mouseClick(s.quit_button, Qt.MouseButton.LeftButton)
    assert not s.isVisible()
    assert launcher.exit_code != 0


def test_settings_then_retry_opens_the_workbench(qtbot, launched):
    from signoff.settings import load_settings

    settings = load_settings()
    settings.set("store.url", DOWN_URL)          # the Settings dialog's store, which Settings… can change
    settings.save()
    launcher = launched(user="alice@example.com")
    with qtbot.waitSignal(launcher.failed, timeout=60_000):
        launcher.start()
    dialog = launcher.open_settings()
    assert dialog.isVisible() and dialog.store_edit.text() == DOWN_URL
    dialog.store_edit.setText("")                # back to the local SQLite file
    with qtbot.waitSignal(launcher.ready, timeout=60_000):
        dialog.accept()                          # saved: tried again at once
    assert load_settings().get("store.url") == ""
    qtbot.waitUntil(lambda: launcher.window.isVisible() and not launcher.startup.isVisible(), timeout=5000)
    assert launcher.exit_code == 0


def test_a_bug_while_loading_is_one_line_too(qtbot, launched, monkeypatch, caplog):
    def broken(user=None, progress=lambda text: None):
        raise RuntimeError("boom")

    monkeypatch.setattr(startup, "open_service", broken)
    launcher = launched()
    with caplog.at_level(logging.ERROR), qtbot.waitSignal(launcher.failed, timeout=10_000):
        launcher.start()
    text = launcher.startup.message.text()
    assert text.startswith("internal error: RuntimeError: boom")
    assert "Traceback" not in text
    assert launcher.exit_code == 70
    assert "Traceback" in caplog.text          # the details go to the log


def test_launch_returns_non_zero_when_the_store_did_not_open(qapp, monkeypatch):
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", DOWN_URL)
    seen = {}

    def quit_when_failed():
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, startup.StartupWindow) and w.isVisible()]
        if not windows or not windows[-1].quit_button.isVisible():
            QTimer.singleShot(50, quit_when_failed)
            return
        seen["hook"] = sys.excepthook is startup.excepthook
        windows[-1].quit_button.click()

    QTimer.singleShot(50, quit_when_failed)
    previous = sys.excepthook
    try:
        code = startup.launch()
    finally:
        for h in list(logging.getLogger().handlers):   # the log file launch added
            if isinstance(h, logging.FileHandler) and startup.log_path() and h.baseFilename == str(startup.log_path()):
                logging.getLogger().removeHandler(h)
                h.close()
    assert code == 6   # the store could not be reached (docs/cli.md exit codes)
    assert seen == {"hook": True}
    assert sys.excepthook is previous


def test_store_description_names_the_file_or_the_server_without_password(monkeypatch):
    home = Path(os.environ["SIGNOFF_HOME"])
    assert startup.store_description() == f"local: {home / 'signoff.db'}"
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", DOWN_URL)
    assert startup.store_description() == "postgresql://alice@127.0.0.1:1/signoff"


def _modules_after_import(module: str) -> list[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_cli_module_imports_nothing_heavy_and_no_qt():
    loaded = {m.split(".")[0] for m in _modules_after_import("signoff.cli.main")}
    assert not loaded & {*HEAVY, "PySide6", "shiboken6"}, sorted(loaded & {*HEAVY, "PySide6", "shiboken6"})


def test_the_start_up_module_imports_nothing_heavy():
    loaded = {m.split(".")[0] for m in _modules_after_import("signoff.ui.startup")}
    assert "PySide6" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def _signoff(env_extra: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SIGNOFF_STARTUP_PROBE": "1", "SIGNOFF_USER": "alice@example.com",
           "SIGNOFF_CONFIG_DIR": str(tmp_path / "config"), **env_extra}
    return subprocess.run([sys.executable, "-m", "signoff"], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=180)


def test_signoff_starts_through_the_start_up_window(tmp_path, seeded):
    proc = _signoff({}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split()
    assert lines[0::2] == ["shown", "ready"], proc.stdout
    shown, ready = float(lines[1]), float(lines[3])
    assert 0 < shown <= ready
    assert "Traceback" not in proc.stderr


def test_signoff_with_the_store_down_says_one_line_and_exits_non_zero(tmp_path):
    proc = _signoff({"SIGNOFF_DATABASE_URL": DOWN_URL}, tmp_path)
    assert proc.returncode == 6   # the store unreachable (README "Exit codes")
    assert proc.stdout.splitlines()[0].startswith("shown ")
    assert proc.stdout.splitlines()[1].startswith("failed cannot open the review store")
    assert "signoff: cannot open the review store postgresql://alice@127.0.0.1:1/signoff" in proc.stderr
    assert "Traceback" not in proc.stderr and "s3cret" not in proc.stderr
