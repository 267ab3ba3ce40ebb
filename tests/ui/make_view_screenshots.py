"""Screenshots of every diff view and of blind mode, for the user guide.

    SIGNOFF_HOME=$(mktemp -d) xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python -m tests.ui.make_view_screenshots docs/screenshots

Builds the demo workspace (text, JSON, label and image eval sets) and a
small local-files workspace with two number eval sets (one number per
sample, and a small table per sample), creates a review request for each
on a store in $SIGNOFF_HOME, opens the real window as alice@example.com
and saves one PNG per view:

    view-text.png  view-json.png  view-label.png  view-image-side-by-side.png
    view-image-swipe.png  view-image-difference.png  view-number.png
    view-number-table.png  view-raw.png  view-blind.png  view-image-onion.png
    view-json-dark.png  view-label-dark.png

Not a test: run it, then look at every picture.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

NUMBER_TOML = """\
[project]
name = "delivery-forecast"

[[eval_sets]]
name = "delivery-eta"
samples = "evals/eta.jsonl"
predictions = "predictions/eta.jsonl"
type = "number"
higher_is_better = true

[[eval_sets]]
name = "demand-quantiles"
samples = "evals/demand.jsonl"
predictions = "predictions/demand.jsonl"
type = "number"

[policy]
required = { sme = 1 }

[roles]
sme = ["alice@example.com"]

