"""Starting the app: run_app / create_main_window and the excepthook."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from signoff.ui import app as ui_app
from signoff.ui.main_window import MainWindow
from tests.doubles import FakeReviewService

pytestmark = pytest.mark.gui


def test_create_main_window(qtbot):
    window = ui_app.create_main_window(FakeReviewService())
    qtbot.addWidget(window)
    assert isinstance(window, MainWindow)
    assert window.inbox.count() == 2


def test_run_app_opens_the_request_and_returns_the_exit_code(qapp, monkeypatch):
    seen = {}

    def check_and_quit():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        assert windows
        w = windows[-1]
        seen["request"] = w.request.id if w.request else None
        seen["hook"] = sys.excepthook is ui_app.excepthook
        w.close()   # shutdown() waits for the loading worker

    QTimer.singleShot(300, check_and_quit)
    previous = sys.excepthook
    code = ui_app.run_app(FakeReviewService(), open_request=2)
    assert code == 0
    assert seen == {"request": 2, "hook": True}
    assert sys.excepthook is previous
    assert ui_app.log_path() is not None and ui_app.log_path().exists()
    for h in list(logging.getLogger().handlers):   # the file handler run_app added
        if isinstance(h, logging.FileHandler) and h.baseFilename == str(ui_app.log_path()):
            logging.getLogger().removeHandler(h)
            h.close()


def test_excepthook_logs_and_shows_a_message_instead_of_dying(qapp, monkeypatch, caplog):
    shown = {}

    def fake_exec(box):
        shown["text"] = box.text()
        shown["details"] = box.detailedText()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    try:
        raise ValueError("boom <b>not bold</b>")
    except ValueError:
        exc_info = sys.exc_info()
    with caplog.at_level(logging.ERROR):
        ui_app.excepthook(*exc_info)
    assert "ValueError: boom <b>not bold</b>" in shown["text"]
    assert "Traceback" in shown["details"]
    assert "boom" in caplog.text
