"""Team review (issue 12, items 1-2): assignment with overlap, agreement from the libraries, QA
adjudication, and the min_agreement gate. Real ReviewService and Store (SQLite; the store parts
on PostgreSQL too), real SSHSIG-signed labels (tests/support/keys.py)."""

from __future__ import annotations

import json
from collections import Counter

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from signoff.core.assignment import deal, seed_of
from signoff.core.errors import InputError, PolicyRefusal
from signoff.core.model import Verdict
from signoff.service.review import ReviewService
from signoff.store.store import Store
from tests.plugin_doubles import InMemorySource
from tests.support.postgres import postgres_server  # noqa: F401  (session fixture)

SMES = ["alice@example.com", "bob@example.com", "carol@example.com", "dana@example.com", "erin@example.com"]

CONFIG = """
[[eval_sets]]
name = "qa"
samples = "s.jsonl"
predictions = "p.jsonl"

[[eval_sets]]
name = "chat"
samples = "c.jsonl"
predictions = "cp.jsonl"

[policy]
required = {{ sme = 2, qa = 1 }}
overlap = {overlap}
{extra}

[roles]
sme = [{smes}]
qa = ["quinn@example.com"]

[labels]
errors = ["wrong", "unsafe"]
"""


def config(overlap=2, extra="", smes=SMES):
    return CONFIG.format(overlap=overlap, extra=extra, smes=", ".join(f'"{s}"' for s in smes))


def tables(n: int = 40, shift: int = 0) -> dict:
    """n samples per set: a mix of regressed, improved, changed and unchanged."""
    out = {}
    for name in ("qa", "chat"):
        ids = [f"{name}{i:03d}" for i in range(n)]
        ref = [f"r{i}" for i in range(n)]
        base, cand = [], []
        for i in range(n):
            kind = (i + shift) % 5
            if kind == 0:      # regressed
                base.append(ref[i]); cand.append("x")
            elif kind == 1:    # improved
                base.append("x"); cand.append(ref[i])
            elif kind == 2:    # changed (both wrong)
                base.append("x"); cand.append("y")
            else:              # unchanged
                base.append(ref[i]); cand.append(ref[i])
        out[name] = ({"id": ids, "input": [f"q{i}" for i in range(n)], "reference": ref},
                     {"id": ids, "output": base}, {"id": ids, "output": cand})
    return out


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def svc(store, user):
    return ReviewService(store, user=user)


def make_request(store, cfg=None, n=40):
    return svc(store, "ci@example.com").create_request(InMemorySource(tables(n), config=cfg or config()), sha="c1")


def needing_review(store, req):
    out = set()
    for es in req.eval_sets:
        frame = store.load_comparison(req.id, es, columns=["id", "class"])
        out |= {(es, i) for i, c in zip(frame["id"], frame["class"].astype(str))
                if c in ("regressed", "changed", "improved")}
    return out


# -- assignment ------------------------------------------------------------------------------

@pytest.mark.parametrize("overlap", [1, 2, 3])
def test_every_sample_to_exactly_k_reviewers_of_each_role_and_queues_balanced(store, overlap):
    req = make_request(store, config(overlap=overlap))
    items = svc(store, "alice@example.com").assignments(req.id)
    todo = needing_review(store, req)
    sme = [a for a in items if a.role == "sme"]
    per_sample = Counter((a.eval_set, a.sample_id) for a in sme)
    assert set(per_sample) == todo
    assert set(per_sample.values()) == {overlap}                   # overlap exactly k
    assert all(len({a.user for a in sme if (a.eval_set, a.sample_id) == key}) == overlap for key in todo)
    loads = Counter(a.user for a in sme)
    assert set(loads) == set(SMES)
    assert max(loads.values()) - min(loads.values()) <= 1          # balanced: queues differ by at most one
    qa = [a for a in items if a.role == "qa"]                      # one QA member: each sample once
    assert Counter((a.eval_set, a.sample_id) for a in qa) == Counter({k: 1 for k in todo})


