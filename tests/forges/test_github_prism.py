"""The GitHub sink against GitHub's own OpenAPI description, served by Prism in
validating mode: every request Signoff sends must be one the spec accepts
(Prism answers 4xx to anything else), and a deliberately off-spec body is
refused, so the check can fail."""

from __future__ import annotations

import pytest

from signoff.credentials import Token
from signoff.plugin_api import DeliveryError
from signoff.service.review import ReviewService
from signoff.plugins.common import http
from signoff.plugins.github import GitHubSink
from tests.forges.helpers import SHA, Clock, drain, forge_source

# Prism answers GET /user with the spec's example user: octocat.
PRISM_CONFIG = """
[[eval_sets]]
name = "qa"
samples = "s.jsonl"
predictions = "p.jsonl"

[policy]
required = { sme = 1 }
min_changed_reviewed = 0.0
all_regressions_reviewed = false

[roles]
sme = ["octocat"]

[status]
sink = "github"
repo = "acme/support-model"
context = "signoff/review"
api_url = "{api_url}"
target_url = "https://reports.example.com/{sha}.html"
"""


@pytest.fixture
def responses(monkeypatch):
    """Every answer the sinks got: (method, path, status)."""
    seen = []
    original = http.ForgeClient.request

    def recording(self, method, path, **kwargs):
        try:
            response = original(self, method, path, **kwargs)
        except DeliveryError as exc:
            seen.append((method, path, str(exc)))
            raise
        seen.append((method, path, response.status_code))
        return response

    monkeypatch.setattr(http.ForgeClient, "request", recording)
    return seen


def test_prism_refuses_an_off_spec_status(prism):
    sink = GitHubSink(api_url=prism.url, token=Token("t"))
    with pytest.raises(DeliveryError) as info:
        sink.client.json("POST", f"repos/acme/support-model/statuses/{SHA}",
                         json={"state": "approved", "description": "Signoff's own word", "context": "signoff/review"})
    assert not info.value.retry
    assert "422" in str(info.value) and "state must be equal to one of the allowed values" in str(info.value)


def test_request_decide_publish_is_accepted_by_githubs_spec(prism, store, monkeypatch, responses):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_prism_test_token")
    monkeypatch.setenv("GITHUB_API_URL", prism.url)   # as GitHub Actions names its own API
    config = PRISM_CONFIG.replace("{api_url}", prism.url)
    clock = Clock()
    req = ReviewService(store, user="ci@example.com").create_request(forge_source(config), sha=SHA)
    assert drain(store, clock)[-1].delivered == 1

    verdict = ReviewService(store, user="octocat").decide(req.id, "approve", "looks right")   # GET /user checks it
    assert verdict.status.value == "approved"
    reports = drain(store, clock)
    assert reports[-1].delivered == 1 and all(r.failed == 0 for r in reports)

    assert all(isinstance(code, int) and 200 <= code < 300 for _, _, code in responses), responses
    calls = [(m, p.split("/")[-1] if "statuses/" in p else p) for m, p, _ in responses]
    assert calls.count(("POST", SHA)) == 2                      # pending, then success
    assert ("GET", "user") in calls
    assert sum(1 for m, p, _ in responses if m == "GET" and p.endswith(f"commits/{SHA}/status")) == 2
    assert prism.ready_after_s is not None


def test_the_token_user_from_the_spec_must_match(prism, store, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_prism_test_token")
    monkeypatch.setenv("GITHUB_API_URL", prism.url)   # as GitHub Actions names its own API
    config = PRISM_CONFIG.replace("{api_url}", prism.url).replace('sme = ["octocat"]', 'sme = ["alice@example.com"]')
    req = ReviewService(store, user="ci@example.com").create_request(forge_source(config), sha=SHA)
    from signoff.core.errors import PolicyRefusal

    with pytest.raises(PolicyRefusal, match="belongs to octocat"):
        ReviewService(store, user="alice@example.com").decide(req.id, "approve")
