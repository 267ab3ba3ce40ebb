"""Fixtures for the race tests: a real PostgreSQL database, a loopback GitHub that
records every status it receives, and a tiny git repository whose signoff.toml
points its status sink at that forge."""

from __future__ import annotations

import keyring
import pytest

from tests.forges.fakes import FakeGitHub
from tests.support.memory_keyring import MemoryKeyring
from tests.support.postgres import postgres_server  # noqa: F401  (session fixture used below)

REVIEWERS = ("alice", "bob", "carol", "quinn", "rita")
USERS = {"tok-ci": {"login": "signoff-bot", "email": None},
         **{f"tok-{who}": {"login": who, "email": f"{who}@example.com"} for who in REVIEWERS}}


@pytest.fixture
def pg_url(postgres_server):
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def forge(monkeypatch):
    """GitHub on 127.0.0.1, every accepted status kept (forge.posted(sha, context))."""
    for name in ("GITHUB_TOKEN", "GITLAB_TOKEN", "GITEA_TOKEN", "FORGEJO_TOKEN", "SIGNOFF_HTTP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    before = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    server = FakeGitHub(token="tok-ci", users=USERS)
    monkeypatch.setenv("GITHUB_TOKEN", "tok-ci")    # CI's token: creates requests, publishes
    yield server
    server.stop()
    keyring.set_keyring(before)
