"""Fixtures for the forge status sinks: Prism with GitHub's spec (one per
session), loopback GitHub/GitLab/Gitea stand-ins (one per test), a fresh
SQLite store, and an in-memory keyring so no test touches the OS keyring."""

from __future__ import annotations

import atexit

import keyring
import pytest

from signoff.store.store import Store

from tests.forges.helpers import ci_names
from tests.forges.fakes import FakeGitea, FakeGitHub, FakeGitLab
from tests.forges.prism_server import PrismServer
from tests.support.memory_keyring import MemoryKeyring

TOKEN_VARS = ("GITHUB_TOKEN", "GITLAB_TOKEN", "GITEA_TOKEN", "FORGEJO_TOKEN", "SIGNOFF_HTTP_TIMEOUT",
              # the variables that say which host an environment token is for (a real CI sets them)
              "GITHUB_API_URL", "GITHUB_SERVER_URL", "CI_API_V4_URL", "CI_SERVER_URL", "GITEA_API_URL",
              "GITEA_SERVER_URL", "GITEA_ACTIONS", "FORGEJO_ACTIONS")

_PRISM = PrismServer()
atexit.register(_PRISM.stop)  # also when the session ends abnormally


def pytest_collection_modifyitems(session, config, items):
    # Prism needs most of a minute to load the spec: start it while other tests run.
    if any("prism" in getattr(item, "fixturenames", ()) for item in items):
        _PRISM.start()


def pytest_sessionfinish(session, exitstatus):
    _PRISM.stop()


@pytest.fixture(scope="session")
def prism() -> PrismServer:
    _PRISM.start()
    _PRISM.wait_ready()
    return _PRISM



@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch):
    """Every forge test starts with an empty in-memory keyring and no token variables."""
    for name in TOKEN_VARS:
        monkeypatch.delenv(name, raising=False)
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)




@pytest.fixture
def github(monkeypatch):
    """A loopback GitHub, named by the environment as its own CI would (helpers.ci_names)."""
    server = FakeGitHub()
    ci_names(monkeypatch, "github", server.url)
    yield server
    server.stop()


@pytest.fixture
def gitlab(monkeypatch):
    """A loopback GitLab, named by the environment as its own CI would (helpers.ci_names)."""
    server = FakeGitLab()
    ci_names(monkeypatch, "gitlab", server.url)
    yield server
    server.stop()


@pytest.fixture
def gitea(monkeypatch):
    """A loopback Gitea, named by the environment as its own CI would (helpers.ci_names)."""
    server = FakeGitea()
    ci_names(monkeypatch, "gitea", server.url)
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()
