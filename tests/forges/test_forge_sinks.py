"""request -> label -> decide -> publish through each forge sink against its
loopback stand-in: paths, states, limits, the token's user, and what the
forge holds at the end."""

from __future__ import annotations

import logging

import pytest

from signoff.core.errors import PolicyRefusal
from signoff.credentials import Token
from signoff.plugin_api import StatusUpdate
from signoff.service.review import ReviewService
from signoff.store.outbox import DELIVERED, SUPERSEDED
from signoff.plugins.common.forge_sink import fit
from signoff.plugins.gitea import GiteaSink, gitea_api_base
from signoff.plugins.github import GitHubSink, github_api_base
from signoff.plugins.gitlab import GitLabSink, gitlab_api_base
from tests.forges.helpers import SHA, Clock, ci_names, drain, forge_config, forge_source, unanchored_url
from tests.forges.fakes import FakeGitea, FakeGitHub, FakeGitLab

USERS = {  # token -> the forge's answer to GET /user, per forge's field names
    "github": {"tok-ci": {"login": "signoff-bot", "email": None},
               "tok-alice": {"login": "alice", "email": "alice@example.com"},
               "tok-quinn": {"login": "quinn", "email": None}},
    "gitlab": {"tok-ci": {"username": "signoff-bot", "email": "bot@example.com"},
               "tok-alice": {"username": "alice", "email": "alice@example.com"},
               "tok-quinn": {"username": "quinn", "email": "quinn@example.com"}},
    "gitea": {"tok-ci": {"login": "signoff-bot", "email": "bot@example.com"},
              "tok-alice": {"login": "alice", "email": "alice@example.com"},
              "tok-quinn": {"login": "quinn", "email": "quinn@example.com"}},
}
ENV = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "gitea": "GITEA_TOKEN"}
FAKES = {"github": FakeGitHub, "gitlab": FakeGitLab, "gitea": FakeGitea}
FORGE_STATE = {"github": {"pending": "pending", "approved": "success", "rejected": "failure"},
               "gitlab": {"pending": "pending", "approved": "success", "rejected": "failed"},
               "gitea": {"pending": "pending", "approved": "success", "rejected": "failure"}}
# GitHub matches contexts case-insensitively, the others exactly; quinn is in [roles] by forge login
ROLES = 'sme = ["alice@example.com"]\nqa = ["quinn"]'


@pytest.fixture(params=["github", "gitlab", "gitea"])
def forge(request, monkeypatch):
    name = request.param
    server = FAKES[name](token="tok-ci", users=USERS[name])
    ci_names(monkeypatch, name, server.url)
    yield name, server
    server.stop()


def base_url(name: str, server) -> str:
    return server.url.removesuffix({"github": "", "gitlab": "/api/v4", "gitea": "/api/v1"}[name])


def act(monkeypatch, name: str, who: str, store) -> ReviewService:
    monkeypatch.setenv(ENV[name], f"tok-{who}")
    user = {"ci": "ci@example.com", "alice": "alice@example.com", "quinn": "quinn"}[who]
    return ReviewService(store, user=user)


