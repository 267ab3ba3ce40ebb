"""The forge logins of the candidate's commits join its authors (issue 10 item 4), asked of a
loopback HTTP server of our own that answers like GitHub / Gitea and records what it was sent;
unreachable or without a token: skipped, with one warning, and the e-mails still apply."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import keyring
import pytest

from signoff.core.config import parse_config
from signoff.core.policy import check_allowed
from signoff.core.errors import PolicyRefusal
from signoff.core.model import DecisionKind
from signoff.plugins.git import GitSource
from signoff.plugins.git.forge_logins import MAX_COMMITS, forge_logins
from tests.support.memory_keyring import MemoryKeyring

TOKEN_VARS = ("GITHUB_TOKEN", "GITLAB_TOKEN", "GITEA_TOKEN", "FORGEJO_TOKEN", "GITHUB_API_URL", "CI_API_V4_URL",
              "GITEA_API_URL", "GITEA_SERVER_URL")


class Forge:
    """GitHub's GET /repos/O/R/commits/SHA and Gitea's GET /api/v1/repos/O/R/git/commits/SHA,
    answering `logins[sha]` = (author login, committer login); everything else 404."""

    def __init__(self):
        self.logins: dict[str, tuple[str | None, str | None]] = {}
        self.seen: list[tuple[str, str, str]] = []     # method, path, Authorization
        forge = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                forge.seen.append(("GET", self.path, self.headers.get("Authorization", "")))
                m = re.fullmatch(r"(?:/api/v1)?/repos/acme/model/(?:git/)?commits/([0-9a-f]{40})", self.path)
                if not m or m.group(1) not in forge.logins:
                    return self._send(404, {"message": "Not Found"})
                author, committer = forge.logins[m.group(1)]
                self._send(200, {"sha": m.group(1), "author": {"login": author} if author else None,
                                 "committer": {"login": committer} if committer else None})

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def forge():
    f = Forge()
    yield f
    f.stop()


@pytest.fixture(autouse=True)
def _clean_credentials(monkeypatch):
    for name in TOKEN_VARS:
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


def status_toml(kit, sink: str, api_url: str) -> str:
    return kit.SIGNOFF_TOML.format(ext="jsonl") + f'\n[status]\nsink = "{sink}"\nrepo = "acme/model"\napi_url = "{api_url}"\n'


def history_with(kit, tmp_path, toml: str):
    """main: c1 with `toml`; feature: c3 (by dana), c4 (by dana): the candidate's commits are c3, c4."""
    repo = kit.init_repo(tmp_path / "repo")
    files = {"signoff.toml": toml, "evals/texts.jsonl": kit.table_bytes(kit.SAMPLES, "jsonl"),
             "predictions/texts.jsonl": kit.table_bytes(kit.predictions(kit.BASE_OUT), "jsonl")}
    kit.commit(repo, files, "baseline model")
    repo.create_head("feature").checkout()
    c3 = kit.commit(repo, {"predictions/texts.jsonl": kit.table_bytes(kit.predictions(kit.BASE_OUT | {5: "h"}), "jsonl")},
                    "wip")
    c4 = kit.commit(repo, {"predictions/texts.jsonl": kit.table_bytes(kit.predictions(kit.CAND_OUT), "jsonl")},
                    "Candidate model v2")
    repo.heads.main.checkout()
    return repo.working_tree_dir, c3, c4


def free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_github_logins_of_every_candidate_commit_join_the_authors(kit, tmp_path, forge, monkeypatch):
    path, c3, c4 = history_with(kit, tmp_path, status_toml(kit, "github", forge.url))
    forge.logins = {c3: ("Dana-GH", "web-flow"), c4: ("dana-gh", None)}
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_loopback")
    monkeypatch.setenv("GITHUB_API_URL", forge.url)          # the host the environment's token is for
    loaded = GitSource(path).load(candidate="feature")
    assert loaded.author_kinds == {kit.AUTHOR: "author", "dana-gh": "forge login", "web-flow": "forge login"}
    assert set(loaded.authors) == {kit.AUTHOR, "dana-gh", "web-flow"}
    assert loaded.eval_sets[0].warnings == []
    assert sorted(forge.seen) == sorted(("GET", f"/repos/acme/model/commits/{sha}", "Bearer ghp_loopback")
                                        for sha in (c3, c4))
    # The forge account may not approve, with the reason named.
    config = parse_config(loaded.config_text.replace('sme = ["alice@example.com"]', 'sme = ["alice@example.com", "dana-gh"]'))
    with pytest.raises(PolicyRefusal, match="Dana-GH is the forge account of a candidate commit's author"):
        check_allowed(config, user="Dana-GH", role="sme", kind=DecisionKind.APPROVE, authors=loaded.author_kinds)


