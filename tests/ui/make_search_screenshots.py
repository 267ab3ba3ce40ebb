"""A screenshot of the paged search in parts, for docs/screenshots (issue 16).

    SIGNOFF_HOME=$(mktemp -d) xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python -m tests.ui.make_search_screenshots docs/screenshots

Stores test_ui_search_parts' table as a comparison file of many row groups, opens it paged in
the real window, searches "refund" and holds the search after its first part (as the test
does): search-in-parts.png shows the hits found so far and the count line saying the search
goes on; search-done.png the same search complete. Not a test: run it, then look at both.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication


def main(out: Path) -> int:
    from signoff.service import review as review_mod
    from signoff.service.review import ReviewService
    from signoff.ui import table_filters
    from signoff.ui.app import create_main_window
    from signoff.ui.sample_columns import SearchParts
    from tests.ui import test_ui_search_parts as parts

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    mp = pytest.MonkeyPatch()
    gate, held = threading.Event(), threading.Event()

    def published(self):
        held.set()
        gate.wait(60)

    try:
        mp.setattr(table_filters, "ASYNC_SEARCH_ROWS", 1)
        store, rec, _whole = parts._stored(Path(tempfile.mkdtemp()), mp)
        mp.setattr(review_mod, "PAGED_ABOVE_BYTES", 0)
        mp.setattr(SearchParts, "published", published)
        service = ReviewService(store, user="sme@example.com")
        service.list_requests = lambda: []
        window = create_main_window(service)
        window.resize(1400, 850)
        window.show()
        loaded = []
        window.comparisonLoaded.connect(lambda *a: loaded.append(1))
        window.open_request(rec.id)
        _wait(app, lambda: loaded)
        window.filter_combo.setCurrentText("all samples")
        shown = []
        window.filters.partShown.connect(lambda: shown.append(1))
        window.set_search("refund")
        _wait(app, lambda: shown)
        _settle(app)
        window.grab().save(str(out / "search-in-parts.png"))
        done = []
        window.filtersApplied.connect(lambda: done.append(1))
        gate.set()
        _wait(app, lambda: done)
        _settle(app)
        window.grab().save(str(out / "search-done.png"))
        print(window.count_label.text())
        window.shutdown()
        store.close()
    finally:
        gate.set()
        mp.undo()
    return 0


def _wait(app, cond, steps: int = 3000) -> None:
    """Until cond() holds, at most `steps` rounds of 10 ms (no clock read: a count of sleeps)."""
    for _ in range(steps):
        if cond():
            return
        app.processEvents()
        time.sleep(0.01)
    raise SystemExit("timed out")


def _settle(app) -> None:
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