def test_a_review_reaches_the_forge_as_its_states(forge, store, monkeypatch, caplog):
    name, server = forge
    config = forge_config(name, base_url(name, server), "acme/model", target_url="https://reports.example.com/{sha}",
                          roles=ROLES)
    clock = Clock()
    req = act(monkeypatch, name, "ci", store).create_request(forge_source(config), sha=SHA)
    assert [r.delivered for r in drain(store, clock)] == [1]

    alice = act(monkeypatch, name, "alice", store)
    alice.set_label(req.id, "qa", "s1", verdict="baseline")
    alice.set_label(req.id, "qa", "s5", verdict="both-wrong")    # the first label's status is superseded
    alice.decide(req.id, "approve")
    drain(store, clock)
    quinn = act(monkeypatch, name, "quinn", store)
    quinn.decide(req.id, "reject", "wrong tone")
    drain(store, clock)
    final = quinn.decide(req.id, "approve")
    drain(store, clock)
    assert final.status.value == "approved"

    delivered = [i.payload for i in store.outbox_items(states=(DELIVERED,))]
    posted = server.posted(SHA, "signoff/review")
    want = [(FORGE_STATE[name][p["state"]], p["description"]) for p in delivered]
    if name == "gitlab":
        # GitLab refuses pending -> pending: new words while pending go out as running
        want = [want[0], ("running", want[1][1]), *want[2:]]
    assert posted == want
    assert posted[-1] == (FORGE_STATE[name]["approved"], final.description)
    assert all(a != b for a, b in zip(posted, posted[1:])), "a state was posted twice in a row"
    superseded = [i.payload["description"] for i in store.outbox_items(states=(SUPERSEDED,))]
    assert superseded and not set(superseded) & {d for _, d in posted}   # overtaken statuses never posted
    # the audit head rides in the target_url's fragment, an entry of this store's log
    assert {unanchored_url(p.target_url, store) for p in server.accepted} == {f"https://reports.example.com/{SHA}"}
    assert all(p.repo in ("acme/model", "acme%2Fmodel") for p in server.accepted)


def test_the_token_must_belong_to_the_reviewer(forge, store, monkeypatch):
    name, server = forge
    config = forge_config(name, base_url(name, server), roles=ROLES)
    req = act(monkeypatch, name, "ci", store).create_request(forge_source(config), sha=SHA)
    monkeypatch.setenv(ENV[name], "tok-quinn")
    alice_with_quinns_token = ReviewService(store, user="alice@example.com")
    with pytest.raises(PolicyRefusal, match=f"alice@example.com may not decide here: the {name} token for "
                                            f"127.0.0.1:\\d+ belongs to quinn"):
        alice_with_quinns_token.decide(req.id, "approve")
    assert store.decisions_for_change(req.change_key) == []
    # the e-mail the forge shows, or the login, both identify the token's user
    act(monkeypatch, name, "alice", store).decide(req.id, "approve")
    act(monkeypatch, name, "quinn", store).decide(req.id, "request-changes")
    assert [d.user for d in store.decisions_for_change(req.change_key)] == ["alice@example.com", "quinn"]


def test_without_a_token_the_status_waits_with_a_clear_reason(forge, store, monkeypatch):
    name, server = forge
    config = forge_config(name, base_url(name, server))
    ReviewService(store, user="ci@example.com").create_request(forge_source(config), sha=SHA)   # no token: no check
    clock = Clock()
    report = drain(store, clock, rounds=1)[0]
    assert report.waiting == 1 and report.failed == 0
    assert f"no {name} token for 127.0.0.1" in report.errors[0] and ENV[name] in report.errors[0]
    monkeypatch.setenv(ENV[name], "tok-ci")   # once a token is there, the waiting status goes out by itself
    clock.advance(700)
    assert drain(store, clock)[-1].waiting == 0
    assert [s for s, _ in server.posted(SHA)] == ["pending"]


def test_descriptions_are_cut_to_each_forges_limit():
    long = "awaiting review: " + ", ".join(f"{i}/9 reviewers in role number {i}" for i in range(20))
    update = StatusUpdate(repo="acme/model", sha=SHA, state="pending", description=long, context="signoff/review",
                          target_url="https://x.example.com/" + "r" * 300)
    gh = GitHubSink(api_url="https://api.github.com", token=Token("t")).status_body(update)
    gl = GitLabSink(api_url="https://gitlab.example.com", token=Token("t")).status_body(update)
    gt = GiteaSink(api_url="https://gitea.example.com", token=Token("t")).status_body(update)
    assert len(gh["description"]) == 140 and gh["description"].endswith("…")
    assert len(gl["description"]) == 255 and len(gt["description"]) == 255
    assert "target_url" in gh and "target_url" not in gl   # GitLab takes at most 255 characters: no link
    assert gl["name"] == "signoff/review" and "context" not in gl
    assert fit("a\nb   c", 10) == "a b c"


