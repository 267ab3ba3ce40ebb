"""Reviewers prove who they are (issue 10, item 3): decisions and labels count only when signed
by a key the request's policy lists for their maker. Real store (SQLite), real SSHSIG signatures."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading

import pytest
from sqlalchemy import insert, update

from signoff.core.errors import PolicyRefusal
from signoff.core.model import DecisionKind, Status, Verdict
from signoff.service import reviewer_keys as rk
from signoff.service.review import ReviewService
from signoff.service.signer import KeyFileSigner
from signoff.store.schema import DecisionRow, LabelRow
from signoff.store.store import Store
from tests.plugin_doubles import InMemorySource
from tests.support import keys


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def svc(store, user, signer=None):
    return ReviewService(store, user=user, signer=signer)


def _labeled_request(store):
    req = svc(store, "ci@example.com").create_request(InMemorySource(), sha="c1")
    alice = svc(store, "alice@example.com")
    for sid in ("s1", "s2", "s5"):
        alice.set_label(req.id, "qa", sid, verdict=Verdict.TIE)
    return req


@pytest.mark.real_signer
@pytest.mark.parametrize("user", ["alice@example.com", "quinn@example.com"])
def test_an_impostor_without_the_key_cannot_move_the_status(store, user, monkeypatch):
    req = _labeled_request_as_keyholder(store)
    monkeypatch.setenv("SIGNOFF_USER", user)
    with pytest.raises(PolicyRefusal, match="no key to sign as"):
        ReviewService(store).decide(req.id, "approve")
    # a key of their own that the policy does not list: refused too, and nothing recorded
    monkeypatch.setenv("SIGNOFF_SIGNING_KEY", str(keys.key_file(user, gen=1)))
    with pytest.raises(PolicyRefusal, match="signature was not accepted.*not listed"):
        ReviewService(store).decide(req.id, "approve")
    assert store.decisions_for_change(req.change_key) == []
    assert store.get_request(req.id).status == "pending"


def _labeled_request_as_keyholder(store):
    req = svc(store, "ci@example.com", keys.signer("ci@example.com")).create_request(InMemorySource(), sha="c1")
    alice = svc(store, "alice@example.com", keys.signer("alice@example.com"))
    for sid in ("s1", "s2", "s5"):
        alice.set_label(req.id, "qa", sid, verdict=Verdict.TIE)
    return req


@pytest.mark.real_signer
def test_no_key_listed_is_refused_with_one_line(store):
    config = InMemorySource().config_text.replace(f'"bob@example.com" = ["{keys.public_line("bob@example.com")}"]', "")
    config = config.replace('sme = ["alice@example.com"]', 'sme = ["alice@example.com", "bob@example.com"]')
    req = svc(store, "ci@example.com", keys.signer("ci@example.com")).create_request(InMemorySource(config=config), sha="c1")
    with pytest.raises(PolicyRefusal) as err:
        svc(store, "bob@example.com", keys.signer("bob@example.com")).decide(req.id, "approve")
    assert str(err.value) == ("bob@example.com has no key listed in signoff.toml [signers]: ask a policy owner to add "
                              "yours (Settings ▸ Identity shows it)")
    assert err.value.exit_code == 4


def test_signed_decisions_approve_and_verify_with_ssh_keygen(store, tmp_path):
    req = _labeled_request(store)
    svc(store, "alice@example.com").decide(req.id, DecisionKind.APPROVE, "ok")
    assert svc(store, "quinn@example.com").decide(req.id, "approve").status is Status.APPROVED
    d = store.decisions_for_change(req.change_key)[0]
    statement = json.loads(d.statement)
    assert statement["type"] == "signoff/decision/v1" and statement["request"] == req.id
    assert statement["content_hash"] == req.content_hash and statement["user"] == "alice@example.com"
    assert d.key_fingerprint == keys.signer("alice@example.com").fingerprint
    entry = [e for e in store.audit_entries() if e.action == "decision"][0]
    assert entry.payload["signature"] == d.signature and entry.payload["statement"] == d.statement
    # OpenSSH itself accepts what we stored
    allowed = tmp_path / "allowed"
    allowed.write_text(f'alice@example.com namespaces="signoff" {keys.public_line("alice@example.com")}\n')
    sig = tmp_path / "sig"
    sig.write_text(d.signature)
    out = subprocess.run([shutil.which("ssh-keygen"), "-Y", "verify", "-f", str(allowed), "-I", "alice@example.com",
                          "-n", "signoff", "-s", str(sig)], input=d.statement.encode(), capture_output=True)
    assert out.returncode == 0, out.stderr


class _OtherContentSigner(KeyFileSigner):
    """Alice's real key, signing a statement for another request / content (a replayed signature)."""

    def sign(self, data: bytes) -> str:
        statement = json.loads(data)
        statement["content_hash"] = "0" * 64
        from signoff.core.signing import statement_bytes

        return super().sign(statement_bytes(statement))


