"""The regression-rate bound and the inspection trend in the window, on the real service and
store: the Charts tab draws the bound as labels accumulate (and the trend of an inspection), and
N serves the bound's sample in its order (ReviewService.next_to_review)."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest
from PySide6.QtCore import Qt

from signoff.core.model import Verdict
from signoff.service.inspection import InspectionService
from signoff.service.review import ReviewService
from signoff.service.signer import KeyFileSigner
from signoff.store.store import Store
from signoff.plugins.demo import DemoSource, build_demo_workspace, demo_key_file
from tests.support import keys

pytestmark = [pytest.mark.gui, pytest.mark.real_signer]

WAIT = 30_000


@pytest.fixture
def demo(tmp_path):
    ws = build_demo_workspace(tmp_path / "demo")
    store = Store()
    req = ReviewService(store, user="ci@example.com").create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    alice = ReviewService(store, user="alice@example.com",
                          signer=KeyFileSigner(demo_key_file(ws.repo, "alice@example.com")))
    yield store, req, alice
    store.close()


def open_set(qtbot, window, request_id, eval_set):
    with qtbot.waitSignal(window.comparisonLoaded, timeout=20_000):
        window.inbox.select(request_id)
    if window.eval_set != eval_set:
        with qtbot.waitSignal(window.comparisonLoaded, timeout=20_000):
            window.eval_set_combo.setCurrentIndex(window.eval_set_combo.findData(eval_set))
    assert window.eval_set == eval_set


def show(qtbot, tab, kind):
    with qtbot.waitSignal(tab.chartShown, timeout=WAIT, check_params_cb=lambda k: k == kind):
        tab.show_chart(kind)
    return tab.chart(kind)


def test_the_charts_tab_draws_the_bound_as_labels_accumulate(qtbot, make_window, demo):
    store, req, alice = demo
    order = alice.review_order(req.id, "digits")
    for sid in order[:30]:
        alice.set_label(req.id, "digits", sid, verdict=Verdict.CANDIDATE, refresh=False)
    alice.refresh_status(req.id)
    window = make_window(alice)
    open_set(qtbot, window, req.id, "digits")
    window.extras.show_charts()
    chart = show(qtbot, window.charts_tab, "regression_bound")
    traces = {t.name: t for t in chart.figure.data}
    history = alice.summary(req.id)["regression_bounds"][0]["history"]
    assert list(traces["bound, all samples"].x) == [h[0] for h in history] == [20, 30]
    assert list(traces["max_regression_rate (policy)"].y) == [0.03, 0.03]
    assert window.charts_tab.title.text() == "Regression-rate bound"
    svg = []
    window.charts_tab.view.page().runJavaScript("document.querySelectorAll('.scatterlayer .trace').length", 0,
                                                svg.append)
    qtbot.waitUntil(lambda: bool(svg), timeout=5000)
    assert svg[0] >= 2                                   # plotly drew the bound and the threshold
    # the inspection trend says why it is empty on a release review
    trend = show(qtbot, window.charts_tab, "inspection_trend")
    assert trend.empty and "not a periodic inspection" in window.charts_tab.message.text()


def test_n_serves_the_bound_sample_in_its_order(qtbot, make_window, demo):
    store, req, alice = demo
    order = alice.review_order(req.id, "digits")
    window = make_window(alice)
    open_set(qtbot, window, req.id, "digits")
    window.extras.show_samples()
    window.table.setFocus()
    assert window.current_sample_id() != order[0]          # the table opens on its own first row
    qtbot.keyClick(window.table, Qt.Key_N)
    assert window.current_sample_id() == order[0]
    qtbot.keyClick(window.table, Qt.Key_1)               # labels it (and moves on to the next row)
    expected = next(s for s in order[1:] if s != window.current_sample_id())
    qtbot.keyClick(window.table, Qt.Key_N)               # the label may not be in the store yet
    assert window.current_sample_id() == expected
    # N without labeling moves on by one; the skipped sample comes back next (labels stay a prefix)
    qtbot.keyClick(window.table, Qt.Key_N)
    after_skip = window.current_sample_id()
    assert after_skip == next(s for s in order[1:] if s != expected)
    qtbot.keyClick(window.table, Qt.Key_N)
    assert window.current_sample_id() == expected
    window.flush_labels()
    assert [l.sample_id for l in store.labels(req.id, eval_set="digits")] == [order[0]]


POLICY = keys.with_signers("""
[policy]
required = { qa = 1 }
min_changed_reviewed = 0

[roles]
qa = ["quinn@example.com"]
""")


@pytest.fixture
def inspection_store():
    store = Store()
    yield store
    store.close()


def test_the_charts_tab_shows_the_inspection_trend(qtbot, inspection_store, make_window, tmp_path):
    store = inspection_store
    drop = tmp_path / "drop.jsonl"
    pd.DataFrame([{"id": f"p{i:02d}", "input": f"q{i}", "output": f"a{i}"} for i in range(30)]) \
        .to_json(drop, orient="records", lines=True)
    policy = tmp_path / "signoff.toml"
    policy.write_text(POLICY)
    ci = InspectionService(ReviewService(store, user="ci@example.com"))
    quinn = ReviewService(store, user="quinn@example.com",
                          signer=KeyFileSigner(keys.key_file("quinn@example.com")))   # the test key
    for week, wrong in ((1, 2), (8, 1)):
        req = ci.create(files=str(drop), sample=8, seed=week, policy=str(policy),
                        now=datetime(2025, 6, week, tzinfo=timezone.utc))
        for k, sid in enumerate(sorted(quinn.comparison(req.id, "production")["id"])):
            quinn.set_label(req.id, "production", sid, correct=k >= wrong)
    window = make_window(quinn)
    open_set(qtbot, window, req.id, "production")
    window.extras.show_charts()
    chart = show(qtbot, window.charts_tab, "inspection_trend")
    (trace,) = chart.figure.data
    assert list(trace.y) == pytest.approx([2 / 8, 1 / 8])       # oldest first, estimated by the service alone
    assert not chart.note
