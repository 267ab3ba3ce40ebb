"""Screenshots of docs/user-guide.md for issue 15: the window at 1024×700 (light and dark, a
search hit highlighted), File ▸ New review… (two files, git), the empty inbox; and at 200 %
on a 1920×1080 screen:

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python -m tests.ui.make_fit_screenshots docs/screenshots
    QT_SCALE_FACTOR=2 xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python -m tests.ui.make_fit_screenshots docs/screenshots

Not a test: run it, then look at every picture before committing it (temporary SIGNOFF_HOME)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.ui.shots import isolate, pump  # noqa: E402  (before Qt and the app: the environment they read)

TMP = isolate("signoff-fit-shots-")

import pandas as pd  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from signoff.service.review import ReviewService  # noqa: E402
from signoff.service.signer import KeyFileSigner  # noqa: E402
from signoff.store.store import Store  # noqa: E402
from signoff.ui.app import create_main_window  # noqa: E402
from signoff.ui.theme import apply_theme  # noqa: E402
from signoff.plugins.demo import DemoSource, build_demo_workspace, demo_key_file  # noqa: E402


def open_demo(window, req) -> None:
    window.inbox.select(req.id)
    pump(30, lambda: window.model.frame is not None and not window.loader.running)
    combo = window.eval_set_combo
    combo.setCurrentIndex(max(0, combo.findData("support-replies")))
    pump(30, lambda: window.eval_set == "support-replies" and not window.loader.running)
    pump(0.5)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    QApplication.instance() or QApplication(sys.argv)
    scaled = float(os.environ.get("QT_SCALE_FACTOR", "1") or 1) > 1
    ws = build_demo_workspace(TMP / "demo")
    store = Store(f"sqlite:///{TMP / 'fit.db'}")
    alice = ReviewService(store, user="alice@example.com", signer=KeyFileSigner(demo_key_file(ws.repo, "alice@example.com")))

    if not scaled:
        empty = create_main_window(alice)
        empty.resize(1280, 560)     # wide enough for the inbox to stay unfolded
        empty.show()
        pump(1.0)
        empty.grab().save(str(out / "window-empty.png"))
        empty.shutdown()
        empty.close()

    req = ReviewService(store, user="ci@example.com").create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    window = create_main_window(alice)
    if scaled:
        window.resize(1440, 860)           # larger than the screen: the window fits itself into it
        window.show()
        pump(1.0)
        open_demo(window, req)
        window.set_search("refund")
        pump(1.0)
        window.grab().save(str(out / "window-200pct.png"))
        print("200%:", window.frameGeometry(), "screen", window.screen().availableGeometry())
        window.shutdown()
        return
    window.resize(1024, 700)
    window.show()
    pump(1.0)
    open_demo(window, req)
    window.set_search("refund")
    pump(1.0)
    window.grab().save(str(out / "window-1024x700.png"))
    apply_theme("dark")
    window.blind_check.setChecked(False)
    pump(1.0)
    window.grab().save(str(out / "window-1024x700-dark.png"))
    apply_theme("light")
    pump(0.3)

    # New review…: two files with the roles guessed, one remapped.
    ids = [f"q{i}" for i in range(8)]
    base = pd.DataFrame({"id": ids, "question": [f"What is {i} + {i}?" for i in range(8)],
                         "answer": [str(2 * i) for i in range(8)], "answer_v2": [str(2 * i) for i in range(8)]})
    cand = base.copy()
    cand["answer_v2"] = [str(2 * i if i % 3 else i) for i in range(8)]
    base.to_csv(TMP / "baseline.csv", index=False)
    cand.to_csv(TMP / "candidate.csv", index=False)
    window.actions_by_id["file.new_review"].trigger()
    dialog = window.new_review_dialog
    dialog.tabs.setCurrentWidget(dialog.files)
    dialog.files.set_files(str(TMP / "baseline.csv"), str(TMP / "candidate.csv"))
    dialog.files.set_role("output", "answer_v2")
    pump(0.5)
    dialog.grab().save(str(out / "new-review-files.png"))
    dialog.tabs.setCurrentWidget(dialog.git)
    dialog.git.set_repo(str(ws.repo))
    pump(0.5)
    dialog.grab().save(str(out / "new-review-git.png"))
    dialog.reject()
    window.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