def test_regressions_come_first_in_every_queue(store):
    req = make_request(store)
    frame = {es: dict(zip(*(lambda f: (f["id"], f["class"].astype(str)))(store.load_comparison(req.id, es))))
             for es in req.eval_sets}
    queue = svc(store, "bob@example.com").my_queue(req.id)
    classes = [frame[q.eval_set][q.sample_id] for q in queue]
    first_other = next(i for i, c in enumerate(classes) if c != "regressed")
    assert "regressed" not in classes[first_other:]


def test_the_dealing_is_reproducible_from_the_request_seed(store, tmp_path):
    req = make_request(store)
    stored = svc(store, "alice@example.com").assignments(req.id)
    # the same request dealt again, from scratch, by the pure function: the same items
    seed = seed_of(req.id, req.content_hash)
    todo = [(es, sid) for _, es, sid in sorted({(a.position, a.eval_set, a.sample_id) for a in stored})]
    again = deal(todo, SMES, 2, seed, role="sme")
    assert {(a.eval_set, a.sample_id, a.user) for a in again} == \
        {(a.eval_set, a.sample_id, a.user) for a in stored if a.role == "sme"}
    # another store, the same request (same id, same content): the same dealing
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        req2 = make_request(other)
        assert (req2.id, req2.content_hash) == (req.id, req.content_hash)
        assert [(a.role, a.eval_set, a.sample_id, a.user) for a in svc(other, "bob@example.com").assignments(req2.id)] \
            == [(a.role, a.eval_set, a.sample_id, a.user) for a in stored]
    finally:
        other.close()
    # another seed deals differently (the seed is what decides)
    assert {(a.eval_set, a.sample_id, a.user) for a in deal(todo, SMES, 2, seed + 1, role="sme")} != \
        {(a.eval_set, a.sample_id, a.user) for a in again}


def test_the_dealing_is_stored_once_and_audited(store):
    req = make_request(store)
    a = svc(store, "alice@example.com").assignments(req.id)
    b = svc(store, "bob@example.com").assignments(req.id)
    assert a == b
    deals = [e for e in store.audit_entries(req.id) if e.action == "assign.deal"]
    assert len(deals) == 1
    assert len(deals[0].payload["items"]) == len(a)
    assert store.verify_audit().ok


def test_my_queue_progress_and_next(store):
    req = make_request(store)
    bob = svc(store, "bob@example.com")
    queue = bob.my_queue(req.id)
    assert queue and not any(q.done for q in queue)
    first = bob.next_assigned(req.id)
    assert (first.eval_set, first.sample_id) == (queue[0].eval_set, queue[0].sample_id)
    bob.set_label(req.id, first.eval_set, first.sample_id, verdict=Verdict.CANDIDATE)
    assert bob.my_queue(req.id)[0].done
    nxt = bob.next_assigned(req.id, after=(first.eval_set, first.sample_id))
    assert (nxt.eval_set, nxt.sample_id) == (queue[1].eval_set, queue[1].sample_id)
    assert bob.next_assigned(req.id) == nxt          # the first open one
    only_chat = bob.my_queue(req.id, eval_set="chat")
    assert only_chat and {q.eval_set for q in only_chat} == {"chat"}
    progress = bob.queue_progress(req.id)
    assert progress["sme"]["reviewers"]["bob@example.com"] == {"assigned": len(queue), "done": 1}
    assert progress["sme"]["done"] == 1
    assert progress["sme"]["assigned"] == 2 * len(needing_review(store, req))
    assert progress["qa"]["assigned"] == len(needing_review(store, req))


def test_the_status_description_counts_the_queues(store):
    req = make_request(store)
    bob = svc(store, "bob@example.com")
    q = bob.my_queue(req.id)
    for item in q[:3]:
        bob.set_label(req.id, item.eval_set, item.sample_id, verdict=Verdict.TIE, refresh=False)
    verdict = bob.refresh_status(req.id)
    total = 2 * len(needing_review(store, req))
    assert f"SME queue 3/{total}" in verdict.description
    assert len(verdict.description) <= 140