def test_a_signature_over_other_content_is_refused(store):
    req = _labeled_request(store)
    with pytest.raises(PolicyRefusal, match="signature was not accepted"):
        svc(store, "alice@example.com", _OtherContentSigner(keys.key_file("alice@example.com"))).decide(req.id, "approve")
    assert store.decisions_for_change(req.change_key) == []


def test_stored_decisions_that_do_not_verify_are_shown_as_not_counting(store):
    req = _labeled_request(store)
    svc(store, "alice@example.com").decide(req.id, "approve")
    svc(store, "quinn@example.com").decide(req.id, "approve")
    assert svc(store, "ci@example.com").verdict(req.id).status is Status.APPROVED
    # a row inserted by hand with a bogus signature, and a real signature moved onto other content
    alice = store.decisions_for_change(req.change_key)[0]
    with store._engine.begin() as conn:
        conn.execute(insert(DecisionRow).values(
            request_id=req.id, user_name="bob@example.com", role="sme", kind="approve",
            content_hash=req.content_hash, comment="", created_at=alice.created_at,
            statement=alice.statement.replace("alice@example.com", "bob@example.com"),
            signature=alice.signature, key_fingerprint=alice.key_fingerprint))
        conn.execute(update(DecisionRow).where(DecisionRow.user_name == "quinn@example.com")
                     .values(comment="edited in the database"))
    fresh = svc(store, "ci@example.com")
    v = fresh.verdict(req.id)
    assert v.status is Status.PENDING
    why = {d.user: d.not_counted for d in v.not_counted}
    assert "quinn@example.com" in why and "other content" in why["quinn@example.com"]
    assert "bob@example.com" in why
    assert v.approvals.get("sme") == ["alice@example.com"]
    shown = fresh.summary(req.id)["decisions_not_counted"]
    assert {d["user"] for d in shown} == {"bob@example.com", "quinn@example.com"}


def test_labels_count_only_when_signed_by_someone_in_a_required_role(store):
    req = svc(store, "ci@example.com").create_request(InMemorySource(), sha="c1")
    dana = svc(store, "dana@example.com")          # has a key, holds no role
    for sid in ("s1", "s2", "s5"):
        dana.set_label(req.id, "qa", sid, verdict=Verdict.TIE)
    cov = dana.coverage(req.id)
    assert cov.changed_labeled == 0 and cov.other_labels == 3
    assert "3 labels by people outside the required roles / unsigned do not count" in dana.summary(req.id)["other_labels_note"]
    alice = svc(store, "alice@example.com")
    alice.import_labels(req.id, [{"eval_set": "qa", "sample_id": "s1", "verdict": "baseline"}])
    assert alice.coverage(req.id).changed_labeled == 1
    # a label edited in the database no longer matches its signed batch: it stops counting
    with store._engine.begin() as conn:
        conn.execute(update(LabelRow).where(LabelRow.user_name == "alice@example.com").values(verdict="candidate"))
    assert svc(store, "ci@example.com").coverage(req.id).changed_labeled == 0
    # an unsigned label inserted by hand does not count either
    with store._engine.begin() as conn:
        conn.execute(insert(LabelRow).values(request_id=req.id, eval_set="qa", sample_id="s2",
                                             user_name="quinn@example.com", verdict="tie",
                                             updated_at=alice.store.audit_entries()[0].at))
    assert svc(store, "ci@example.com").coverage(req.id).changed_labeled == 0


