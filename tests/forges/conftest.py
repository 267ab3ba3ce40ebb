"""Fixtures for the forge status sinks: Prism with GitHub's spec (one per
session), loopback GitHub/GitLab/Gitea stand-ins (one per test), a fresh
SQLite store, and an in-memory keyring so no test touches the OS keyring."""

from __future__ import annotations

import atexit

import keyring
import keyring.backend
import pytest
from keyring.errors import PasswordDeleteError

from app.store.store import Store

from tests.forges.fakes import FakeGitea, FakeGitHub, FakeGitLab
from tests.forges.prism_server import PrismServer

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


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.data.get((service, username))

    def set_password(self, service, username, password):
        self.data[(service, username)] = password

    def delete_password(self, service, username):
        if self.data.pop((service, username), None) is None:
            raise PasswordDeleteError("not there")


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
