"""The demo's regression-rate bound (digits: at most 3% at 95%), through the real service and
store with the demo reviewers' signed labels and decisions: refused (pending, the figures in the
checklist and the status) before the bound passes, approved once it does."""

from __future__ import annotations

import pytest

from signoff.core.model import DecisionKind, Status, Verdict
from signoff.service.review import ReviewService
from signoff.service.signer import KeyFileSigner
from signoff.store.store import Store
from signoff.plugins.demo import DemoSource, build_demo_workspace, demo_key_file


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build_demo_workspace(tmp_path_factory.mktemp("demo") / "workspace")


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def as_(store, ws, user):
    return ReviewService(store, user=user, signer=KeyFileSigner(demo_key_file(ws.repo, user)))


def bound_item(verdict):
    return next(c for c in verdict.checklist if c.name == "regression rate: digits")


def label_in_order(svc, req, ids, truth_regressed):
    for sid in ids:
        verdict = Verdict.BASELINE if sid in truth_regressed else Verdict.CANDIDATE
        svc.set_label(req.id, "digits", sid, verdict=verdict, refresh=False)


def test_demo_request_waits_for_the_bound_then_approves(store, ws):
    ci = ReviewService(store, user="ci@example.com")
    req = ci.create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    alice, bob, quinn = (as_(store, ws, u) for u in ("alice@example.com", "bob@example.com", "quinn@example.com"))
    order = alice.review_sample(req.id, "digits")
    frame = alice.comparison(req.id, "digits")
    classes = dict(zip(frame["id"].astype(str), frame["class"].astype(str)))
    regressed = {i for i, c in classes.items() if c == "regressed"}
    # the census of the score-flagged regressions comes first, never an unchanged sample
    assert set(order[:len(regressed)]) == regressed
    assert all(classes[i] != "unchanged" for i in order)
    assert order == as_(store, ws, "bob@example.com").review_sample(req.id, "digits")   # seeded: the same for all

    # the other policy items first: 20% of the changed samples of every set, labeled by bob
    for name in req.eval_sets:
        if name == "digits":
            continue
        f = bob.comparison(req.id, name)
        changed = f[f["class"].astype(str).isin(["changed", "improved", "regressed"])]["id"].astype(str).tolist()
        for sid in changed[: -(-len(changed) // 5)]:
            bob.set_label(req.id, name, sid, verdict=Verdict.TIE, refresh=False)

    # 30 labels: past the first checkpoint, not enough
    label_in_order(alice, req, order[:30], regressed)
    for who in (alice, bob):
        who.decide(req.id, DecisionKind.APPROVE, role="sme")
    verdict = quinn.decide(req.id, DecisionKind.APPROVE, role="qa")
    assert verdict.status is Status.PENDING
    item = bound_item(verdict)
    assert not item.ok
    assert item.detail.startswith("regression rate bound 3.1% > 3.0% (95%, 30 labels): about 15 more labels")
    assert "digits regression bound 3.1% > 3.0% (~15 more labels)" in verdict.description
    assert len(verdict.description) <= 140
    figures = quinn.summary(req.id)["regression_bounds"][0]
    assert figures["labels"] == 30 and figures["labels_used"] == 30 and figures["labels_needed"] == 15
    assert figures["ok"] is False and figures["bound"] > 0.03 and 0.0125 < figures["estimate"] < 0.013

    # the sample, labeled to the next checkpoint: the bound passes and the request is approved
    label_in_order(alice, req, order[30:45], regressed)
    verdict = alice.refresh_status(req.id)
    assert verdict.status is Status.APPROVED, verdict.description
    item = bound_item(verdict)
    assert item.ok and item.detail == "regression rate ≤ 2.3% (95%), 45 labels"
    assert "digits regressions ≤ 2.3% (95%)" in verdict.description
    assert store.get_request(req.id).status == "approved"


def test_unsigned_or_outside_labels_do_not_count_toward_the_bound(store, ws):
    ci = ReviewService(store, user="ci@example.com")
    req = ci.create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    order = ci.review_sample(req.id, "digits")
    # dana is in no role: her (signed, with the test key) labels are kept but never enter the bound
    dana = ReviewService(store, user="dana@example.com")
    for sid in order[:45]:
        dana.set_label(req.id, "digits", sid, verdict=Verdict.CANDIDATE, refresh=False)
    check = next(b for b in ci.regression_bounds(req.id) if b.eval_set == "digits")
    assert check.overall.labels == 0 and not check.ok
    assert check.line().startswith("regression rate: no bound yet (0 labels; the first at 20): about ")


def test_the_dialogs_preview_counts_the_bound_too(store, ws):
    """'After your approval: …' is the whole policy's word: with the bound not met, QA's preview
    of the last approval still says pending, and why."""
    from signoff.core.model import Decision

    req = ReviewService(store, user="ci@example.com").create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    for who in ("alice@example.com", "bob@example.com"):
        as_(store, ws, who).decide(req.id, DecisionKind.APPROVE)
    quinn = as_(store, ws, "quinn@example.com")
    mine = Decision(user="quinn@example.com", role="qa", kind=DecisionKind.APPROVE, content_hash=req.content_hash,
                    request_id=req.id)
    after = quinn.verdict(req.id, extra=mine)
    assert after.status is Status.PENDING and "regression bound" in after.description
    assert "0/1 QA" not in after.description          # the preview counts quinn's approval
