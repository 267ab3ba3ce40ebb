"""The regression-rate bound as labels accumulate and the inspection trend: per-slice figures
through the real service and store, the charts built from them, and the standalone report
carrying the chart's data (issue 13)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from signoff.core import stats
from signoff.core.model import Verdict
from signoff.report.charts import regression_bound, relevant_kinds
from signoff.report.data import collect
from signoff.report.html import build_report
from signoff.service.inspection import InspectionService
from signoff.service.review import ReviewService
from signoff.store.store import Store
from tests.plugin_doubles import InMemorySource
from tests.support import keys

QUINN = "quinn@example.com"
N = 120   # topic a: s000..s059, topic b: s060..s119; every 6th sample unchanged

CONFIG = """
[[eval_sets]]
name = "qa"
samples = "s.jsonl"
predictions = "p.jsonl"
slices = ["topic"]

[policy]
required = { qa = 1 }
min_changed_reviewed = 0
all_regressions_reviewed = false

[policy.bounds.qa]
max_regression_rate = 0.2
confidence = 0.9
slices = ["topic"]

[roles]
qa = ["quinn@example.com"]
"""


def sliced_tables() -> dict:
    ids = [f"s{i:03d}" for i in range(N)]
    base = [f"answer {i}" for i in range(N)]
    cand = [b if i % 6 == 0 else b + " v2" for i, b in enumerate(base)]
    return {"qa": ({"id": ids, "input": [f"q{i}" for i in range(N)], "topic": ["a"] * 60 + ["b"] * 60},
                   {"id": ids, "output": base}, {"id": ids, "output": cand})}


def is_regression(sid: str) -> bool:
    """In the reviewer's eyes: a third of topic b got worse, nothing of topic a."""
    i = int(sid[1:])
    return i >= 60 and i % 3 == 0


