"""The "Working as a team" screenshots of docs/user-guide.md (the window parts), on the demo:
another reviewer's labels in the detail pane and the labels column; the end-of-queue notice.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m tests.ui.make_team_screenshots [OUT_DIR]

Not a test: run it, then look at every picture before committing it (temporary SIGNOFF_HOME)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.ui.shots import isolate, pump  # noqa: E402  (before Qt and the app: the environment they read)

TMP = isolate("signoff-team-shots-")

from PySide6.QtWidgets import QApplication  # noqa: E402

from signoff.service.review import ReviewService  # noqa: E402
from signoff.service.signer import KeyFileSigner  # noqa: E402
from signoff.store.store import Store  # noqa: E402
from signoff.ui.app import create_main_window  # noqa: E402
from signoff.plugins.demo import DemoSource, build_demo_workspace, demo_key_file  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    QApplication.instance() or QApplication(sys.argv)
    ws = build_demo_workspace(TMP / "demo")
    store = Store(f"sqlite:///{TMP / 'team.db'}")
    req = ReviewService(store, user="ci@example.com").create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)

    def who(user):
        return ReviewService(store, user=user, signer=KeyFileSigner(demo_key_file(ws.repo, user)))

    alice, bob, quinn = who("alice@example.com"), who("bob@example.com"), who("quinn@example.com")
    table = alice.comparison(req.id, "support-replies")
    todo = table[table["class"].astype(str) != "unchanged"]["id"].tolist()
    bob.import_labels(req.id, [{"eval_set": "support-replies", "sample_id": s, "verdict": "baseline",
                                "error": "hallucination" if i % 3 == 0 else None,
                                "comment": "refund amount invented" if i == 0 else None}
                               for i, s in enumerate(todo[:30])])
    quinn.import_labels(req.id, [{"eval_set": "support-replies", "sample_id": s, "verdict": "tie" if i % 2 else "baseline",
                                  "comment": "tone is fine, facts wrong" if i == 0 else None}
                                 for i, s in enumerate(todo[:12])])
    alice.import_labels(req.id, [{"eval_set": "support-replies", "sample_id": s, "verdict": "baseline"}
                                 for s in todo[:5]])

    window = create_main_window(alice)
    window.resize(1560, 940)
    window.show()
    pump(1)
    window.inbox.select(req.id)
    pump(20, until=lambda: window.eval_set is not None and window.model.rowCount() > 0)
    window.load_eval_set("support-replies")
    pump(20, until=lambda: window.eval_set == "support-replies" and window.model.rowCount() > 0)
    pump(2)
    window.select_row(window.model.row_of(todo[0]))
    pump(3, until=lambda: "bob@example.com" in window.team.panel.text.text())
    pump(1)
    window.grab().save(str(out / "team-labels.png"))

    window.load_eval_set("digits")
    pump(20, until=lambda: window.eval_set == "digits" and window.model.rowCount() > 0)
    pump(1)
    window.table.setFocus()
    from signoff.core.model import Verdict

    for _ in range(9):   # what key 3 does (tie, then on), without needing the X server's focus
        window.label_verdict(Verdict.TIE)
        pump(0.1)
    pump(2, until=lambda: window.queues.notice.isVisible())
    pump(1)
    window.grab().save(str(out / "end-of-queue.png"))
    window.shutdown()
    store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
