"""`signoff review A B` in one process (issue 16): the start-up window shows at once, the request
is made on its worker thread (progress lines in the start-up window) while the workbench is
built, and the workbench opens the table the service just stored without reading it back; bad
input is one line with Retry and Quit, a non-zero exit code and no request."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from signoff.cli.main import ReviewAttempts, build_parser, main, print_json_line
from signoff.ui import startup
from tests.support.reads import comparison_reads

pytestmark = pytest.mark.gui

SAMPLES = {"id": ["a", "b", "c", "d"], "question": ["2+2", "capital of France", "sky", "née"],
           "expected": ["4", "Paris", "blue", "x"]}
BASE = {"id": ["a", "b", "c", "d"], "prediction": ["4", "Lyon", "blue", "y"], "score": [1.0, 0.0, 1.0, 0.5]}
CAND = {"id": ["a", "b", "c", "d"], "prediction": ["4", "Paris", "green", "ÿ"], "score": [1.0, 1.0, 0.0, 0.5]}


def _files(tmp_path):
    paths = {}
    for name, data in (("samples", SAMPLES), ("base", BASE), ("cand", CAND)):
        paths[name] = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table(data), paths[name])
    return paths


def _launcher(qtbot, argv):
    args = build_parser().parse_args(["--user", "alice@example.com", *argv])
    launcher = startup.Launcher(user=args.user, prepare=ReviewAttempts(args))   # as cmd_gui makes it
    qtbot.addWidget(launcher.startup)
    return launcher


def _rows_as_json(frame, eval_set: str) -> list[dict]:
    """The window's table as `signoff samples --json` prints it (app/cli/main.py cmd_samples)."""
    base_cols = ["id", "class", "missing_side", "input", "reference", "baseline_output", "candidate_output",
                 "baseline_score", "candidate_score", "delta"]
    from signoff.core.compare import is_prediction_extra

    slices = [c for c in frame.columns if c not in base_cols and c != "severity" and not c.endswith("_bytes")
              and not is_prediction_extra(c)]
    out = io.StringIO()
    with redirect_stdout(out):
        for rec in frame.to_dict("records"):
            print_json_line({"eval_set": eval_set, **{c: rec.get(c) for c in base_cols},
                             "slices": {c: rec.get(c) for c in slices}})
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _input_reads(monkeypatch) -> list[str]:
    """The threads the files are read on (file_inputs.load: what create_request would call)."""
    import threading

    from signoff.service import file_inputs

    threads: list[str] = []
    real = file_inputs.load
    monkeypatch.setattr(file_inputs, "load", lambda *a, **k: threads.append(threading.current_thread().name)
                        or real(*a, **k))
    return threads


def test_review_opens_the_table_it_just_stored_in_one_process(qtbot, tmp_path, monkeypatch, capsys):
    paths = _files(tmp_path)
    reads = comparison_reads(monkeypatch)
    input_reads = _input_reads(monkeypatch)
    launcher = _launcher(qtbot, ["review", str(paths["base"]), str(paths["cand"]), "--samples", str(paths["samples"])])
    said = []
    launcher._progress.connect(lambda _attempt, text: said.append(text))
    with qtbot.waitSignal(launcher.startup.painted, timeout=5000):
        launcher.start()
    with qtbot.waitSignal(launcher.ready, timeout=60_000) as ready:
        pass
    window = ready.args[0]
    try:
        qtbot.waitUntil(lambda: window.request is not None and len(window.model.frame) == 4, timeout=20_000)
        req = window.request
        assert req.id in window.inbox.request_ids() and not launcher.startup.isVisible()
        assert {"Reading the files…", "Comparing cand…", "Saving the review request…"} <= set(said), said
        assert reads == []          # opened from the table in memory, not read back from its file
        assert input_reads == ["signoff-inputs"]    # read once, on a thread of its own while the store opened
        frame = window.model.frame.copy()
    finally:
        assert launcher.wait(30)
        window.close()
        window.service.store.close()
    capsys.readouterr()
    assert main(["samples", str(req.id), "--json"]) == 0     # a new service: the file read back
    stored = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert reads                                            # (that one was read, its hash checked)
    assert _rows_as_json(frame, "cand") == stored
    assert {r["id"]: r["class"] for r in stored}["b"] == "improved"