def test_reassignment_moves_only_open_items(store):
    req = make_request(store)
    bob, carol = svc(store, "bob@example.com"), svc(store, "carol@example.com")
    before = bob.assignments(req.id)
    queue = bob.my_queue(req.id)
    for item in queue[:4]:
        bob.set_label(req.id, item.eval_set, item.sample_id, verdict=Verdict.BASELINE, refresh=False)
    moved = carol.reassign(req.id, "bob@example.com", ["carol@example.com", "dana@example.com"])
    after = bob.assignments(req.id)
    bobs = [a for a in after if a.user == "bob@example.com"]
    assert {(a.eval_set, a.sample_id) for a in bobs} == {(q.eval_set, q.sample_id) for q in queue[:4]}  # done stay
    # moved ones went to carol or dana, never to one who already had the sample; overlap still exactly 2
    assert moved == len(queue) - 4 - sum(1 for q in queue[4:]
                                         if {a.user for a in before if (a.eval_set, a.sample_id) ==
                                             (q.eval_set, q.sample_id)} >= {"carol@example.com", "dana@example.com"})
    sme = [a for a in after if a.role == "sme"]
    per_sample = Counter((a.eval_set, a.sample_id) for a in sme)
    assert set(per_sample.values()) <= {2}
    assert len(sme) == len([a for a in before if a.role == "sme"])
    others = {a for a in before if a.user not in ("bob@example.com", "carol@example.com", "dana@example.com")}
    assert others <= set(after)                                     # nobody else's items moved
    moves = [e for e in store.audit_entries(req.id) if e.action == "assign.move"]
    assert len(moves) == 1 and len(moves[0].payload["moves"]) == moved
    assert store.verify_audit().ok


def test_reassignment_refuses_bad_targets(store):
    req = make_request(store)
    alice = svc(store, "alice@example.com")
    with pytest.raises(InputError, match="not in role 'sme'"):
        alice.reassign(req.id, "bob@example.com", ["mallory@example.com"])
    with pytest.raises(InputError, match="nothing assigned"):
        alice.reassign(req.id, "zed@example.com", ["carol@example.com"])
    with pytest.raises(PolicyRefusal, match="holds no role"):
        svc(store, "mallory@example.com").reassign(req.id, "bob@example.com")


# -- agreement -------------------------------------------------------------------------------

def _label_all(store, req, values: dict[str, dict[tuple[str, str], str | None]]):
    """values: user -> {(eval set, sample id): verdict or None (no label)}."""
    for user, labels in values.items():
        rows = [{"eval_set": es, "sample_id": sid, "verdict": v} for (es, sid), v in labels.items() if v]
        svc(store, user).import_labels(req.id, rows)


def _hand_table(ids):
    """Three SMEs, ten samples, missing labels (None), verdicts that mostly agree."""
    a = ["candidate", "candidate", "baseline", "tie", "candidate", "both-wrong", "candidate", None, "baseline", "tie"]
    b = ["candidate", "baseline", "baseline", "tie", None, "both-wrong", "candidate", "candidate", "baseline", None]
    c = [None, "candidate", "baseline", "candidate", "candidate", None, "candidate", "candidate", None, "tie"]
    users = ["alice@example.com", "bob@example.com", "carol@example.com"]
    return users, [a, b, c], {u: {("qa", i): v for i, v in zip(ids, row)} for u, row in zip(users, [a, b, c])}


def _ids(store, req, n=10):
    """The first n samples of eval set "qa" that need review."""
    return sorted(k for k in needing_review(store, req) if k[0] == "qa")[:n]


