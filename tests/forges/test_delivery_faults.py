"""Faults in the middle of a run: 500s (before and after the forge stored the
status), 429 with Retry-After, 403 rate limits, hangs past the read timeout,
dropped connections, a `signoff publish` process killed between the post and
its bookkeeping, two drainers at once. Afterwards every state change has
reached the forge exactly once and the last status it holds is the right one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from signoff.service.publishing import LEASE_S, publish_outbox
from signoff.service.review import ReviewService
from signoff.store.outbox import DELIVERED, WAITING
from signoff.store.store import Store
from tests.forges.helpers import SHA, SHA2, Clock, ci_names, drain, forge_config, forge_source, unanchored
from tests.forges.fakes import FakeGitHub
from tests.forges.loopback import Fault
from tests.support import subprocess_pythonpath

ROOT = Path(__file__).resolve().parents[2]
STATE = {"pending": "pending", "approved": "success", "rejected": "failure"}
USERS = {"tok-ci": {"login": "signoff-bot", "email": None},
         "tok-alice": {"login": "alice", "email": "alice@example.com"},
         "tok-quinn": {"login": "quinn", "email": "quinn@example.com"}}


def as_user(monkeypatch, store, who: str) -> ReviewService:
    monkeypatch.setenv("GITHUB_TOKEN", f"tok-{who}")
    return ReviewService(store, user=f"{who}@example.com")


def assert_exactly_once_and_last_right(server: FakeGitHub, store: Store, sha: str, final_state: str, final_words: str):
    delivered = [(STATE[p["state"]], p["description"]) for p in
                 (i.payload for i in store.outbox_items(states=(DELIVERED,))) if p["sha"] == sha]
    posted = unanchored(server.posted(sha, "signoff/review"), store)   # each with the audit head of its post
    assert posted == delivered, "what reached the forge differs from what the outbox says it delivered"
    # one post per state change: the same status never twice in a row (a state may come back later)
    assert all(a != b for a, b in zip(posted, posted[1:])), f"a status was posted twice: {posted}"
    assert posted[-1] == (STATE[final_state], final_words)
    assert store.outbox_items(states=(WAITING,)) == []


def test_faults_mid_run(store, monkeypatch):
    server = FakeGitHub(token="tok-ci", users=USERS)
    ci_names(monkeypatch, "github", server.url)
    monkeypatch.setenv("SIGNOFF_HTTP_TIMEOUT", "2,0.5")
    clock = Clock()
    try:
        config = forge_config("github", server.url)
        req = as_user(monkeypatch, store, "ci").create_request(forge_source(config), sha=SHA)

        server.inject(Fault("status", status=500))                          # not stored: retried
        reports = drain(store, clock)
        assert [(r.retrying, r.delivered) for r in reports] == [(1, 0), (0, 1)]

        alice = as_user(monkeypatch, store, "alice")
        alice.set_label(req.id, "qa", "s1", verdict="baseline")
        alice.set_label(req.id, "qa", "s5", verdict="both-wrong")
        alice.decide(req.id, "approve")
        server.inject(Fault("status", status=502, apply=True))             # stored, then 502: must not post twice
        assert [r.delivered for r in drain(store, clock)] == [0, 1]

        quinn = as_user(monkeypatch, store, "quinn")
        quinn.decide(req.id, "reject", "tone")
        server.inject(Fault("status", status=429, headers={"Retry-After": "45"}))
        first = publish_outbox(store, now=clock.now)
        assert first.retrying == 1
        retry_at = store.outbox_items()[0].next_attempt_at
        assert retry_at >= clock.now + timedelta(seconds=45)                # the server's wait wins over backoff
        assert publish_outbox(store, now=clock.now + timedelta(seconds=44)).delivered == 0   # not due yet
        clock.advance(46)
        assert drain(store, clock)[-1].delivered == 1

        quinn.decide(req.id, "approve")
        server.inject(Fault("hang", seconds=2, apply=True))               # stored, answer never comes in time
        reports = drain(store, clock)
        assert "timed out waiting for the answer" in reports[0].errors[0] and reports[-1].delivered == 1

        quinn.decide(req.id, "request-changes", "one more look")
        server.inject(Fault("drop", apply=True), Fault("drop", method="GET", path_part="/commits/"))
        assert drain(store, clock)[-1].delivered == 1

        reset = int(time.time()) + 300
        server.inject(Fault("status", status=403, headers={"x-ratelimit-remaining": "0",
                                                           "x-ratelimit-reset": str(reset)},
                            body={"message": "API rate limit exceeded"}))
        final = quinn.decide(req.id, "approve", "fine now")
        first = publish_outbox(store, now=clock.now)
        assert first.retrying == 1 and store.outbox_items()[0].next_attempt_at >= clock.now + timedelta(seconds=250)
        clock.advance(310)
        drain(store, clock)

        assert final.status.value == "approved"
        assert_exactly_once_and_last_right(server, store, SHA, "approved", final.description)
        assert server.faults == []
    finally:
        server.stop()


def test_publish_killed_between_post_and_bookkeeping(store, tmp_path, monkeypatch):
    server = FakeGitHub(token="tok-ci", users=USERS)
    ci_names(monkeypatch, "github", server.url)
    try:
        config = forge_config("github", server.url)
        req = as_user(monkeypatch, store, "ci").create_request(forge_source(config), sha=SHA)
        server.inject(Fault("hold", apply=True))  # the forge stores it, then the answer waits
        env = {**os.environ, "SIGNOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",  # the `store` fixture's
               "PYTHONPATH": subprocess_pythonpath(), "GITHUB_TOKEN": "tok-ci",
               "GITHUB_API_URL": server.url, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        proc = subprocess.Popen([sys.executable, "-m", "signoff", "publish"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert server.held.wait(60), "the publish process never reached the forge"
            os.kill(proc.pid, signal.SIGKILL)                              # after the post, before mark_delivered
        finally:
            proc.wait(30)
            server.release()
        assert proc.returncode == -signal.SIGKILL
        waiting = store.outbox_items()
        assert len(waiting) == 1 and waiting[0].attempts == 0             # the outbox never heard of the post
        assert unanchored(server.posted(SHA), store) == [("pending", req.description)]

        assert publish_outbox(store).delivered == 0       # the dead process's lease still holds the entry
        # Another process takes over once the dead one's lease ran out: it sees the forge has it.
        later = datetime.now(timezone.utc) + timedelta(seconds=LEASE_S + 1)
        assert publish_outbox(store, now=later).delivered == 1
        assert server.calls[-1][:2] == ("GET", f"/repos/acme/model/commits/{SHA}/status")
        assert_exactly_once_and_last_right(server, store, SHA, "pending", req.description)
    finally:
        server.stop()


def test_two_drainers_at_once_post_each_status_once(store, monkeypatch):
    server = FakeGitHub(token="tok-ci", users=USERS)
    ci_names(monkeypatch, "github", server.url)
    try:
        monkeypatch.setenv("GITHUB_TOKEN", "tok-ci")
        config = forge_config("github", server.url)
        source = forge_source(config, SHA, SHA2)
        ci = ReviewService(store, user="ci@example.com")
        for sha in (SHA, SHA2):
            ci.create_request(source, sha=sha, change_key=sha)
        server.inject(*[Fault("slow", seconds=0.3) for _ in range(4)])
        reports = []
        threads = [threading.Thread(target=lambda w=w: reports.append(publish_outbox(store, worker=w)))
                   for w in ("app-1", "app-2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sum(r.delivered for r in reports) == 2
        for sha in (SHA, SHA2):
            assert [s for s, _ in server.posted(sha)] == ["pending"]
    finally:
        server.stop()


def test_without_reading_first_a_retry_would_post_twice(store, monkeypatch):
    """The control: the faults above would be caught if the sink posted blindly."""
    from signoff.plugins.github import GitHubSink

    server = FakeGitHub(token="tok-ci", users=USERS)
    ci_names(monkeypatch, "github", server.url)
    try:
        monkeypatch.setattr(GitHubSink, "current_status", lambda self, update: None)
        config = forge_config("github", server.url)
        as_user(monkeypatch, store, "ci").create_request(forge_source(config), sha=SHA)
        server.inject(Fault("status", status=502, apply=True))
        drain(store, Clock())
        assert [s for s, _ in server.posted(SHA)] == ["pending", "pending"]
    finally:
        server.stop()
