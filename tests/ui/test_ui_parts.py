"""The window's two helpers (app/ui/concurrent.py) and the cancellable load end to end."""

from __future__ import annotations

import threading

import pytest

from signoff.core.errors import PolicyRefusal
from signoff.core.model import Verdict
from signoff.ui.concurrent import ReviewOps, SingleTask
from tests.doubles import FakeReviewService

pytestmark = pytest.mark.gui


def test_single_task_a_new_one_cancels_the_old_and_drops_its_result(qtbot):
    release = threading.Event()
    results = []

    def slow(value, task):
        release.wait(10)      # a wait deadline, not a timing
        return value

    single = SingleTask()
    first = single.start(slow, "old", on_finished=results.append, on_cancelled=lambda: results.append("cancelled"))
    single.start(lambda value, task: value, "new", on_finished=results.append)
    assert first.task.cancelled
    qtbot.waitUntil(lambda: results == ["new"], timeout=5000)
    with qtbot.waitSignal(first.signals.done, timeout=5000):   # queued after its result: that has arrived too
        release.set()
    assert results == ["new"] and not single.running


def test_a_result_arriving_after_its_widget_is_gone_is_dropped(qtbot):
    """A window closed (and deleted) while its task runs: the late result reaches no deleted label."""
    from PySide6.QtWidgets import QLabel

    release = threading.Event()
    label = QLabel("waiting")
    single = SingleTask(label)
    worker = single.start(lambda task: (release.wait(10), "late")[1], on_finished=label.setText)
    label.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(label), timeout=5000)
    with qtbot.waitSignal(worker.signals.done, timeout=5000):   # queued after its result: dropped, no RuntimeError
        release.set()


def test_review_ops_write_off_the_gui_thread_then_review_changed(qtbot):
    service = FakeReviewService()
    flushed = []
    ops = ReviewOps(service, flush_labels=lambda: flushed.append(threading.get_ident()))
    gui = threading.get_ident()
    seen = {}
    changed = []
    ops.reviewChanged.connect(changed.append)

    def decide(*args, **kwargs):
        seen["thread"] = threading.get_ident()
        return service.decide(*args, **kwargs)

    with qtbot.waitSignal(ops.reviewChanged, timeout=5000):
        ops.write(decide, 1, "approve", "", role="sme", request_id=1, on_success=lambda v: seen.setdefault("verdict", v))
    assert seen["thread"] != gui and flushed and flushed[0] != gui     # the queued labels first, on the worker
    assert changed == [1] and seen["verdict"].status is not None
    failures = []
    ops.write(service.decide, 1, "approve", "", role="no-such-role", request_id=1, on_failure=failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=5000)
    assert isinstance(failures[0], PolicyRefusal) and changed == [1]   # refused: no reviewChanged
    assert ops.wait(5)


def test_reads_through_ops_service_wait_for_the_queued_labels(window, open_request, qtbot):
    open_request(window, 1)
    sid = window.current_sample_id()
    window.label_verdict(Verdict.TIE)        # queued on the label writer
    frame = window.ops.service.labels_frame(1)    # no flush_labels() here: the read waits for it
    assert "tie" in set(frame.loc[frame["sample_id"] == sid, "verdict"])


def test_opening_another_request_stops_the_load_on_its_way(make_window, qtbot):
    svc = FakeReviewService()
    svc.comparison_delay = 120.0                 # a load that would take two minutes
    window = make_window(svc)
    window.inbox.select(1)
    first = window.loader.task.worker
    assert first is not None
    svc.comparison_delay = 0
    with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000) as loaded:
        window.open_request(2)
    assert loaded.args[0] == 2
    assert first.task.cancelled
    assert first.wait(10)                        # stopped midway in service.comparison, not after 120 s
    qtbot.wait(50)
    assert window.request.id == 2 and "cancelled" not in window.banner.message.text()