def test_agreement_equals_the_libraries_on_a_hand_made_table_with_missing_labels(store):
    req = make_request(store, config(overlap=3))
    ids = [sid for _, sid in _ids(store, req)]
    users, rows, values = _hand_table(ids)
    _label_all(store, req, values)
    figure = next(f for f in svc(store, "quinn@example.com").agreement(req.id) if f.eval_set == "qa" and f.kind == "verdict")
    # the expected values, from the libraries on the same matrix
    cats = sorted({v for r in rows for v in r if v})
    data = np.array([[cats.index(v) if v else np.nan for v in r] for r in rows], dtype=float)
    assert figure.alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    expected_ac1 = _ac1_by_loops(rows)
    assert figure.ac1 == pytest.approx(expected_ac1)
    assert figure.kappa is None and "two reviewers" in figure.notes["kappa"]   # three reviewers
    assert figure.reviewers == 3 and figure.labeled == 10
    assert figure.doubly == sum(1 for j in range(10) if sum(r[j] is not None for r in rows) >= 2)
    assert figure.disagreements == sum(1 for j in range(10)
                                       if len({r[j] for r in rows if r[j] is not None}) > 1)


def test_cohens_kappa_for_two_reviewers_equals_scikit_learn(store):
    req = make_request(store, config(overlap=2, smes=SMES[:2]))
    ids = [sid for _, sid in _ids(store, req)]
    users, rows, values = _hand_table(ids)
    _label_all(store, req, {u: values[u] for u in users[:2]})
    figure = next(f for f in svc(store, "quinn@example.com").agreement(req.id) if f.eval_set == "qa" and f.kind == "verdict")
    pairs = [(x, y) for x, y in zip(rows[0], rows[1]) if x and y]
    assert figure.kappa == pytest.approx(cohen_kappa_score([p[0] for p in pairs], [p[1] for p in pairs]))
    assert figure.doubly == len(pairs)


def _ac1_by_loops(rows):
    """Gwet's AC1 (2014), one sample at a time: the reference the vectorised gwet_ac1 is checked against."""
    cats = sorted({v for r in rows for v in r if v is not None})
    samples = list(zip(*rows))
    pa_terms, pis = [], {c: 0.0 for c in cats}
    rated = 0
    for s_ in samples:
        given = [v for v in s_ if v is not None]
        if given:
            rated += 1
            for c in cats:
                pis[c] += given.count(c) / len(given)
        if len(given) >= 2:
            pa_terms.append(sum(given.count(c) * (given.count(c) - 1) for c in cats) / (len(given) * (len(given) - 1)))
    pa = sum(pa_terms) / len(pa_terms)
    pe = sum((pis[c] / rated) * (1 - pis[c] / rated) for c in cats) / (len(cats) - 1)
    return (pa - pe) / (1 - pe)


def test_gwet_ac1_on_a_table_worked_by_hand():
    """AC1 against the formula worked by hand (Gwet 2008): pa = 6/8, pi_a = 0.7,
    pe = 2 * 0.7 * 0.3 = 0.42, AC1 = (0.75 - 0.42) / (1 - 0.42); and three reviewers with gaps
    against the per-sample loop."""
    from signoff.core.agreement import gwet_ac1

    r1 = ["a", "a", "b", "b", "a", "a", "a", "b", None, "a"]
    r2 = ["a", "b", "b", "b", "a", "a", "a", "a", "a", None]
    assert gwet_ac1([r1, r2]) == pytest.approx((0.75 - 0.42) / (1 - 0.42), abs=1e-12)
    r3 = ["b", None, "c", "b", "a", None, "a", "c", "a", "a"]
    assert gwet_ac1([r1, r2, r3]) == pytest.approx(_ac1_by_loops([r1, r2, r3]), abs=1e-12)
    assert gwet_ac1([["a", "a"], ["a", "a"]]) is None          # one category: undefined


def test_only_labels_that_count_enter_agreement(store):
    req = make_request(store, config(overlap=3))
    ids = [sid for _, sid in _ids(store, req, 4)]
    _label_all(store, req, {"alice@example.com": {("qa", i): "candidate" for i in ids},
                            "bob@example.com": {("qa", i): "candidate" for i in ids},
                            # mallory holds no required role: her labels do not count
                            "mallory@example.com": {("qa", i): "baseline" for i in ids}})
    figure = next(f for f in svc(store, "quinn@example.com").agreement(req.id) if f.eval_set == "qa")
    assert figure.reviewers == 2 and figure.disagreements == 0


