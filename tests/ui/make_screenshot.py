"""Save a screenshot of the workbench on the test double's data.

    QT_QPA_PLATFORM=offscreen python -m tests.ui.make_screenshot docs/screenshots/workbench-first.png

(or under Xvfb without QT_QPA_PLATFORM). Not a test: run it, then look at the picture.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from signoff.core.model import Verdict
from signoff.ui.app import create_main_window
from tests.doubles import FakeReviewService


def _pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main(out: str = "docs/screenshots/workbench-first.png", sample: str = "s-002") -> int:
    service = FakeReviewService()
    window = create_main_window(service)
    app = QApplication.instance()
    window.resize(1600, 960)
    window.show()
    window.inbox.select(1)
    deadline = time.monotonic() + 10
    while window.model.rowCount() == 0 and time.monotonic() < deadline:
        _pump(app, 0.05)
    # A little review history so ticks and the header show it.
    window.select_row(0)
    window.label_verdict(Verdict.BASELINE)
    window.label_correct(False)
    window.select_row(window.model.row_of(sample))
    window.table.setFocus(Qt.FocusReason.OtherFocusReason)
    _pump(app, 0.8)
    ok = window.grab().save(out)
    window.shutdown()
    print(f"saved {out}" if ok else f"could not save {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
