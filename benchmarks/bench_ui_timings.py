"""UI responsiveness figures that used to be wall-clock assertions in the unit tests.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_ui_timings.py [--rows N]
Prints each figure next to the bound the unit test used to assert (tests keep only behaviour:
what is shown, counted and selected; time belongs here, measured on a quiet machine).

  search_handoff   set_search on a 100,000-row table returns (the search runs on a worker)   < 0.25 s
  event_loop_gap   the longest gap of a 5 ms timer while three searches run                    < 0.25 s
  long_text_show   a 4,000-line text diff shown                                                  < 1.5 s
  long_text_scroll one scroll step + repaint of that diff (mean of 20)                          < 0.05 s
  big_filters      class filter + review filter + search + a key + a sort on 100,000 rows        < 3.0 s
  model_*          SampleTableModel on a generated 1,000,000-row table (tests/ui/test_ui_model.py)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from signoff.ui import table_filters  # noqa: E402
from signoff.ui.app import create_main_window  # noqa: E402
from tests.doubles import FakeReviewService  # noqa: E402


def wait_signal(signal, start, timeout_s: float = 30.0) -> None:
    """Call start() and run the event loop until `signal` fires (or the timeout)."""
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    start()
    loop.exec()
    signal.disconnect(loop.quit)


def wait_until(pred, timeout_s: float = 30.0) -> None:
    end = time.perf_counter() + timeout_s
    while not pred() and time.perf_counter() < end:
        QTest.qWait(10)


def open_window(rows: int):
    window = create_main_window(FakeReviewService(big=rows))
    window.resize(1400, 850)
    window.show()
    wait_signal(window.comparisonLoaded, lambda: window.inbox.select(3))
    return window


def bench_search(rows: int) -> dict[str, float]:
    table_filters.ASYNC_SEARCH_ROWS = 1_000
    window = open_window(rows)
    wait_until(lambda: window.model.search_index is not None)
    gaps, last, handoff = [], [time.perf_counter()], []

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    for needle in ("answer 17 v2", "answer", "no such text"):
        def start(needle=needle):
            t = time.perf_counter()
            window.set_search(needle)
            handoff.append(time.perf_counter() - t)
        wait_signal(window.filtersApplied, start)
    timer.stop()
    window.close()
    return {"search_handoff": max(handoff), "event_loop_gap": max(gaps)}


def bench_big_filters(rows: int) -> dict[str, float]:
    window = open_window(rows)
    t = time.perf_counter()
    window.class_buttons["regressed"].click()
    window.filter_combo.setCurrentIndex(1)
    window.set_search("v2")
    QTest.keyClick(window.table, Qt.Key.Key_N)
    window.table.horizontalHeader().sectionClicked.emit(0)
    elapsed = time.perf_counter() - t
    window.close()
    return {"big_filters": elapsed}


def bench_long_text() -> dict[str, float]:
    from signoff.registry import registry
    from tests.ui.test_ui_views import row, shown_sample

    view = registry().renderer_for("text")().create_view()
    view.resize(900, 500)
    view.show()
    long_a = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(4000))
    long_b = long_a.replace("line 2000:", "line two thousand:")
    t = time.perf_counter()
    view.show_sample(shown_sample(row(baseline_output=long_a, candidate_output=long_b)))
    show = time.perf_counter() - t
    bar = view.diff.candidate_view.verticalScrollBar()
    wait_until(lambda: bar.maximum() > 0)
    t = time.perf_counter()
    for step in range(20):
        bar.setValue(bar.maximum() * step // 20)
        view.diff.candidate_view.viewport().repaint()
    scroll = (time.perf_counter() - t) / 20
    view.close()
    return {"long_text_show": show, "long_text_scroll": scroll}


def bench_model(n: int) -> dict[str, float]:
    from signoff.ui.sample_model import MyLabel, SampleTableModel
    from tests.ui.test_ui_model import million_row_table

    table = million_row_table(n)
    timings: dict[str, float] = {}

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        timings["model_" + name] = time.perf_counter() - t
        return out

    prepared = timed("prepare", lambda: SampleTableModel.prepare(table))
    model = SampleTableModel()
    timed("set_frame", lambda: model.set_frame(prepared))
    timed("class", lambda: model.set_filter(classes={"regressed"}))
    timed("search", lambda: model.set_filter(classes=None, search="B-00012"))
    timed("search again", lambda: model.set_filter(search="b-00013"))
    timed("slice", lambda: model.set_filter(search="", slice_=("topic", "billing")))
    timed("sort", lambda: model.sort(0, Qt.SortOrder.DescendingOrder))
    timed("label", lambda: (model.set_label("b-0001305", MyLabel(verdict="tie")), model.next_unlabeled(0)))
    return timings


BOUNDS = {"search_handoff": 0.25, "event_loop_gap": 0.25, "long_text_show": 1.5, "long_text_scroll": 0.05,
          "big_filters": 3.0, "model_prepare": 10, "model_set_frame": 1.5, "model_class": 1, "model_search": 8,
          "model_search again": 4, "model_slice": 2, "model_sort": 6, "model_label": 0.1}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the window benchmarks")
    parser.add_argument("--model-rows", type=int, default=1_000_000, help="rows of the table-model benchmark")
    args = parser.parse_args()
    from signoff.service import signer as signer_module
    from signoff.ui.startup import ensure_app
    from tests.support import keys

    signer_module.signer_for = lambda user, allowed_keys=None: keys.signer(user)   # the test reviewers' keys, as in tests/conftest.py
    os.environ.setdefault("SIGNOFF_HOME", tempfile.mkdtemp(prefix="signoff-bench-"))
    ensure_app()
    figures: dict[str, float] = {}
    figures.update(bench_search(args.rows))
    figures.update(bench_big_filters(args.rows))
    figures.update(bench_long_text())
    figures.update(bench_model(args.model_rows))
    over = 0
    for name, value in figures.items():
        bound = BOUNDS[name]
        over += value >= bound
        print(f"{name:20} {value:8.3f} s   (bound {bound} s){'   OVER' if value >= bound else ''}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
