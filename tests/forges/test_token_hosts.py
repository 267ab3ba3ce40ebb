"""Issue 10 item 5, through the real command line: an environment token goes only
to the forge host the environment names, never to a host that the reviewed
repository's signoff.toml names. A loopback GitHub records every header it gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.forges.fakes import FakeGitHub
from tests.support import subprocess_pythonpath

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-ci-secret"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("signoff-home")
    env = {**os.environ, "SIGNOFF_HOME": str(home), "PYTHONPATH": subprocess_pythonpath()}
    env.pop("SIGNOFF_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "signoff", "demo", "--no-gui", "--dir", str(home / "demo")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    from signoff.plugins.demo import open_demo_workspace

    return open_demo_workspace(home / "demo")


def point_status_at(repo: Path, url: str) -> str:
    """signoff.toml on the default branch (and so at the candidate's merge-base) names `url`;
    returns the candidate's new sha."""
    candidate = _git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    _git(repo, "checkout", "-q", "main")
    toml = repo / "signoff.toml"
    text = toml.read_text(encoding="utf-8")
    head, _, _ = text.partition("[status]")
    toml.write_text(head + f'[status]\nsink = "github"\napi_url = "{url}"\nrepo = "acme/model"\n'
                           f'context = "signoff/review"\n', encoding="utf-8")
    _git(repo, "-c", "user.email=owner@example.com", "-c", "user.name=Owner", "commit", "-qam",
         "status goes to a forge")
    _git(repo, "checkout", "-q", candidate)
    _git(repo, "-c", "user.email=ci@example.com", "-c", "user.name=CI", "merge", "-q", "--no-edit", "-X", "theirs",
         "main")
    return _git(repo, "rev-parse", "HEAD")


def signoff(home: Path, *args: str, user: str = "ci@example.com", **extra: str):
    env = {**os.environ, "SIGNOFF_HOME": str(home), "PYTHONPATH": subprocess_pythonpath(), "SIGNOFF_USER": user,
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "GITHUB_TOKEN": TOKEN, **extra}
    for name in ("SIGNOFF_DATABASE_URL", "GITHUB_API_URL", "GITHUB_SERVER_URL"):
        if name not in extra:
            env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "signoff", *args], env=env, cwd=home, capture_output=True, text=True,
                          timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_an_environment_token_never_follows_a_url_from_the_reviewed_repository(demo, tmp_path):
    server = FakeGitHub(token=TOKEN, users={TOKEN: {"login": "ci", "email": "ci@example.com"}})
    try:
        sha = point_status_at(demo.repo, server.url)
        home = tmp_path
        code, out, err = signoff(home, "request", "--sha", sha, "--repo", str(demo.repo), "--json")
        assert code == 0, err
        req = json.loads(out)
        port = server.url.rsplit(":", 1)[1]
        said = err
        said += signoff(home, "decide", str(req["id"]), "--decision", "request-changes", user="alice@example.com")[2]
        code, out, err = signoff(home, "publish")
        said += err
        assert "status update(s) failed for good" in err      # the entry waits as failed, visibly
        assert (f"GITHUB_TOKEN is for api.github.com (the public default), but signoff.toml [status] api_url names "
                f"127.0.0.1:{port}: save a token for that host with `signoff token set github --api-url URL`, "
                f"or fix api_url on the default branch") in said
        assert server.authorizations() == []              # request, decide and publish sent it nothing with a token
        assert TOKEN not in out + said

        # The environment names that host, as GitHub Actions on it would: now the token goes there.
        code, out, err = signoff(home, "publish", "--retry-failed", GITHUB_API_URL=server.url)
        assert code == 0, err
        assert server.authorizations() and set(server.authorizations()) == {f"Bearer {TOKEN}"}
        assert server.posted(sha)
    finally:
        server.stop()
