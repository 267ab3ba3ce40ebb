"""Workers: results, errors and cancel come back as signals on the GUI thread."""

from __future__ import annotations

import threading
import time

import pytest

from signoff.core.errors import InputError
from signoff.ui import workers

pytestmark = pytest.mark.gui


def test_result_comes_back_on_the_gui_thread(qtbot):
    main = threading.get_ident()
    seen = {}

    def work(x, task):
        seen["worker_thread"] = threading.get_ident()
        task.report("half way", 0.5)
        return x * 2

    progress = []
    results = []

    def on_finished(r):
        seen["slot_thread"] = threading.get_ident()
        results.append(r)

    w = workers.run_in_thread(work, 21, with_task=True, on_finished=on_finished,
                              on_progress=lambda m, f: progress.append((m, f)))
    qtbot.waitUntil(lambda: results == [42], timeout=5000)
    assert seen["worker_thread"] != main
    assert seen["slot_thread"] == main
    assert progress == [("half way", 0.5)]
    assert w.wait(2)


def test_failed_signal_carries_message_and_traceback(qtbot):
    def bad():
        raise InputError("predictions.jsonl line 3: bad JSON")

    got = []
    workers.run_in_thread(bad, on_failed=lambda m, d: got.append((m, d)))
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    message, details = got[0]
    assert message == "predictions.jsonl line 3: bad JSON"
    assert "Traceback" in details and "InputError" in details


def test_cancel_stops_a_task_that_checks(qtbot):
    started = threading.Event()

    def slow(task):
        started.set()
        for _ in range(500):
            task.check()
            time.sleep(0.01)
        return "done"

    got = []
    w = workers.run_in_thread(slow, with_task=True, on_cancelled=lambda: got.append("cancelled"),
                              on_finished=lambda r: got.append(r))
    assert started.wait(5)
    w.cancel()
    qtbot.waitUntil(lambda: got == ["cancelled"], timeout=5000)
    assert w.wait(2)
    assert w not in workers.running_workers()


def test_cancel_drops_a_late_result(qtbot):
    def quick_but_deaf():
        time.sleep(0.2)
        return "late"

    got = []
    w = workers.run_in_thread(quick_but_deaf, on_cancelled=lambda: got.append("cancelled"),
                              on_finished=lambda r: got.append(r))
    w.cancel()
    qtbot.waitUntil(lambda: got == ["cancelled"], timeout=5000)
