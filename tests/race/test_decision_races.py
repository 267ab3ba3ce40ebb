"""Decisions racing each other on a real PostgreSQL (issue 11).

Each trial is a fresh review request (a new commit of a tiny git repository, its
own change) on one database. The racing reviewers are separate processes, each
with its own Store and its own forge token, released together by a barrier; a
further process posts statuses while they decide. Afterwards `publish` drains
the outbox, and in every trial the stored status, the last status the loopback
GitHub received and `signoff status` agree, and exactly one `approved` reached
the forge per approval transition.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import traceback
from pathlib import Path

import pytest

from signoff.cli.main import main as signoff_main
from signoff.service.publishing import publish_outbox
from signoff.service.review import ReviewService
from signoff.store.outbox import DELIVERED, FAILED, SUPERSEDED, WAITING
from signoff.store.store import Store
from signoff.plugins.git import GitSource
from tests.forges.fakes import FakeGitHub
from tests.forges.helpers import unanchored
from tests.plugins.conftest import commit, init_repo, predictions, table_bytes
from tests.support.keys import REVIEWERS, with_signers

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TRIALS = int(os.environ.get("SIGNOFF_RACE_TRIALS", "20"))
CONTEXT = "signoff/review"
STATE = {"pending": "pending", "approved": "success", "rejected": "failure"}
SAMPLES = [{"id": "s-0", "input": "q0", "reference": "a0"}, {"id": "s-1", "input": "q1", "reference": "a1"}]
SIGNOFF_TOML = """
[[eval_sets]]
name = "texts"
samples = "evals/texts.jsonl"
predictions = "predictions/texts.jsonl"

[policy]
required = {{ sme = 2, qa = 1 }}
min_changed_reviewed = 0
all_regressions_reviewed = false

[roles]
sme = ["alice@example.com", "bob@example.com", "carol@example.com"]
qa = ["quinn@example.com", "rita@example.com"]