@pytest.fixture
def bounded(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    req = ReviewService(store, user="ci@example.com").create_request(
        InMemorySource(sliced_tables(), config=CONFIG), sha="c1")
    quinn = ReviewService(store, user=QUINN)
    order = quinn.review_order(req.id, "qa")
    for sid in order[:45]:
        quinn.set_label(req.id, "qa", sid, verdict=Verdict.BASELINE if is_regression(sid) else Verdict.CANDIDATE,
                        refresh=False)
    quinn.refresh_status(req.id)
    yield store, req, quinn, order
    store.close()


def test_per_slice_bounds_are_each_slice_on_its_own(bounded):
    store, req, quinn, order = bounded
    (check,) = quinn.regression_bounds(req.id)
    assert set(check.slices) == {"topic=a", "topic=b"}
    a, b = check.slices["topic=a"], check.slices["topic=b"]
    labeled = order[:45]
    n_a = sum(int(s[1:]) < 60 for s in labeled)
    assert (a.labels, b.labels) == (n_a, 45 - n_a) and check.overall.labels == 45
    assert a.population == b.population == 60 and check.overall.population == N
    # topic a: no regression among n_a labels of its 50 changed samples (10 unchanged: a known zero), so
    # the bound is the documented one of a single stratum at its last checkpoint
    j = stats.checkpoint_index(n_a)
    m = stats.checkpoint_size(j)
    expected = 50 / 60 * stats.cp_upper(0, m * stats.fpc_factor(m, 50), stats.spent_alpha(0.1, j))
    assert a.estimate == 0 and a.bound == pytest.approx(expected) and a.used == m
    assert [h[0] for h in a.history] == [stats.checkpoint_size(k) for k in range(j + 1)]
    # topic b: the regressions are there, its estimate is its share of the labels times the changed share
    x_b = sum(is_regression(s) for s in labeled)
    jb = stats.checkpoint_index(b.labels)
    first_b = [s for s in labeled if int(s[1:]) >= 60][: stats.checkpoint_size(jb)]
    assert b.estimate == pytest.approx(50 / 60 * sum(map(is_regression, first_b)) / len(first_b))
    assert x_b > 0 and b.bound > b.max_rate and a.bound < b.bound
    # a failing slice holds the request, whatever the overall bound says, and the line names it
    assert not check.ok and "topic=b" in check.failing_slices and "topic=a" not in check.failing_slices
    assert "slice topic=b" in check.line()
    verdict = quinn.verdict(req.id)
    assert verdict.status.value == "pending"
    shown = quinn.summary(req.id)["regression_bounds"][0]
    assert shown["slices"]["topic=b"]["ok"] is False and shown["slices"]["topic=a"]["history"] == [list(h) for h in a.history]


def test_the_bound_chart_draws_each_checkpoint_and_the_threshold(bounded):
    store, req, quinn, _ = bounded
    data = collect(quinn, req.id)
    chart = regression_bound(data)
    assert not chart.empty
    traces = {t.name: t for t in chart.figure.data}
    history = quinn.summary(req.id)["regression_bounds"][0]["history"]
    overall = traces["bound, all samples"]
    assert list(overall.x) == [h[0] for h in history] == [20, 30, 45]
    assert list(overall.y) == pytest.approx([h[1] for h in history])
    assert overall.line.shape == "hv"                          # the bound holds until the next checkpoint
    threshold = traces["max_regression_rate (policy)"]
    assert list(threshold.y) == [0.2, 0.2] and threshold.line.dash == "dash"
    assert {"slice topic=a", "slice topic=b"} <= set(traces)
    assert "regression_bound" in relevant_kinds(data) and "inspection_trend" not in relevant_kinds(data)


def _chart_data(html: str, chart_id: str) -> dict | None:
    m = re.search(rf'<div id="{chart_id}">.*?<script type="application/json" data-chart="chart-\d+">(.*?)</script>',
                  html, re.S)
    return json.loads(m.group(1)) if m else None


def test_the_report_carries_the_bound_chart_data(bounded, tmp_path):
    store, req, quinn, _ = bounded
    path = build_report(quinn, req.id, tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    fig = _chart_data(html, "regression_bound")
    assert fig is not None
    history = quinn.summary(req.id)["regression_bounds"][0]["history"]
    overall = next(t for t in fig["data"] if t["name"] == "bound, all samples")
    assert overall["x"] == [h[0] for h in history]
    assert overall["y"] == pytest.approx([h[1] for h in history])
    threshold = next(t for t in fig["data"] if t["name"] == "max_regression_rate (policy)")
    assert threshold["y"] == [0.2, 0.2]
    assert _chart_data(html, "inspection_trend") is None      # a release review, not an inspection
    # the checklist line beside it: the overall bound passes, slice b holds the request
    assert re.search(r"regression rate ≤ [\d.]+% \(90%\), 45 labels; slice topic=b [\d.]+% &gt; 20.0%", html)


def test_a_request_without_a_bound_gets_no_bound_chart_in_the_report(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        req = ReviewService(store, user="ci@example.com").create_request(InMemorySource(), sha="c1")
        data = collect(ReviewService(store, user=QUINN), req.id)
        assert "regression_bound" not in relevant_kinds(data)
        chart = regression_bound(data)       # the window lists it anyway: it says why it is empty
        assert chart.empty and "bounds no regression rate" in chart.note
        html = build_report(ReviewService(store, user=QUINN), req.id, tmp_path / "r.html").read_text()
        assert _chart_data(html, "regression_bound") is None and _chart_data(html, "metric_deltas") is not None
    finally:
        store.close()


INSPECTION_POLICY = keys.with_signers("""
[policy]
required = { qa = 1 }
min_changed_reviewed = 0

[roles]
qa = ["quinn@example.com"]
""")
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=timezone.utc)


def test_an_inspection_report_shows_the_trend_across_inspections_of_its_subject(tmp_path):
    drop = tmp_path / "drop.jsonl"
    pd.DataFrame([{"id": f"p{i:03d}", "input": f"q{i}", "output": f"a{i}"} for i in range(40)]) \
        .to_json(drop, orient="records", lines=True)
    policy = tmp_path / "signoff.toml"
    policy.write_text(INSPECTION_POLICY)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        ci = InspectionService(ReviewService(store, user="ci@example.com"))
        quinn = ReviewService(store, user=QUINN)
        rates = []
        for week, wrong in ((0, 3), (1, 1)):
            req = ci.create(files=str(drop), sample=10, seed=week, policy=str(policy), now=NOW + timedelta(days=7 * week))
            for k, sid in enumerate(sorted(quinn.comparison(req.id, "production")["id"])):
                quinn.set_label(req.id, "production", sid, correct=k >= wrong)
            rates.append(wrong / 10)
        other = ci.create(files=str(tmp_path), sample=5, seed=1, policy=str(policy), now=NOW)   # another subject
        quinn.set_label(other.id, "production", sorted(quinn.comparison(other.id, "production")["id"])[0], correct=False)
        data = collect(quinn, req.id)
        assert data.inspection["subject"] == f"files:{drop}"
        assert relevant_kinds(data)[-1] == "inspection_trend" and "regression_bound" not in relevant_kinds(data)
        html = build_report(quinn, req.id, tmp_path / "inspection.html").read_text(encoding="utf-8")
        fig = _chart_data(html, "inspection_trend")
        assert fig is not None
        (trace,) = fig["data"]
        assert trace["y"] == pytest.approx(rates)                          # oldest first, this subject only
        assert [c[0] for c in trace["customdata"]] == [req.id - 1, req.id]
        assert np.all(np.array(trace["error_y"]["array"]) > 0)
        assert _chart_data(html, "regression_bound") is None
    finally:
        store.close()


def test_next_to_review_serves_the_bound_order_skipping_what_is_judged(bounded):
    store, req, quinn, order = bounded
    assert quinn.review_sample(req.id, "qa") == order[: len(quinn.review_sample(req.id, "qa"))]
    assert quinn.next_to_review(req.id, "qa") == order[45]                 # the first not labeled yet
    assert quinn.next_to_review(req.id, "qa", after=order[45]) == order[46]
    assert quinn.next_to_review(req.id, "qa", after=order[-1]) == order[45]   # wraps
    # a verdict by anyone already gives the bound that sample: no budget spent on it twice
    ReviewService(store, user="alice@example.com").set_label(req.id, "qa", order[46], verdict=Verdict.TIE)
    assert quinn.next_to_review(req.id, "qa", after=order[45]) == order[47]
    # a comment alone (anyone's) is no verdict: the bound still needs one, so it is still served;
    # my own correct/error label is done for me
    ReviewService(store, user="alice@example.com").set_label(req.id, "qa", order[45], comment="odd")
    quinn.set_label(req.id, "qa", order[45], comment="looked")
    assert quinn.next_to_review(req.id, "qa") == order[45]
    quinn.set_label(req.id, "qa", order[45], correct=True)
    assert quinn.next_to_review(req.id, "qa") == order[47]
    # unchanged samples are never in the order: once it is done, the window's own next-unlabeled applies
    for sid in order[47:]:
        quinn.set_label(req.id, "qa", sid, verdict=Verdict.CANDIDATE, refresh=False)
    assert quinn.next_to_review(req.id, "qa") is None
    assert len(order) == 100 and all(int(s[1:]) % 6 for s in order)


def test_next_to_review_is_none_where_the_policy_bounds_nothing(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        req = ReviewService(store, user="ci@example.com").create_request(InMemorySource(), sha="c1")
        assert ReviewService(store, user=QUINN).next_to_review(req.id, "qa") is None
        assert ReviewService(store, user=QUINN).review_order(req.id, "qa") == []
    finally:
        store.close()