# -- forge keys -------------------------------------------------------------------------

class _KeysHandler(http.server.BaseHTTPRequestHandler):
    answers: dict = {}
    seen: list = []

    def do_GET(self):  # noqa: N802
        self.seen.append((self.path, self.headers.get("Authorization")))
        body = self.answers.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def forge():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeysHandler)
    _KeysHandler.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _KeysHandler
    server.shutdown()
    server.server_close()
    thread.join()


def test_github_and_gitlab_published_keys_are_fetched_cached_and_audited(store, forge, monkeypatch):
    api, handler = forge
    monkeypatch.setenv("GITHUB_API_URL", api)
    monkeypatch.setenv("CI_API_V4_URL", api + "/gl")
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token")
    handler.answers = {
        "/users/bobcat/ssh_signing_keys": [{"id": 1, "key": keys.public_line("bob@example.com")}],
        "/gl/users?username=quinn": [{"id": 7, "username": "quinn"}],
        "/gl/users/7/keys": [{"key": keys.public_line("quinn@example.com"), "usage_type": "auth_and_signing"},
                             {"key": keys.public_line("quinn@example.com", gen=1), "usage_type": "auth"}],
    }
    config = keys.signers_toml(["alice@example.com", "ci@example.com"]) + \
        '"bob@example.com" = ["github:bobcat"]\n"quinn@example.com" = ["gitlab:quinn"]\n'
    base = InMemorySource().config_text.split("[signers.keys]")[0].replace(
        'sme = ["alice@example.com"]', 'sme = ["alice@example.com", "bob@example.com"]')
    source = InMemorySource(config=base + config)
    req = svc(store, "ci@example.com").create_request(source, sha="c1")
    assert req.reviewer_keys["bob@example.com"] == [keys.public_line("bob@example.com").rsplit(" ", 1)[0]]
    assert req.reviewer_keys["quinn@example.com"] == [keys.public_line("quinn@example.com").rsplit(" ", 1)[0]]
    assert all(auth is None for _, auth in handler.seen)          # no token goes to a keys endpoint
    fetches = [e.payload for e in store.audit_entries() if e.action == "keys.fetch"]
    assert {(f["forge"], f["login"]) for f in fetches} == {("github", "bobcat"), ("gitlab", "quinn")}
    assert store.forge_keys("github", api, "bobcat")[0] == req.reviewer_keys["bob@example.com"]
    # a decision within the hour uses the cache: no new fetch
    n = len(handler.seen)
    svc(store, "bob@example.com").decide(req.id, "request-changes", "look again")
    assert len(handler.seen) == n


def test_forge_unreachable_and_nothing_cached_refuses_the_decision(store, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")   # nothing listens there
    monkeypatch.setenv("SIGNOFF_HTTP_TIMEOUT", "1,1")
    base = InMemorySource().config_text.split("[signers.keys]")[0].replace(
        'sme = ["alice@example.com"]', 'sme = ["alice@example.com", "bob@example.com"]')
    source = InMemorySource(config=base + keys.signers_toml(["ci@example.com"]) + '"bob@example.com" = ["github:bob"]\n')
    req = svc(store, "ci@example.com").create_request(source, sha="c1")
    assert "bob@example.com" not in req.reviewer_keys
    with pytest.raises(PolicyRefusal, match="could not be checked, so the decision waits"):
        svc(store, "bob@example.com").decide(req.id, "approve")


def test_allowed_signers_file_lists_keys_by_email():
    text = (f'alice@example.com namespaces="signoff" {keys.public_line("alice@example.com")}\n'
            f'bob@example.com namespaces="git" {keys.public_line("bob@example.com")}\n')
    entries = rk.parse_allowed_signers(text)
    from signoff.core.signing import keys_for

    assert keys_for("alice@example.com", entries) and not keys_for("bob@example.com", entries)
