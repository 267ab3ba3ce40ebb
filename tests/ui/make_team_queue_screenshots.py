"""Screenshots of team review with [policy] overlap for docs/user-guide.md "Working as a team": my
assigned queue's progress and the inbox's queue column (team-queue.png), agreement per eval set in
the Charts tab (chart-agreement-per-set.png) and the min_agreement item of the approval dialog's
checklist (agreement-checklist.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m tests.ui.make_team_queue_screenshots [OUT_DIR]

Not a test: run it, then look at every picture before committing it (temporary SIGNOFF_HOME; the
reviewers sign with the test keys of tests/support/keys.py)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="signoff-queue-shots-"))
os.environ["SIGNOFF_HOME"] = str(TMP / "home")
os.environ["SIGNOFF_CONFIG_DIR"] = str(TMP / "config")
os.environ.pop("SIGNOFF_DATABASE_URL", None)
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from PySide6.QtCore import QCoreApplication, Qt  # noqa: E402

QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
from PySide6.QtWidgets import QApplication  # noqa: E402

from signoff.service.review import ReviewService  # noqa: E402
from signoff.store.store import Store  # noqa: E402
from signoff.ui.app import create_main_window  # noqa: E402
from tests.plugin_doubles import InMemorySource  # noqa: E402
from tests.support.keys import signer, signers_toml  # noqa: E402
from tests.test_team_review import config, tables  # noqa: E402
from tests.ui.shots import pump  # noqa: E402

SMES = ["alice@example.com", "bob@example.com", "carol@example.com"]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    QApplication.instance() or QApplication(sys.argv)
    store = Store(f"sqlite:///{TMP / 'team.db'}")
    cfg = config(overlap=2, smes=SMES, extra='min_agreement = { metric = "alpha", value = 0.67 }')
    cfg += "\n" + signers_toml([*SMES, "quinn@example.com", "ci@example.com"])

    def who(user):
        return ReviewService(store, user=user, signer=signer(user))

    req = who("ci@example.com").create_request(InMemorySource(tables(60), config=cfg), sha="c1")
    bob, carol, alice = who("bob@example.com"), who("carol@example.com"), who("alice@example.com")
    truth = {}
    for name in req.eval_sets:
        frame = store.load_comparison(req.id, name, columns=["id", "class"])
        truth.update({(name, i): ("baseline" if c == "regressed" else "candidate" if c == "improved" else "tie")
                      for i, c in zip(frame["id"].astype(str), frame["class"].astype(str))})
    for n, person in enumerate((bob, carol)):
        rows = []
        for i, q in enumerate(person.my_queue(req.id)):
            verdict = truth[(q.eval_set, q.sample_id)]
            if (i + n) % 7 == 0:   # now and then another verdict: something to agree about
                verdict = "both-wrong"
            rows.append({"eval_set": q.eval_set, "sample_id": q.sample_id, "verdict": verdict})
        person.import_labels(req.id, rows)
    first = [q for q in alice.my_queue(req.id)]
    alice.import_labels(req.id, [{"eval_set": q.eval_set, "sample_id": q.sample_id,
                                  "verdict": truth[(q.eval_set, q.sample_id)]} for q in first[:7]])

    window = create_main_window(alice)
    window.resize(1560, 940)
    window.show()
    pump(1)
    window.main_splitter.setSizes([560, 1000, 0] if window.main_splitter.count() == 3 else [560, 1000])
    window.inbox.select(req.id)
    pump(20, until=lambda: window.team_queue.active)
    pump(10, until=lambda: window.inbox.column_texts("queue") not in ([], [""]))
    window.inbox.list.setColumnWidth(2, 60)
    window.inbox.list.setColumnWidth(3, 150)
    window.inbox.list.setColumnWidth(4, 190)
    window.inbox.list.scrollToItem(window.inbox.list.topLevelItem(0))
    pump(2)
    window.table.setFocus()
    from signoff.core.model import Verdict

    window.label_verdict(Verdict.BASELINE)
    pump(1)
    window.grab().save(str(out / "team-queue.png"))

    window.open_approval_dialog()
    dialog = window.approval_dialog
    pump(1.0)
    dialog.grab().save(str(out / "agreement-checklist.png"))
    dialog.reject()

    charts = window.charts_tab
    window.extras.show_charts()
    shown = []
    charts.chartShown.connect(shown.append)
    charts.refresh()
    charts.show_chart("agreement")
    pump(60, lambda: "agreement" in shown)
    pump(1.5)
    window.grab().save(str(out / "chart-agreement-per-set.png"))
    window.shutdown()
    store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
