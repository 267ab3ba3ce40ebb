"""The ReviewPort's team-review and store-state read models (issue 12), one suite over the real
ReviewService on SQLite and the FakeReviewService (tests/doubles.py): what the window reads instead
of reaching `service.store` (the change counter it polls, the status bar's store and outbox), the
assigned queues, reassignment, agreement, the disagreement queue and QA's adjudication."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable

import pytest

from signoff.core.assignment import Assignment, QueueItem
from signoff.core.errors import InputError, PolicyRefusal
from signoff.core.model import Verdict
from signoff.service.port import ReviewPort
from signoff.service.review import ReviewService
from signoff.store.store import Store
from tests.doubles import FakeReviewService
from tests.plugin_doubles import InMemorySource
from tests.test_team_review import config, tables

ALICE, BOB, QUINN = "alice@example.com", "bob@example.com", "quinn@example.com"


@dataclass
class Team:
    service: ReviewPort                       # acting as alice (an SME in both policies)
    as_user: Callable[[str], ReviewPort]      # the same store, acting as someone else
    request_id: int
    eval_set: str

    def needing_review(self) -> set[tuple[str, str]]:
        out = set()
        for es in self.service.get_request(self.request_id).eval_sets:
            t = self.service.comparison(self.request_id, es)
            out |= {(es, str(i)) for i, c in zip(t["id"], t["class"].astype(str))
                    if c in ("regressed", "changed", "improved")}
        return out


@pytest.fixture(params=["sqlite", "fake"])
def team(request, tmp_path):
    if request.param == "fake":     # sme: alice, bob; qa: quinn, alice
        fake = FakeReviewService(ALICE)
        yield Team(fake, fake.as_user, 1, "support-replies")
        return
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")   # sme: alice, bob; qa: quinn; two sets of 20
    source = InMemorySource(tables(20), config=config(overlap=1, smes=[ALICE, BOB]))
    req = ReviewService(store, user="ci@example.com").create_request(source, sha="c1")
    yield Team(ReviewService(store, user=ALICE), lambda u: ReviewService(store, user=u), req.id, "qa")
    store.close()


def test_the_change_counter_moves_on_every_write_by_anyone(team):
    svc, rid = team.service, team.request_id
    before = svc.change_counter()
    assert svc.change_counter() == before                       # nothing written: no change
    sid = sorted(k for k in team.needing_review() if k[0] == team.eval_set)[0][1]
    svc.set_label(rid, team.eval_set, sid, verdict=Verdict.CANDIDATE)
    mine = svc.change_counter()
    assert mine != before
    team.as_user(BOB).set_label(rid, team.eval_set, sid, verdict=Verdict.TIE)   # another "process"
    assert svc.change_counter() != mine


def test_the_status_bar_reads_the_store_through_the_port(team):
    svc = team.service
    assert isinstance(svc.store_description(), str) and svc.store_description()
    waiting = svc.outbox_waiting()
    assert isinstance(waiting, int) and waiting >= 0
    state = svc.outbox_state()
    assert state.waiting == waiting and state.failed >= 0 and isinstance(state.summary, str)
    # the window's background drain posts through the port (no sink is reachable here: what
    # cannot go out stays waiting), and Retry puts failed posts back the same way
    after = svc.drain_outbox()
    assert isinstance(after, type(state)) and after.waiting + after.failed >= 0
    svc.requeue_failed("alice@example.com")


def test_assignments_my_queue_and_progress(team):
    svc, rid = team.service, team.request_id
    items = svc.assignments(rid)
    assert items and all(isinstance(a, Assignment) for a in items)
    assert svc.assignments(rid) == items                          # kept: dealt once
    todo = team.needing_review()
    sme = [a for a in items if a.role == "sme"]
    assert Counter((a.eval_set, a.sample_id) for a in sme) == Counter({k: 1 for k in todo})   # overlap 1
    loads = Counter(a.user for a in sme)
    assert set(loads) == {ALICE, BOB} and max(loads.values()) - min(loads.values()) <= 1
    queue = svc.my_queue(rid)
    assert queue and all(isinstance(q, QueueItem) and not q.done for q in queue)
    assert {(q.eval_set, q.sample_id) for q in queue} == {(a.eval_set, a.sample_id) for a in items if a.user == ALICE}
    svc.set_label(rid, queue[0].eval_set, queue[0].sample_id, verdict=Verdict.CANDIDATE)
    assert svc.my_queue(rid)[0].done
    assert svc.my_queue(rid, eval_set="no such set") == []
    progress = svc.queue_progress(rid)
    assert progress["sme"]["reviewers"][ALICE] == {"assigned": len(queue), "done": 1}
    assert progress["sme"]["assigned"] == len(todo)
    assert svc.bounds_order(rid) is False                         # neither policy bounds a rate
    assert svc.changed_since_label(rid, team.eval_set) == {}      # no earlier request of the change


def test_reassign_moves_only_open_items(team):
    svc, rid = team.service, team.request_id
    bob = team.as_user(BOB)                                     # an SME only, in both policies
    queue = bob.my_queue(rid)
    bob.set_label(rid, queue[0].eval_set, queue[0].sample_id, verdict=Verdict.TIE)
    moved = svc.reassign(rid, BOB, [ALICE])
    assert moved == len(queue) - 1
    assert [(q.eval_set, q.sample_id) for q in bob.my_queue(rid)] == [(queue[0].eval_set, queue[0].sample_id)]
    with pytest.raises(InputError):
        svc.reassign(rid, "zed@example.com", [BOB])
    with pytest.raises(PolicyRefusal):
        team.as_user("mallory@example.com").reassign(rid, BOB)


def test_disagreements_agreement_and_adjudication(team):
    svc, rid, es = team.service, team.request_id, team.eval_set
    (e, sid), (e2, same) = sorted(k for k in team.needing_review() if k[0] == es)[:2]
    bob = team.as_user(BOB)
    svc.set_label(rid, es, sid, verdict=Verdict.CANDIDATE)
    bob.set_label(rid, es, sid, verdict=Verdict.BASELINE)
    svc.set_label(rid, es, same, verdict=Verdict.TIE)
    bob.set_label(rid, es, same, verdict=Verdict.TIE)
    queue = svc.disagreements(rid)
    assert [(d["eval_set"], d["sample_id"]) for d in queue] == [(es, sid)]
    assert queue[0]["labels"]["verdict"] == {ALICE: "candidate", BOB: "baseline"}
    fig = next(f for f in svc.agreement(rid) if f.eval_set == es and f.kind == "verdict")
    assert (fig.doubly, fig.disagreements, fig.reviewers) == (2, 1, 2)
    with pytest.raises(PolicyRefusal):
        bob.adjudicate(rid, es, sid, verdict="baseline")          # only QA adjudicates
    quinn = team.as_user(QUINN)
    with pytest.raises(InputError):
        quinn.adjudicate(rid, es, same, verdict="tie")            # not in the queue: they agree
    label = quinn.adjudicate(rid, es, sid, verdict="baseline")
    assert label.user == QUINN and label.verdict == Verdict.BASELINE
    assert svc.disagreements(rid) == []
