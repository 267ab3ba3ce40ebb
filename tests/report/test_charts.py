"""The chart figures (Qt-free): what each one shows for known data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from signoff.core.config import EvalSetSpec
from signoff.core.model import EvalSetData as SourceSet
from signoff.core.model import Verdict
from signoff.report.charts import (CHART_KINDS, agreement, agreement_table, build_charts, classes_per_slice,
                               confusion_change, metric_deltas, plain, review_progress, score_distributions)
from signoff.report.data import collect
from tests.doubles import FakeReviewService

ALICE, BOB = "alice@example.com", "bob@example.com"


def data_of(service=None, request_id=1):
    return collect(service or FakeReviewService(), request_id)


def test_every_chart_builds_for_the_fake_request_and_says_what_it_shows():
    charts = build_charts(data_of())
    assert [c.id for c in charts] == list(CHART_KINDS)
    for c in charts:
        assert c.figure.layout.title.text.startswith(c.title)
        assert c.figure.layout.height > 200


def test_metric_deltas_have_one_bar_per_eval_set_and_slice_with_signed_words():
    chart = metric_deltas(data_of())
    bars = {t.name: t for t in chart.figure.data}
    replies = bars["support-replies"]
    assert list(replies.y[:1]) == ["all samples"]
    assert "topic = billing" in replies.y and "lang = ar" in replies.y
    billing = list(replies.y).index("topic = billing")
    # billing: s-001 1→0, s-002 1→0.4, s-010 1→0.1, s-007 unscored: the candidate is worse
    assert replies.x[billing] < 0 and "worse" in replies.text[billing] and replies.text[billing].startswith("−")


def test_classes_per_slice_uses_one_colour_and_word_per_class():
    chart = classes_per_slice(data_of())
    names = {t.name for t in chart.figure.data if t.showlegend}
    assert names == {"▼ regressed", "∅ missing", "◆ changed", "▲ improved", "= unchanged"}
    regressed = [t for t in chart.figure.data if t.name == "▼ regressed"]
    assert {t.marker.color for t in regressed} == {"#D55E00"}


def test_confusion_change_counts_candidate_minus_baseline_for_label_sets():
    chart = confusion_change(data_of())
    (heat,) = chart.figure.data
    labels = list(heat.x)
    change = {(labels[r], labels[c]): heat.customdata[r][c][2]
              for r in range(len(labels)) for c in range(len(labels))}
    # i-2: invoice predicted refund -> invoice (fixed); i-3: tracking -> delivery (broken)
    assert change[("invoice", "invoice")] == 1 and change[("invoice", "refund")] == -1
    assert change[("tracking", "tracking")] == -1 and change[("tracking", "delivery")] == 1
    # better is green (positive goodness): a fixed diagonal cell and a mistake that went away
    idx = labels.index
    assert heat.z[idx("invoice")][idx("invoice")] > 0 and heat.z[idx("invoice")][idx("refund")] > 0
    assert heat.z[idx("tracking")][idx("delivery")] < 0


def test_confusion_change_explains_when_there_is_no_classification_set():
    chart = confusion_change(data_of(request_id=2))
    assert not chart.figure.data and "No classification" in chart.note


def test_score_distributions_bin_both_models_without_raw_values():
    svc = FakeReviewService(big=5000)
    chart = score_distributions(collect(svc, 3))
    base, cand = chart.figure.data
    assert base.line.dash == "dash" and cand.line.dash == "solid"
    assert len(base.x) < 100                      # binned: no per-sample points in the figure
    assert sum(base.y) / 2 == 5000                # each count appears twice in a step line


def test_review_progress_counts_labels_per_class_and_reviewer():
    svc = FakeReviewService()
    svc.set_label(1, "support-replies", "s-001", verdict=Verdict.BASELINE)
    chart = review_progress(collect(svc, 1))
    labeled = next(t for t in chart.figure.data if t.name == "labeled")
    row = list(labeled.y).index("support-replies · ▼ regressed")
    assert labeled.x[row] == 1
    per_user = [t for t in chart.figure.data if t.name == "baseline better"]
    assert list(per_user[0].y) == [ALICE] and list(per_user[0].x) == [1]


def test_agreement_is_pairwise_with_cohens_kappa():
    labels = pd.DataFrame({
        "eval_set": ["e"] * 8, "sample_id": ["1", "2", "3", "4"] * 2,
        "user": [ALICE] * 4 + [BOB] * 4,
        "verdict": ["candidate", "baseline", "tie", "candidate", "candidate", "baseline", "candidate", "candidate"],
        "correct": [None] * 8, "error": [None] * 8, "comment": [None] * 8, "updated_at": [None] * 8})
    (pair,) = agreement_table(labels)
    assert pair["n"] == 4 and pair["agreement"] == 0.75
    # po = .75; pe = (.5*.75) + (.25*.25) + (.25*0) = .4375; kappa = (.75-.4375)/(1-.4375)
    assert abs(pair["kappa"] - (0.75 - 0.4375) / 0.5625) < 1e-9


def test_agreement_waits_for_two_reviewers_on_the_same_sample():
    svc = FakeReviewService()
    svc.set_label(1, "support-replies", "s-001", verdict=Verdict.BASELINE)
    chart = agreement(collect(svc, 1))
    assert not chart.figure.data and "two reviewers" in chart.note


def test_strings_from_data_are_literal_in_plotly_labels():
    assert plain("<b>x</b> & <a href='javascript:1'>") == "&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href='javascript:1'&gt;"
    spec = EvalSetSpec(name="<i>set</i>", samples="s", predictions="p", slices=("grp",))
    ids = ["a", "b"]
    samples = pd.DataFrame({"id": ids, "input": ["q", "q"], "reference": ["x", "y"], "grp": ["<b>bold</b>", "ok"]})
    base = pd.DataFrame({"id": ids, "output": ["x", "y"], "score": [np.nan, np.nan]})
    cand = pd.DataFrame({"id": ids, "output": ["x", "z"], "score": [np.nan, np.nan]})
    svc = FakeReviewService(empty=True)
    svc._add(9, "f" * 40, "markup", "dana@example.com", [SourceSet(spec, samples, base, cand, "h")],
             change_key="m")
    chart = classes_per_slice(collect(svc, 9))
    ys = set(chart.figure.data[0].y)
    assert "grp = &lt;b&gt;bold&lt;/b&gt;" in ys
    assert chart.figure.layout.annotations[0].text == "&lt;i&gt;set&lt;/i&gt;"
