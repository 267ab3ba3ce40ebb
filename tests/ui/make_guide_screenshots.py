"""The screenshots of docs/user-guide.md, on the demo workspace with a little
review history (two reviewers' labels, one approval).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m tests.ui.make_guide_screenshots [OUT_DIR]

Not a test: run it, then look at every picture before committing it. It
works in a temporary SIGNOFF_HOME and config dir, so your own store and
settings are never touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.ui.shots import isolate, pump  # noqa: E402  (before Qt and the app: the environment they read)

TMP = isolate("signoff-shots-")

from PySide6.QtWidgets import QApplication  # noqa: E402

from signoff.core.model import DecisionKind, Verdict  # noqa: E402
from signoff.service.review import ReviewService  # noqa: E402
from signoff.store.store import Store  # noqa: E402
from signoff.ui.app import create_main_window  # noqa: E402
from signoff.service.signer import KeyFileSigner  # noqa: E402
from signoff.plugins.demo import DemoSource, build_demo_workspace, demo_key_file  # noqa: E402


def reviewer(store: Store, user: str) -> ReviewService:
    """A demo reviewer, signing with the key the demo made for them (docs/trust.md)."""
    return ReviewService(store, user=user, signer=KeyFileSigner(demo_key_file(TMP / "demo", user)))


def history(store: Store) -> int:
    ws = build_demo_workspace(TMP / "demo")
    req = ReviewService(store, user="ci@example.com").create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    alice, bob = reviewer(store, "alice@example.com"), reviewer(store, "bob@example.com")
    table = alice.comparison(req.id, "support-replies")
    changed = table[table["class"].astype(str).isin(["regressed", "changed", "improved"])]["id"].tolist()
    verdicts = [Verdict.BASELINE, Verdict.CANDIDATE, Verdict.TIE, Verdict.BOTH_WRONG]
    for i, sid in enumerate(changed[:40]):
        bob.set_label(req.id, "support-replies", sid, verdict=verdicts[i % 3 if i % 7 else 3],
                      error="hallucination" if i % 5 == 0 else None)
    for i, sid in enumerate(changed[:24]):
        alice.set_label(req.id, "support-replies", sid, verdict=verdicts[i % 3 if i % 4 else 1])
    digits = alice.comparison(req.id, "digits")
    for sid in digits[digits["class"].astype(str) == "regressed"]["id"].tolist()[:6]:
        alice.set_label(req.id, "digits", sid, verdict=Verdict.BASELINE, correct=False, error="wrong label")
    bob.decide(req.id, DecisionKind.APPROVE, "Regressions are formatting only; fine to ship.")
    return req.id


def main(out_dir: str = "docs/screenshots") -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = Store()
    request_id = history(store)
    service = reviewer(store, "alice@example.com")
    window = create_main_window(service)
    app = QApplication.instance()
    window.resize(1600, 960)
    window.show()
    pump(0.3)
    window.inbox.select(request_id)
    pump(20, lambda: window.model.rowCount() > 0)
    window.select_row(2)
    pump(0.8)
    saved = []

    def grab(widget, name):
        path = out / name
        widget.grab().save(str(path))
        saved.append(path)

    grab(window, "inbox.png")

    window.open_approval_dialog()
    dialog = window.approval_dialog
    pump(0.6)
    grab(dialog, "approval-dialog.png")
    dialog.reject()

    charts = window.charts_tab
    window.extras.show_charts()
    for kind, name in (("metric_deltas", "chart-metric-deltas.png"), ("classes_per_slice", "chart-classes.png"),
                       ("confusion_change", "chart-confusion.png"), ("review_progress", "chart-progress.png"),
                       ("agreement", "chart-agreement.png")):
        shown = []
        charts.chartShown.connect(shown.append)
        charts.show_chart(kind)
        pump(60, lambda: kind in shown)
        charts.chartShown.disconnect(shown.append)
        pump(1.0)
        grab(window, name)
    window.extras.show_samples()

    export = window.extras.open_export_dialog()
    pump(0.4)
    grab(export, "export-dialog.png")
    export.reject()

    from tests.ui.make_identity_screenshot import grab_identity

    saved.append(grab_identity(out, window))

    settings = window.extras.open_settings()
    settings.tabs.setCurrentIndex(2)
    pump(0.4)
    grab(settings, "settings.png")
    settings.theme_buttons["dark"].setChecked(True)
    settings.tabs.setCurrentIndex(3)
    pump(0.4)
    grab(settings, "settings-dark.png")
    settings.reject()

    from signoff.ui.theme import apply_theme

    apply_theme("dark")
    window.eval_set_combo.setCurrentIndex(window.eval_set_combo.findData("support-replies"))
    pump(20, lambda: window.eval_set == "support-replies" and window.model.rowCount() > 0)
    window.select_row(0)
    pump(1.0)
    grab(window, "workbench-dark.png")
    window.extras.show_charts()
    shown = []
    charts.chartShown.connect(shown.append)
    charts.show_chart("metric_deltas")
    pump(60, lambda: "metric_deltas" in shown)
    pump(1.0)
    grab(window, "chart-dark.png")
    apply_theme("system")

    report = TMP / "report.html"
    from signoff.report.html import build_report

    build_report(service, request_id, report)
    from PySide6.QtCore import QUrl
    from PySide6.QtWebEngineWidgets import QWebEngineView

    view = QWebEngineView()
    view.resize(1200, 1500)
    view.show()
    done = []
    view.loadFinished.connect(done.append)
    view.load(QUrl.fromLocalFile(str(report)))
    pump(30, lambda: bool(done))
    ready = []
    for _ in range(200):
        view.page().runJavaScript("window.signoffReady === true", 0, ready.append)
        if pump(0.1, lambda: bool(ready) and ready[-1] is True):
            break
    pump(1.0)
    grab(view, "report.png")
    view.page().runJavaScript("document.getElementById('regressions').scrollIntoView()")
    pump(1.0)
    grab(view, "report-regressions.png")
    view.close()
    view.deleteLater()
    window.shutdown()
    window.close()
    pump(0.3)
    store.close()
    for p in saved:
        print(f"saved {p}")
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