[status]
sink = "github"
repo = "acme/model"
context = "{context}"
api_url = "{api_url}"
"""


def decide(service: ReviewService, request_id: int, kind: str) -> None:
    """How a reviewer decides in these tests: signed with the reviewer's own test key (tests/conftest.py
    `_reviewer_keys`, inherited by the forked racers), which the base signoff.toml lists."""
    service.decide(request_id, kind, f"{kind} in a race")


def _as(who: str, url: str) -> ReviewService:
    os.environ["GITHUB_TOKEN"] = f"tok-{who}"     # the forge account of the reviewer (identity check)
    return ReviewService(Store(url, migrate=False), user=f"{who}@example.com")


def _reviewer(url: str, who: str, kind: str, request_id: int, barrier) -> None:
    try:
        service = _as(who, url)
        service.get_request(request_id)            # connected and warm before the start
        barrier.wait(timeout=30)
        decide(service, request_id, kind)
        service.store.close()
    except BaseException:
        traceback.print_exc()
        os._exit(1)


def _publisher(url: str, barrier) -> None:
    try:
        os.environ["GITHUB_TOKEN"] = "tok-ci"
        store = Store(url, migrate=False)
        barrier.wait(timeout=30)
        for _ in range(3):                          # posts while the decisions land
            publish_outbox(store)
        store.close()
    except BaseException:
        traceback.print_exc()
        os._exit(1)


class Bench:
    """One database, one repository, one forge; a trial = a new commit and request."""

    def __init__(self, url: str, forge: FakeGitHub, root: Path):
        self.url, self.forge = url, forge
        self.repo = init_repo(root / "repo")
        toml = with_signers(SIGNOFF_TOML.format(context=CONTEXT, api_url=forge.url),
                            users=(*REVIEWERS, "rita@example.com"))   # decisions count only when signed
        commit(self.repo, {"signoff.toml": toml, "evals/texts.jsonl": table_bytes(SAMPLES, "jsonl"),
                           "predictions/texts.jsonl": table_bytes(predictions({0: "a0", 1: "x"}), "jsonl")},
                 "baseline")
        self.repo.create_head("candidate").checkout()
        commit(self.repo, {"predictions/texts.jsonl": table_bytes(predictions({0: "a0", 1: "a1"}), "jsonl")},
               "candidate")
        self.store = Store(url)
        self.ci = ReviewService(self.store, user="ci@example.com")
        self.ctx = multiprocessing.get_context("fork")
        self.services: dict[str, ReviewService] = {}

    def new_request(self, n: int):
        sha = commit(self.repo, {f"trial-{n}.txt": str(n)}, f"trial {n}")
        req = self.ci.create_request(GitSource(str(self.repo.working_tree_dir)), sha=sha,
                                     change_key=f"trial-{n}")
        return req

    def settle(self, request_id: int, who: str, kind: str) -> None:
        """A decision made before the race, by one reviewer alone."""
        os.environ["GITHUB_TOKEN"] = f"tok-{who}"
        service = self.services.setdefault(who, ReviewService(self.store, user=f"{who}@example.com"))
        decide(service, request_id, kind)
        os.environ["GITHUB_TOKEN"] = "tok-ci"

    def race(self, request_id: int, moves: list[tuple[str, str]]) -> None:
        """`moves` (reviewer, decision) at once, each in its own process, and a publisher beside them."""
        self.store.close()                          # no pooled connection crosses the fork
        barrier = self.ctx.Barrier(len(moves) + 1)
        procs = [self.ctx.Process(target=_reviewer, args=(self.url, who, kind, request_id, barrier))
                 for who, kind in moves]
        procs.append(self.ctx.Process(target=_publisher, args=(self.url, barrier)))
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * len(procs), "a racing process failed (its traceback is above)"

    def publish(self) -> None:
        for _ in range(5):
            report = publish_outbox(self.store)
            assert report.failed == 0, report.errors
            if report.waiting == 0:
                return
        raise AssertionError(f"statuses still waiting after publish: {report}")

    def signoff_status(self, sha: str, capsys) -> dict:
        os.environ["SIGNOFF_DATABASE_URL"] = self.url
        capsys.readouterr()
        code = signoff_main(["status", "--sha", sha, "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == {"approved": 0, "rejected": 1, "pending": 3}[out["status"]]
        return out

    def check(self, req, capsys) -> tuple[str, list[tuple[str, str]], list[str]]:
        """Everything agrees; returns (stored status, what the forge received, every queued state)."""
        self.publish()
        stored = self.store.get_request(req.id)
        status = self.signoff_status(req.sha, capsys)
        posted = unanchored(self.forge.posted(req.sha, CONTEXT), self.store)   # each with the audit head, taken off
        items = [i for i in self.store.outbox_items(states=(WAITING, DELIVERED, SUPERSEDED, FAILED))
                 if i.request_id == req.id and i.sink == "github"]
        queued = [i.payload["state"] for i in sorted(items, key=lambda i: i.id)]
        delivered = [(STATE[i.payload["state"]], i.payload["description"]) for i in sorted(items, key=lambda i: i.id)
                     if i.state == DELIVERED]
        assert (status["status"], status["description"]) == (stored.status, stored.description)
        assert posted, "nothing reached the forge"
        assert posted[-1] == (STATE[stored.status], stored.description), (posted, stored)
        assert posted == delivered, "what reached the forge differs from what the outbox delivered"
        assert all(a != b for a, b in zip(posted, posted[1:])), f"the same status posted twice: {posted}"
        # The stored transitions: each queued post is a change of the status or its words.
        assert all(a != b for a, b in zip(items, items[1:]))
        assert "/2 SME" not in stored.description or "3/2" not in stored.description
        return stored.status, posted, queued


@pytest.fixture
def bench(pg_url, forge, tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Dana")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "dana@example.com")
    monkeypatch.delenv("SIGNOFF_DATABASE_URL", raising=False)
    monkeypatch.setenv("GITHUB_API_URL", forge.url)   # as the runner says where its forge is: GITHUB_TOKEN goes only there
    b = Bench(pg_url, forge, tmp_path)
    yield b
    b.store.close()
    os.environ.pop("SIGNOFF_DATABASE_URL", None)


def test_a_reject_racing_the_final_approval(bench, capsys):
    """alice (SME) and quinn (QA) approved; bob's final SME approval races rita's (QA) reject.
    Whatever the order, the policy says rejected, and so do the store, the forge and `status`."""
    orders = set()
    for n in range(TRIALS):
        req = bench.new_request(n)
        bench.settle(req.id, "alice", "approve")
        bench.settle(req.id, "quinn", "approve")
        bench.race(req.id, [("bob", "approve"), ("rita", "reject")])
        status, posted, queued = bench.check(req, capsys)
        assert status == "rejected", (n, posted)
        # approved only if bob's approval landed first: then once, and never after the reject
        assert queued.count("approved") <= 1 and queued[-1] == "rejected", (n, queued)
        success = [p for p in posted if p[0] == "success"]
        assert len(success) <= queued.count("approved"), (n, posted)
        orders.add(tuple(queued))
    assert orders   # which interleavings happened is up to the machine; each was checked


def test_three_simultaneous_final_approvals(bench, capsys):
    """alice (SME) approved; bob and carol (SME) and quinn (QA) approve at once: the quorum is
    completed by whichever lands second or third, exactly one `approved` is recorded and posted,
    and the description never counts past the quorum."""
    for n in range(TRIALS):
        req = bench.new_request(n)
        bench.settle(req.id, "alice", "approve")
        bench.race(req.id, [("bob", "approve"), ("carol", "approve"), ("quinn", "approve")])
        status, posted, queued = bench.check(req, capsys)
        assert status == "approved", (n, posted)
        assert queued.count("approved") == 1, (n, queued)
        assert [p for p in posted if p[0] == "success"] == [("success", "approved: 2/2 SME, 1/1 QA")], (n, posted)
        stored = bench.store.get_request(req.id)
        assert stored.description == "approved: 2/2 SME, 1/1 QA"
        decisions = bench.store.decisions_for_change(f"trial-{n}")
        assert sorted(d.user.split("@")[0] for d in decisions) == ["alice", "bob", "carol", "quinn"]