def test_api_base_urls():
    assert github_api_base("") == "https://api.github.com"
    assert github_api_base("https://github.com/") == "https://api.github.com"
    assert github_api_base("https://ghe.example.com/api/v3/") == "https://ghe.example.com/api/v3"
    assert github_api_base("ghe.example.com/api/v3") == "https://ghe.example.com/api/v3"
    assert gitlab_api_base("https://gitlab.example.com/") == "https://gitlab.example.com/api/v4"
    assert gitlab_api_base("https://gitlab.example.com/api/v4") == "https://gitlab.example.com/api/v4"
    assert gitea_api_base("https://codeberg.org") == "https://codeberg.org/api/v1"
    sink = GitHubSink(api_url="https://ghe.example.com/api/v3", token=Token("t"))
    assert sink.client.url("repos/a/b/statuses/x") == "https://ghe.example.com/api/v3/repos/a/b/statuses/x"
    assert sink.host == "ghe.example.com"


def test_github_enterprise_base_url_end_to_end(store, monkeypatch):
    server = FakeGitHub(prefix="/api/v3", token="tok-ci")
    ci_names(monkeypatch, "github", server.url)
    try:
        monkeypatch.setenv("GITHUB_TOKEN", "tok-ci")
        config = forge_config("github", server.url, "acme/model")
        assert server.url.endswith("/api/v3")
        ReviewService(store, user="ci@example.com").create_request(forge_source(config), sha=SHA)
        assert drain(store, Clock())[-1].delivered == 1
        assert [c[:2] for c in server.calls] == [("GET", f"/api/v3/repos/acme/model/commits/{SHA}/status"),
                                                 ("POST", f"/api/v3/repos/acme/model/statuses/{SHA}")]
    finally:
        server.stop()


def test_a_status_the_forge_already_holds_is_not_posted_again(github):
    sink = GitHubSink(api_url=github.url, token=Token(github.token))
    update = StatusUpdate(repo="acme/model", sha=SHA, state="rejected", description="rejected by quinn",
                          context="signoff/review")
    sink.post(update)
    sink.post(StatusUpdate(**{**update.__dict__, "context": "Signoff/Review"}))  # GitHub: case-insensitive
    assert sink.last_outcome == "already there"
    sink.post(StatusUpdate(**{**update.__dict__, "description": "rejected by quinn (again)"}))
    assert github.posted(SHA) == [("failure", "rejected by quinn"), ("failure", "rejected by quinn (again)")]


def test_gitlab_paths_and_state_machine(gitlab, caplog):
    sink = GitLabSink(api_url=base_url("gitlab", gitlab), token=Token(gitlab.token))
    up = StatusUpdate(repo="group/sub/model", sha=SHA, state="pending", description="0/2 SME", context="signoff")
    sink.post(up)
    sink.post(StatusUpdate(**{**up.__dict__, "description": "1/2 SME"}))
    with caplog.at_level(logging.WARNING):
        sink.post(StatusUpdate(**{**up.__dict__, "description": "2/2 SME"}))
    assert sink.last_outcome == "already there" and "keeps the words of a running status" in caplog.text
    sink.post(StatusUpdate(**{**up.__dict__, "state": "approved", "description": "approved"}))
    sink.post(StatusUpdate(**{**up.__dict__, "description": "new commit content"}))   # after success: a new job
    assert gitlab.posted(SHA) == [("pending", "0/2 SME"), ("running", "1/2 SME"), ("success", "approved"),
                                  ("pending", "new commit content")]
    assert all("/projects/group%2Fsub%2Fmodel/statuses/" in p for p in gitlab.raw_paths)