MIN_ALPHA = 'min_agreement = { metric = "alpha", value = 0.67 }'


def test_a_request_below_min_agreement_stays_pending_with_the_figure(store):
    cfg = config(overlap=2, extra=MIN_ALPHA + "\nall_regressions_reviewed = false", smes=SMES[:2])
    req = make_request(store, cfg)
    ids = [sid for _, sid in _ids(store, req)]
    users, rows, values = _hand_table(ids)
    # alice and bob disagree a lot: alpha is low
    flip = {"candidate": "baseline", "baseline": "tie", "tie": "both-wrong", "both-wrong": "candidate"}
    bob = {k: (flip[v] if v and i % 2 else v) for i, (k, v) in enumerate(values["alice@example.com"].items())}
    bob = {k: v or "candidate" for k, v in bob.items()}
    alice = {k: v or "tie" for k, v in values["alice@example.com"].items()}
    _label_all(store, req, {"alice@example.com": alice, "bob@example.com": bob})
    quinn = svc(store, "quinn@example.com")
    figure = next(f for f in quinn.agreement(req.id) if f.eval_set == "qa" and f.kind == "verdict")
    assert figure.alpha is not None and figure.alpha < 0.67
    for user in ("alice@example.com", "bob@example.com", "quinn@example.com"):
        svc(store, user).decide(req.id, "approve")          # not refused: the checklist says why it waits
    verdict = quinn.verdict(req.id)
    assert verdict.status.value == "pending"
    item = next(c for c in verdict.checklist if c.name.startswith("agreement"))
    assert not item.ok
    assert item.detail == f"agreement (alpha) {figure.alpha:.2f} < 0.67 on qa, 10 doubly-labeled samples"
    assert f"agreement {figure.alpha:.2f} < 0.67 on qa" in store.get_request(req.id).description
    summary = quinn.summary(req.id)
    qa_verdict = next(a for a in summary["agreement"] if a["eval_set"] == "qa" and a["kind"] == "verdict")
    assert qa_verdict["alpha"] == pytest.approx(figure.alpha) and qa_verdict["doubly_labeled"] == 10
    # they settle it: bob takes alice's verdicts; agreement is 1, the request is approved
    _label_all(store, req, {"bob@example.com": alice})
    assert quinn.refresh_status(req.id).status.value == "approved"


def test_no_doubly_labeled_sample_blocks_when_min_agreement_is_set(store):
    cfg = config(overlap=1, extra=MIN_ALPHA + "\nall_regressions_reviewed = false", smes=SMES[:2])
    req = make_request(store, cfg)
    es, sid = _ids(store, req, 1)[0]
    svc(store, "alice@example.com").set_label(req.id, es, sid, verdict=Verdict.TIE)
    item = next(c for c in svc(store, "alice@example.com").verdict(req.id).checklist if c.name.startswith("agreement"))
    assert not item.ok and "not measurable yet" in item.detail


# -- adjudication ----------------------------------------------------------------------------

def test_disagreements_queue_for_qa_who_adjudicates_signed(store):
    req = make_request(store, config(overlap=2, smes=SMES[:2]))
    (es, a), (_, b) = _ids(store, req, 2)
    _label_all(store, req, {"alice@example.com": {(es, a): "candidate", (es, b): "tie"},
                            "bob@example.com": {(es, a): "baseline", (es, b): "tie"}})
    quinn = svc(store, "quinn@example.com")
    queue = quinn.disagreements(req.id)
    assert queue == [{"eval_set": es, "sample_id": a,
                      "labels": {"verdict": {"alice@example.com": "candidate", "bob@example.com": "baseline"}}}]
    with pytest.raises(PolicyRefusal, match="only QA adjudicates"):
        svc(store, "alice@example.com").adjudicate(req.id, es, a, verdict="candidate")
    with pytest.raises(InputError, match="not in the disagreement queue"):
        quinn.adjudicate(req.id, es, b, verdict="tie")
    quinn.adjudicate(req.id, es, a, verdict="candidate")
    assert quinn.disagreements(req.id) == []
    entry = [e for e in store.audit_entries(req.id) if e.actor == "quinn@example.com" and e.action == "label.import"][-1]
    statement = json.loads(entry.payload["statement"])
    assert statement["adjudicated"] is True and entry.payload["signature"].startswith("-----BEGIN SSH SIGNATURE")
    # the adjudicated label counts for coverage, but does not enter the agreement figures
    figure = next(f for f in quinn.agreement(req.id) if f.eval_set == es and f.kind == "verdict")
    assert figure.reviewers == 2 and figure.disagreements == 1
    assert store.verify_audit().ok