[labels]
errors = ["too early", "too late", "unit error", "other"]
"""


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def number_workspace(root: Path) -> Path:
    """A files-source workspace with number outputs: ETAs in hours and demand quantiles."""
    import random

    rnd = random.Random(7)
    samples, base, cand = [], [], []
    for i in range(40):
        truth = round(rnd.uniform(4, 72), 1)
        b = round(truth + rnd.gauss(0, 6), 1)
        c = round(truth + rnd.gauss(0, 3), 1) if i % 5 else round(truth + rnd.gauss(9, 2), 1)
        route = rnd.choice(["domestic", "EU", "overseas"])
        samples.append({"id": f"eta-{i:03d}", "input": f"order {4100 + i}, route {route}, {rnd.randint(1, 9)} parcels",
                        "reference": truth, "route": route})
        base.append({"id": f"eta-{i:03d}", "output": b, "score": -abs(b - truth)})
        cand.append({"id": f"eta-{i:03d}", "output": c, "score": -abs(c - truth)})
    _write_jsonl(root / "evals/eta.jsonl", samples)
    _write_jsonl(root / "baseline/predictions/eta.jsonl", base)
    _write_jsonl(root / "candidate/predictions/eta.jsonl", cand)

    samples, base, cand = [], [], []
    for i in range(20):
        level = rnd.randint(80, 400)
        truth = {"p10": round(level * 0.7), "p50": level, "p90": round(level * 1.4)}
        b = {k: round(v * rnd.uniform(0.85, 1.2)) for k, v in truth.items()}
        c = {k: round(v * rnd.uniform(0.93, 1.07)) for k, v in truth.items()}
        samples.append({"id": f"sku-{i:03d}", "input": f"SKU {7000 + i}: weekly demand, week 23",
                        "reference": json.dumps(truth), "category": rnd.choice(["grocery", "garden"])})
        err_b = sum(abs(b[k] - truth[k]) for k in truth) / 3
        err_c = sum(abs(c[k] - truth[k]) for k in truth) / 3
        base.append({"id": f"sku-{i:03d}", "output": json.dumps(b), "score": -round(err_b, 2)})
        cand.append({"id": f"sku-{i:03d}", "output": json.dumps(c), "score": -round(err_c, 2)})
    _write_jsonl(root / "evals/demand.jsonl", samples)
    _write_jsonl(root / "baseline/predictions/demand.jsonl", base)
    _write_jsonl(root / "candidate/predictions/demand.jsonl", cand)
    (root / "signoff.toml").write_text(NUMBER_TOML, encoding="utf-8")   # the policy: --policy FILE
    return root


def main(out_dir: str = "docs/screenshots") -> int:
    os.environ.setdefault("SIGNOFF_HOME", tempfile.mkdtemp(prefix="signoff-shots-"))
    os.environ["SIGNOFF_USER"] = "alice@example.com"
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from signoff.core.model import Verdict
    from signoff.service.review import ReviewService
    from signoff.store.store import Store
    from signoff.ui.app import create_main_window
    from signoff.plugins.demo import DemoSource, build_demo_workspace
    from signoff.plugins.files import FilesSource

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="signoff-shots-work-"))
    ws = build_demo_workspace(work / "demo")
    store = Store()
    ci = ReviewService(store, user="ci@example.com")
    demo_req = ci.create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    numbers = number_workspace(work / "numbers")
    num_req = ci.create_request(FilesSource(str(numbers), "baseline", "candidate", policy=str(numbers / "signoff.toml")), sha="5e1f00d" + "0" * 33,
                                candidate="forecast-v2", baseline="forecast-v1")
    # Another reviewer's labels, so "reviewers disagree" has something to show.
    ReviewService(store, user="bob@example.com").import_labels(demo_req.id, [
        {"eval_set": "support-replies", "sample_id": sid, "verdict": "baseline"}
        for sid in ("reply-0001", "reply-0003")])

    alice = ReviewService(store, user="alice@example.com")
    window = create_main_window(alice)
    app = QApplication.instance()
    window.resize(1600, 960)
    window.show()

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def wait_loaded(eval_set: str) -> None:
        deadline = time.monotonic() + 30
        while (window.eval_set != eval_set or window.model.rowCount() == 0 or window.loader.running) \
                and time.monotonic() < deadline:
            pump(0.05)

    def open_set(request_id: int, eval_set: str) -> None:
        if window.request is None or window.request.id != request_id:
            window.inbox.select(request_id)
            pump(0.3)
        if window.eval_set != eval_set:
            window.load_eval_set(eval_set)
        wait_loaded(eval_set)

    def select(sample_id: str) -> None:
        window.filter_combo.setCurrentIndex(1)          # all samples
        row = window.model.row_of(sample_id)
        if row < 0:
            raise SystemExit(f"no sample {sample_id} in {window.eval_set}")
        window.select_row(row)
        window.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def shot(name: str) -> None:
        pump(0.6)
        path = out / name
        ok = window.grab().save(str(path))
        print(f"{'saved' if ok else 'could not save'} {path}")

    def worst(eval_set: str, cls: str = "regressed") -> str:
        t = window.model.frame
        ids = t.loc[t["class"] == cls, "id"]
        return str(ids.iloc[0]) if len(ids) else str(t["id"].iloc[0])

    def best(eval_set: str) -> str:
        t = window.model.frame
        return str(t.loc[t["delta"].idxmax(), "id"])

    # Text: a regression with a visible word diff.
    open_set(demo_req.id, "support-replies")
    window.filter_combo.setCurrentIndex(0)
    window.select_row(0)
    window.label_verdict(Verdict.BASELINE)
    select("reply-0003")
    shot("view-text.png")

    # Raw values of the same sample.
    window.toggle_raw()
    shot("view-raw.png")
    window.toggle_raw()

    # Blind mode on the text set.
    window.set_blind(True)
    select("reply-0003")
    shot("view-blind.png")
    window.set_blind(False)

    # JSON: a changed extraction.
    open_set(demo_req.id, "invoice-extraction")
    select("inv-0004")
    shot("view-json.png")

    # Label: a regressed digit, with confidence bars.
    open_set(demo_req.id, "digits")
    select(worst("digits"))
    shot("view-label.png")

    # Images: side by side, swipe, difference.
    open_set(demo_req.id, "digit-denoise")
    select(best("digit-denoise"))
    view = window.detail.view
    view.set_mode("side by side")
    shot("view-image-side-by-side.png")
    view.set_mode("swipe")
    shot("view-image-swipe.png")
    view.set_mode("onion skin")
    shot("view-image-onion.png")
    view.set_mode("difference")
    shot("view-image-difference.png")
    view.set_mode("side by side")

    # Numbers: one number, then a small table.
    open_set(num_req.id, "delivery-eta")
    select(worst("delivery-eta"))
    shot("view-number.png")
    open_set(num_req.id, "demand-quantiles")
    select(worst("demand-quantiles"))
    shot("view-number-table.png")

    # The dark theme: marks, bars and the heatmap stay legible.
    from signoff.ui.theme import apply_theme

    apply_theme("dark")
    open_set(demo_req.id, "invoice-extraction")
    select("inv-0004")
    shot("view-json-dark.png")
    open_set(demo_req.id, "digits")
    select(worst("digits"))
    shot("view-label-dark.png")
    apply_theme("light")

    window.shutdown()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
