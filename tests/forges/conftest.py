"""Fixtures for the forge status sinks: Prism with GitHub's spec (one per
session), loopback GitHub/GitLab/Gitea stand-ins (one per test), a fresh
SQLite store, and an in-memory keyring so no test touches the OS keyring."""

from __future__ import annotations

import atexit

import keyring
import pytest

from app.store.store import Store

from tests.forges.fakes import FakeGitea, FakeGitHub, FakeGitLab
from tests.forges.prism_server import PrismServer
from tests.support.memory_keyring import MemoryKeyring

TOKEN_VARS = ("GITHUB_TOKEN", "GITLAB_TOKEN", "GITEA_TOKEN", "FORGEJO_TOKEN", "SIGNOFF_HTTP_TIMEOUT")

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
def github():
    server = FakeGitHub()
    yield server
    server.stop()


@pytest.fixture
def gitlab():
    server = FakeGitLab()
    yield server
    server.stop()


@pytest.fixture
def gitea():
    server = FakeGitea()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()