# -- the store on both backends ---------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'store.db'}")
        yield s
        s.close()
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    s = Store(url)
    yield s
    s.close()
    server.drop_database(url)


def test_store_deals_once_moves_open_items_and_replays(any_store):
    req = make_request(any_store, n=20)
    alice, bob = svc(any_store, "alice@example.com"), svc(any_store, "bob@example.com")
    dealt = alice.assignments(req.id)
    seed = seed_of(req.id, req.content_hash)
    assert any_store.save_assignments(req.id, dealt, seed=seed, overlap=2, actor="x") is False   # only once
    assert any_store.assignments(req.id) == dealt
    queue = bob.my_queue(req.id)
    bob.set_label(req.id, queue[0].eval_set, queue[0].sample_id, verdict=Verdict.TIE, refresh=False)
    moved = alice.reassign(req.id, "bob@example.com")
    assert moved > 0
    assert [(q.eval_set, q.sample_id) for q in bob.my_queue(req.id)] == [(queue[0].eval_set, queue[0].sample_id)]
    assert any_store.verify_audit().ok


# -- the command line ------------------------------------------------------------------------

def test_cli_assign_show_move_and_adjudicate(tmp_path, monkeypatch, capsys):
    from signoff.cli.main import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", url)
    store = Store(url)
    try:
        req = make_request(store, config(overlap=2, smes=SMES[:3]))
        (es, a), = _ids(store, req, 1)
    finally:
        store.close()
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    assert main(["assign", str(req.id), "--show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["overlap"] == 2
    bob = shown["queues"]["sme"]["reviewers"]["bob@example.com"]
    assert bob["done"] == 0 and bob["assigned"] > 0
    assert main(["assign", str(req.id), "--from", "bob@example.com", "--to", "carol@example.com"]) == 0
    assert "moved" in capsys.readouterr().err
    assert main(["assign", str(req.id), "--show", "--json"]) == 0
    after = json.loads(capsys.readouterr().out)["queues"]["sme"]["reviewers"]
    assert after["bob@example.com"]["assigned"] < bob["assigned"]
    assert sum(r["assigned"] for r in after.values()) == shown["queues"]["sme"]["assigned"]
    assert main(["assign", str(req.id)]) == 0
    assert "carol@example.com" in capsys.readouterr().out
    assert main(["assign", str(req.id), "--from", "bob@example.com", "--to", "mallory@example.com"]) == 2
    assert "not in role 'sme'" in capsys.readouterr().err
    # a disagreement, listed and adjudicated by QA
    assert main(["label", str(req.id), es, a, "--verdict", "candidate"]) == 0
    monkeypatch.setenv("SIGNOFF_USER", "carol@example.com")
    assert main(["label", str(req.id), es, a, "--verdict", "baseline"]) == 0
    capsys.readouterr()
    assert main(["adjudicate", str(req.id), "--list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["sample_id"] == a
    assert main(["adjudicate", str(req.id), es, a, "--verdict", "candidate"]) == 4     # carol is not QA
    monkeypatch.setenv("SIGNOFF_USER", "quinn@example.com")
    assert main(["adjudicate", str(req.id), es, a, "--verdict", "candidate"]) == 0
    capsys.readouterr()
    assert main(["adjudicate", str(req.id), "--list"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["show", str(req.id), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["agreement"]
    assert any(f["eval_set"] == es and f["kind"] == "verdict" and f["doubly_labeled"] == 1 for f in figures)
