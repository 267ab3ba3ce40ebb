"""The Qt-free background drainer the app runs, what it reports as waiting,
and that no token ends up in the store, the logs or an error."""

from __future__ import annotations

import logging
from pathlib import Path

from signoff.service.publishing import OutboxDrainer, outbox_state
from signoff.service.review import ReviewService
from tests.forges.helpers import SHA, forge_config, forge_source
from tests.forges.loopback import Fault

SECRET = "ghp_never_print_me_0123456789"


def test_drainer_reports_what_waits_and_why(store, github, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", github.token)
    ReviewService(store, user="ci@example.com").create_request(forge_source(forge_config("github", github.url)), sha=SHA)
    drainer = OutboxDrainer(store)
    assert drainer.state().summary == "1 status update(s) waiting to be posted"

    github.inject(Fault("status", status=503))
    report = drainer.drain()
    assert report.retrying == 1
    state = drainer.state()
    assert state.waiting == 1 and state.next_attempt_at is not None
    assert "503" in state.problems[0] and f"acme/model@{SHA[:7]} pending" in state.problems[0]

    # one drain at a time: a call while another runs returns at once
    drainer._running.acquire()
    try:
        assert drainer.drain() is None
    finally:
        drainer._running.release()


def test_permanent_failures_are_listed_with_the_forges_message(store, github, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", github.token)
    config = forge_config("github", github.url, repo="acme/model")
    ReviewService(store, user="ci@example.com").create_request(forge_source(config), sha=SHA)
    github.inject(Fault("status", status=404, body={"message": "Not Found"}))
    report = OutboxDrainer(store).drain()
    assert report.failed == 1 and "404 Not Found" in report.errors[0] and "check [status] repo" in report.errors[0]
    state = outbox_state(store)
    assert (state.waiting, state.failed) == (0, 1) and "404 Not Found" in state.problems[0]
    assert "failed" in state.summary


def test_no_token_in_the_store_logs_or_errors(store, github, monkeypatch, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)               # refused by the forge: 401
    service = ReviewService(store, user="ci@example.com")
    service.create_request(forge_source(forge_config("github", github.url)), sha=SHA)
    report = OutboxDrainer(store).drain()
    assert report.failed == 1 and "401 Bad credentials" in report.errors[0]
    monkeypatch.setenv("GITHUB_TOKEN", github.token)
    github.inject(Fault("drop"), Fault("status", status=500))
    service.create_request(forge_source(forge_config("github", github.url), SHA), sha=SHA, change_key="again")
    OutboxDrainer(store).drain()
    store.close()
    db = Path(str(tmp_path / "store.db"))
    texts = [caplog.text, "\n".join(report.errors), *(p.read_bytes().decode("latin-1") for p in db.parent.glob("store.db*"))]
    for text in texts:
        assert SECRET not in text and github.token not in text


def test_publish_retry_failed_posts_once_the_token_is_fixed(store, github, monkeypatch, capsys, tmp_path):
    from signoff.cli.main import main

    monkeypatch.setenv("SIGNOFF_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")   # the `store` fixture's
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_revoked")
    ReviewService(store, user="ci@example.com").create_request(forge_source(forge_config("github", github.url)), sha=SHA)
    assert main(["publish"]) == 1
    assert "401 Bad credentials" in capsys.readouterr().err
    assert outbox_state(store).failed == 1

    monkeypatch.setenv("GITHUB_TOKEN", github.token)          # fixed; a plain publish leaves failures alone
    assert main(["publish"]) == 0
    assert github.posted(SHA) == []
    assert "`signoff publish --retry-failed` posts them again" in capsys.readouterr().err
    assert main(["--user", "dana@example.com", "publish", "--retry-failed"]) == 0
    captured = capsys.readouterr()
    assert "requeued 1 failed status update(s)" in captured.err
    assert "delivered 1, waiting 0, failed 0" in captured.out
    assert [state for state, _ in github.posted(SHA)] == ["pending"]
    entry = [e for e in store.audit_entries() if e.action != "status.posted"][-1]   # posted: anchors
    assert (entry.action, entry.actor) == ("outbox.requeue", "dana@example.com")
    assert "401 Bad credentials" in next(iter(entry.payload["errors"].values()))

    assert main(["publish", "--retry-failed"]) == 0
    assert "no failed status updates to retry" in capsys.readouterr().err