def test_identity_check_when_the_forge_is_down_or_refuses_the_token(store, monkeypatch, caplog):
    from signoff.credentials import CredentialError
    from tests.forges.loopback import Fault

    server = FakeGitHub(token="tok-alice", users={"tok-alice": {"login": "alice", "email": "alice@example.com"}})
    ci_names(monkeypatch, "github", server.url)
    try:
        config = forge_config("github", server.url)
        req = ReviewService(store, user="ci@example.com").create_request(forge_source(config), sha=SHA)
        monkeypatch.setenv("GITHUB_TOKEN", "revoked")
        with pytest.raises(CredentialError, match="cannot check who the github token belongs to: .*401 Bad credentials"):
            ReviewService(store, user="alice@example.com").decide(req.id, "approve")
        monkeypatch.setenv("GITHUB_TOKEN", "tok-alice")
        server.inject(Fault("status", method="GET", path_part="/user", status=503))
        with caplog.at_level(logging.WARNING):
            verdict = ReviewService(store, user="alice@example.com").decide(req.id, "approve")   # offline: recorded
        assert "could not check the github token's account" in caplog.text
        # ... but it fails closed: it does not count until checked (tests/forges/test_identity_check.py)
        assert [(d.user, d.identity) for d in store.decisions_for_change(req.change_key)] == [
            ("alice@example.com", "unchecked")]
        assert [d.not_counted for d in verdict.not_counted] == [
            "identity not yet checked against the github token's account (forge unreachable): it counts once checked"]
    finally:
        server.stop()


def test_gitlab_ref_and_a_commit_on_no_branch(gitlab):
    from signoff.plugin_api import DeliveryError
    from tests.forges.helpers import SHA2

    sink = GitLabSink(api_url=base_url("gitlab", gitlab), token=Token(gitlab.token))
    gitlab.refless.add(SHA)                  # e.g. only a tag holds it: GitLab finds no branch, no pipeline
    up = StatusUpdate(repo="acme/model", sha=SHA, state="pending", description="0/2 SME", context="signoff")
    with pytest.raises(DeliveryError) as err:
        sink.post(up)
    text = str(err.value)
    assert not err.value.retry and "404 References for commit Not Found" in text
    assert 'signoff request --ref NAME` (GitLab CI: --ref "$CI_COMMIT_REF_NAME")' in text
    assert "--retry-failed" in text and "check [status] repo" not in text

    sink.post(StatusUpdate(**{**up.__dict__, "ref": "v1.2.0"}))
    # A later status without the ref (a reviewer's desktop) joins the pipeline the first one made.
    sink.post(StatusUpdate(**{**up.__dict__, "state": "approved", "description": "approved"}))
    assert [(p.state, p.ref) for p in gitlab.accepted] == [("pending", "v1.2.0"), ("success", "v1.2.0")]

    # Read back per ref: a pending status on another ref is a job of its own, not a change of words.
    sink.post(StatusUpdate(**{**up.__dict__, "sha": SHA2, "ref": "main"}))
    sink.post(StatusUpdate(**{**up.__dict__, "sha": SHA2, "ref": "release", "description": "1/2 SME"}))
    assert [(p.state, p.ref) for p in gitlab.accepted[2:]] == [("pending", "main"), ("pending", "release")]


def test_the_request_ref_reaches_gitlab_through_the_outbox(gitlab, store, monkeypatch):
    monkeypatch.setenv("GITLAB_TOKEN", gitlab.token)
    gitlab.refless.add(SHA)
    service = ReviewService(store, user="ci@example.com")
    service.status_ref = "feature/new-model"
    service.create_request(forge_source(forge_config("gitlab", base_url("gitlab", gitlab))), sha=SHA)
    [item] = store.outbox_items()
    assert item.payload["ref"] == "feature/new-model"
    assert service.publish().delivered == 1
    assert [(p.state, p.ref) for p in gitlab.accepted] == [("pending", "feature/new-model")]
    # Without --ref nothing changes in the payload (entries queued before this version have none either).
    plain = ReviewService(store, user="ci@example.com")
    plain.create_request(forge_source(forge_config("gitlab", base_url("gitlab", gitlab))), sha=SHA, change_key="other")
    assert "ref" not in store.outbox_items()[-1].payload
