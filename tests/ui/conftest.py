"""Fixtures for the window tests: a FakeReviewService and a window on it.

Every test here must leave no background worker running: the autouse
fixture waits for the thread pool and fails the test otherwise.
"""

from __future__ import annotations

import pytest

from PySide6.QtCore import QCoreApplication, Qt, QThreadPool

# QtWebEngine (the Charts tab) needs this before pytest-qt makes the QApplication.
QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

from tests.doubles import FakeReviewService


@pytest.fixture(autouse=True)
def _no_running_workers(qapp):
    yield
    from signoff.ui import workers

    pool = QThreadPool.globalInstance()
    running = workers.running_workers()
    for w in running:
        w.cancel()
    finished = pool.waitForDone(5000)
    assert finished, "a background worker was still running 5 s after the test"
    assert not [w for w in workers.running_workers() if w.is_running], "workers left running"


@pytest.fixture
def service() -> FakeReviewService:
    return FakeReviewService()


@pytest.fixture
def make_window(qtbot):
    made = []

    def make(service):
        from signoff.ui.app import create_main_window

        window = create_main_window(service)
        qtbot.addWidget(window)
        window.resize(1400, 850)
        window.show()
        made.append(window)
        return window

    yield make
    for w in made:
        w.shutdown()


@pytest.fixture
def window(make_window, service):
    return make_window(service)


@pytest.fixture
def open_request(qtbot):
    """open_request(window, request_id=1, eval_set=None): open it from the inbox
    (as a click does) and wait until its table is loaded."""

    def open_(window, request_id: int = 1, eval_set: str | None = None):
        with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000):
            assert window.inbox.select(request_id)
        if eval_set is not None and eval_set != window.eval_set:
            with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000):
                window.eval_set_combo.setCurrentIndex(window.eval_set_combo.findData(eval_set))
        return window

    return open_
