"""Every HTTP outcome becomes the right DeliveryError: what is retried, when,
and what is a permanent error carrying the forge's own message."""

from __future__ import annotations

import time

import pytest

from signoff.credentials import Token
from signoff.plugin_api import DeliveryError, StatusUpdate
from signoff.plugins.common.http import parse_retry_after, rate_limit_reset_wait, timeouts_from_env
from signoff.plugins.github import GitHubSink
from signoff.plugins.gitlab import GitLabSink
from tests.forges.helpers import SHA
from tests.forges.fakes import FakeGitHub
from tests.forges.loopback import Fault, LoopbackForge, Reply
from tests.forges.prism_server import free_port

UPDATE = StatusUpdate(repo="acme/model", sha=SHA, state="approved", description="approved: 1/1 SME, 1/1 QA",
                      context="signoff/review")


def sink_for(server: FakeGitHub, **kw) -> GitHubSink:
    return GitHubSink(api_url=server.url, token=Token(server.token), **kw)


def failure(sink, update=UPDATE) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        sink.post(update)
    return info.value


def test_server_errors_and_rate_limits_are_retried_with_the_servers_wait(github):
    sink = sink_for(github)
    github.inject(Fault("status", status=502))
    err = failure(sink)
    assert err.retry and err.retry_after is None and "502" in str(err)

    github.inject(Fault("status", status=429, headers={"Retry-After": "7"}))
    err = failure(sink)
    assert err.retry and err.retry_after == 7 and "rate limited" in str(err)

    reset = int(time.time()) + 120
    github.inject(Fault("status", status=403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
                        body={"message": "API rate limit exceeded for user ID 1."}))
    err = failure(sink)
    assert err.retry and 100 <= err.retry_after <= 121

    # Retry-After wins over x-ratelimit-reset (GitHub's documented order)
    github.inject(Fault("status", status=403, headers={"Retry-After": "3", "x-ratelimit-remaining": "0",
                                                        "x-ratelimit-reset": str(reset)}))
    assert failure(sink).retry_after == 3

    github.inject(Fault("status", status=403, body={"message": "You have exceeded a secondary rate limit."}))
    err = failure(sink)
    assert err.retry and err.retry_after == 60
    sink.post(UPDATE)
    assert github.posted(SHA) == [("success", "approved: 1/1 SME, 1/1 QA")]


def test_other_client_errors_are_permanent_with_the_forges_message(github):
    github.inject(Fault("status", status=403, body={"message": "Resource not accessible by integration"}))
    err = failure(sink_for(github))
    assert not err.retry and "Resource not accessible by integration" in str(err)
    assert "may not write commit statuses" in str(err)

    err = failure(GitHubSink(api_url=github.url, token=Token("wrong")))
    assert not err.retry and "401 Bad credentials" in str(err) and "token was refused" in str(err)
    assert "wrong" not in str(err)  # never the token

    err = failure(sink_for(github), StatusUpdate(**{**UPDATE.__dict__, "sha": "not-a-sha"}))
    assert not err.retry and "No commit found for SHA" in str(err)

    err = failure(sink_for(github), StatusUpdate(**{**UPDATE.__dict__, "repo": "acme"}))
    assert not err.retry and "OWNER/NAME" in str(err)


def test_timeouts_and_dropped_connections_are_retried(github):
    sink = sink_for(github, timeout=(1.0, 0.5))
    github.inject(Fault("hang", seconds=3))
    err = failure(sink)
    assert err.retry and "timed out waiting for the answer (after 0.5 s)" in str(err)

    github.inject(Fault("drop"))
    err = failure(sink)
    assert err.retry and "closed the connection" in str(err)

    github.inject(Fault("drop", method="GET", path_part="/commits/"))
    assert failure(sink).retry

    refused = GitHubSink(api_url=f"http://127.0.0.1:{free_port()}", token=Token("t"), timeout=(1.0, 1.0))
    err = failure(refused)
    assert err.retry and "connection refused" in str(err)


def test_gitlab_409_is_retried(gitlab):
    sink = GitLabSink(api_url=gitlab.url.removesuffix("/api/v4"), token=Token(gitlab.token))
    gitlab.inject(Fault("status", status=409, body={"message": "409 Conflict"}))
    err = failure(sink)
    assert err.retry and "409" in str(err)


def test_a_web_page_instead_of_the_api_is_named():
    # e.g. a GitHub Enterprise host given without /api/v3: its web UI answers
    web = LoopbackForge()
    try:
        web.route("GET", r"/repos/.*", lambda call: Reply(200, b"<html>sign in</html>", content_type="text/html"))
        err = failure(GitHubSink(api_url=web.url, token=Token("t")))
        assert not err.retry and "answered text/html, not the github API's JSON; check [status] api_url" in str(err)
        web.routes.clear()
        web.route("GET", r"/repos/.*", lambda call: Reply(302, None, {"Location": "/login"}))
        err = failure(GitHubSink(api_url=web.url, token=Token("t")))
        assert not err.retry and "redirected (302) to /login" in str(err)
    finally:
        web.stop()


def test_retry_after_and_timeout_parsing(monkeypatch):
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", now) == pytest.approx(60, abs=1)  # now = 22:13:20 GMT
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None
    assert rate_limit_reset_wait({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "1"}, now) is None
    monkeypatch.setenv("SIGNOFF_HTTP_TIMEOUT", "3,30")
    assert timeouts_from_env() == (3.0, 30.0)
    monkeypatch.setenv("SIGNOFF_HTTP_TIMEOUT", "4")
    assert timeouts_from_env() == (4.0, 4.0)
    monkeypatch.setenv("SIGNOFF_HTTP_TIMEOUT", "fast")
    with pytest.raises(DeliveryError, match="CONNECT,READ"):
        timeouts_from_env()