def test_gitea_asks_its_git_commits_endpoint_with_its_token_scheme(kit, tmp_path, forge, monkeypatch):
    path, c3, c4 = history_with(kit, tmp_path, status_toml(kit, "gitea", forge.url))
    forge.logins = {c3: ("dana", "dana"), c4: ("dana", "dana")}
    monkeypatch.setenv("GITEA_TOKEN", "gt_loopback")
    monkeypatch.setenv("GITEA_API_URL", forge.url)
    loaded = GitSource(path).load(candidate="feature")
    assert loaded.author_kinds.get("dana") == "forge login"
    assert {(m, p) for m, p, _ in forge.seen} == {("GET", f"/api/v1/repos/acme/model/git/commits/{sha}")
                                                  for sha in (c3, c4)}
    assert {a for _, _, a in forge.seen} == {"token gt_loopback"}


def test_an_unreachable_forge_is_skipped_with_one_warning_and_the_emails_still_apply(kit, tmp_path, monkeypatch):
    dead = free_url()
    path, _c3, _c4 = history_with(kit, tmp_path, status_toml(kit, "github", dead))
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_loopback")
    monkeypatch.setenv("GITHUB_API_URL", dead)
    loaded = GitSource(path).load(candidate="feature")
    assert loaded.author_kinds == {kit.AUTHOR: "author"}
    (warning,) = loaded.eval_sets[0].warnings
    assert warning.startswith("forge logins of the candidate's commits not checked: github GET "
                              f"{dead}/repos/acme/model/commits/")
    assert warning.endswith("; the authors' and committers' e-mails still apply")
    assert "\n" not in warning and "ghp_loopback" not in warning


def test_no_token_sends_nothing_and_says_so(kit, tmp_path, forge):
    path, _c3, _c4 = history_with(kit, tmp_path, status_toml(kit, "github", forge.url))
    loaded = GitSource(path).load(candidate="feature")
    assert forge.seen == [] and loaded.author_kinds == {kit.AUTHOR: "author"}
    host = forge.url.split("://", 1)[1]
    assert loaded.eval_sets[0].warnings == [f"forge logins of the candidate's commits not checked: no github token "
                                            f"for {host}; the authors' and committers' e-mails still apply"]


def test_a_forge_that_refuses_is_skipped(kit, tmp_path, forge, monkeypatch):
    path, _c3, _c4 = history_with(kit, tmp_path, status_toml(kit, "github", forge.url))
    forge.logins = {}                                          # 404 for every commit
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_loopback")
    monkeypatch.setenv("GITHUB_API_URL", forge.url)
    loaded = GitSource(path).load(candidate="feature")
    assert loaded.author_kinds == {kit.AUTHOR: "author"}
    assert "404" in loaded.eval_sets[0].warnings[0] and len(forge.seen) == 1     # the first refusal stops it


@pytest.mark.parametrize("sink", ["local", "gitlab"])
def test_local_and_gitlab_ask_nothing(kit, tmp_path, forge, monkeypatch, sink):
    """Local has no forge; GitLab reports no account for a commit, only its e-mails."""
    monkeypatch.setenv("GITLAB_TOKEN", "gl_loopback")
    monkeypatch.setenv("CI_API_V4_URL", forge.url + "/api/v4")
    path, _c3, _c4 = history_with(kit, tmp_path, status_toml(kit, sink, forge.url))
    loaded = GitSource(path).load(candidate="feature")
    assert forge.seen == [] and loaded.eval_sets[0].warnings == []
    assert loaded.author_kinds == {kit.AUTHOR: "author"}


def test_at_most_max_commits_are_asked_about(forge, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_loopback")
    monkeypatch.setenv("GITHUB_API_URL", forge.url)
    shas = [f"{i:040x}" for i in range(MAX_COMMITS + 5)]
    forge.logins = {sha: ("dana", None) for sha in shas}
    config = parse_config(f'[status]\nsink = "github"\nrepo = "acme/model"\napi_url = "{forge.url}"\n'
                          '[policy]\nrequired = { sme = 1 }\n[roles]\nsme = ["alice@example.com"]\n'
                          '[[eval_sets]]\nname = "t"\nsamples = "s.jsonl"\npredictions = "p.jsonl"\n')
    logins, warnings = forge_logins(config, shas)
    assert logins == {"dana": "forge login"} and len(forge.seen) == MAX_COMMITS
    assert warnings == [f"forge logins checked for the first {MAX_COMMITS} of {MAX_COMMITS + 5} candidate commits "
                        f"only; the authors' and committers' e-mails still apply"]