def test_review_of_bad_input_fails_in_the_start_up_window_and_stores_nothing(qtbot, tmp_path):
    paths = _files(tmp_path)
    csv = tmp_path / "cand.csv"
    csv.write_text("id,prediction\na,4\n")
    launcher = _launcher(qtbot, ["review", str(paths["base"]), str(csv)])
    with qtbot.waitSignal(launcher.failed, timeout=60_000) as failed:
        launcher.start()
    s = launcher.startup
    assert failed.args == [s.message.text()]
    assert "different formats" in s.message.text() and "\n" not in s.message.text()
    assert s.quit_button.isVisible() and s.retry_button.isVisible() and s.isVisible()
    assert s.hint.text() == startup.INPUT_HINT and s.hint.isVisible()
    assert launcher.exit_code == 2 and launcher.window is None
    assert launcher.wait(30)
    from signoff.store.store import Store

    store = Store()
    try:
        assert store.list_requests() == []
    finally:
        store.close()


def test_review_retried_after_the_file_is_fixed_reads_it_again(qtbot, tmp_path):
    """The read ahead is per attempt: Retry after fixing the file compares the fixed file."""
    paths = _files(tmp_path)
    pq.write_table(pa.table({"id": ["a", "b"], "answer": ["4", "Paris"]}), paths["cand"])   # no prediction column
    launcher = _launcher(qtbot, ["review", str(paths["base"]), str(paths["cand"]), "--samples", str(paths["samples"])])
    with qtbot.waitSignal(launcher.failed, timeout=60_000):
        launcher.start()
    assert "no output column" in launcher.startup.message.text() and launcher.exit_code == 2
    assert launcher.wait(30)
    pq.write_table(pa.table(CAND), paths["cand"])
    with qtbot.waitSignal(launcher.ready, timeout=60_000) as ready:
        launcher.startup.retry_button.click()
    window = ready.args[0]
    try:
        qtbot.waitUntil(lambda: window.request is not None and len(window.model.frame) == 4, timeout=20_000)
        assert set(window.model.frame["candidate_output"]) == set(CAND["prediction"])
        assert [r.id for r in window.service.store.list_requests()] == [window.request.id]   # the failed try stored none
    finally:
        assert launcher.wait(30)
        window.close()
        window.service.store.close()


def test_review_with_bad_input_and_no_store_reports_the_store(qtbot, tmp_path, monkeypatch):
    """The files are read while the store opens; a store that cannot be opened is still the error shown."""
    paths = _files(tmp_path)
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/signoff")
    launcher = _launcher(qtbot, ["review", str(paths["base"]), str(tmp_path / "missing.parquet")])
    with qtbot.waitSignal(launcher.failed, timeout=60_000):
        launcher.start()
    s = launcher.startup
    assert "missing.parquet" not in s.message.text() and s.hint.text() == startup.STORE_HINT
    assert launcher.exit_code == 6
    assert launcher.wait(30)


def test_review_retried_at_once_never_holds_two_reads(qtbot, tmp_path, monkeypatch):
    """Retry right after the store failed, while that attempt's read still runs: the new attempt
    waits for it to end (and lets it go) before it reads, so the files are never read twice at once."""
    import threading
    import time

    from signoff.cli import main as cli

    import gc
    import weakref

    paths = _files(tmp_path)
    running, most, reads, lock = [0], [0], [0], threading.Lock()
    read_values = []
    real = cli._review_inputs

    def slow_read(args):
        with lock:
            running[0] += 1
            reads[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(1.5)   # a large read: the store's failure comes long before its end
            value = real(args)
            read_values.append(weakref.ref(value))
            return value
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(cli, "_review_inputs", slow_read)
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/signoff")
    launcher = _launcher(qtbot, ["review", str(paths["base"]), str(paths["cand"]), "--samples", str(paths["samples"])])
    with qtbot.waitSignal(launcher.failed, timeout=60_000):
        launcher.start()
    assert launcher.exit_code == 6 and running[0] == 1   # the first read still runs
    qtbot.waitUntil(lambda: running[0] == 0 and len(read_values) == 1, timeout=20_000)
    gc.collect()
    qtbot.waitUntil(lambda: read_values[0]() is None, timeout=5_000)   # the failed attempt's files not kept
    monkeypatch.delenv("SIGNOFF_DATABASE_URL")
    with qtbot.waitSignal(launcher.ready, timeout=60_000) as ready:
        launcher.startup.retry_button.click()
    window = ready.args[0]
    try:
        qtbot.waitUntil(lambda: window.request is not None and len(window.model.frame) == 4, timeout=20_000)
        assert reads[0] == 2 and most[0] == 1
    finally:
        assert launcher.wait(30)
        window.close()
        window.service.store.close()
