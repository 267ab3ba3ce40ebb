"""Helpers for the forge tests: commits, configs with a [status] section, and a
clock that moves the outbox past its backoff without waiting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.service.publishing import publish_outbox
from app.store.store import Store
from tests.plugin_doubles import CONFIG, InMemorySource, default_tables

SHA = "0123456789abcdef0123456789abcdef01234567"
SHA2 = "89abcdef0123456789abcdef0123456789abcdef"


def forge_config(sink: str, api_url: str, repo: str = "acme/model", *, context: str = "signoff/review",
                 target_url: str = "", roles: str = "") -> str:
    text = CONFIG
    if roles:
        text = text.replace('sme = ["alice@example.com"]\nqa = ["quinn@example.com"]', roles)
    return text + (f'\n[status]\nsink = "{sink}"\nrepo = "{repo}"\ncontext = "{context}"\n'
                   f'api_url = "{api_url}"\ntarget_url = "{target_url}"\n')


def forge_source(config: str, *shas: str) -> InMemorySource:
    return InMemorySource(config=config, revisions={sha: default_tables() for sha in (shas or (SHA,))})


class Clock:
    """Time for publish_outbox, moved on by hand so backoff never makes a test wait."""

    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def drain(store: Store, clock: Clock, *, rounds: int = 30, step_s: float = 700.0):
    """Publish until nothing waits (each round jumps past any backoff); the reports."""
    reports = []
    for _ in range(rounds):
        reports.append(publish_outbox(store, now=clock.now))
        if reports[-1].waiting == 0:
            break
        clock.advance(step_s)
    return reports


# The variable a forge's own CI sets to say where the forge is: an environment
# token goes only to that host (app/credentials.py), so a test that hands a
# loopback forge an environment token names it here, as that CI would.
CI_HOST_VAR = {"github": "GITHUB_API_URL", "gitlab": "CI_SERVER_URL", "gitea": "GITEA_SERVER_URL"}


def ci_names(monkeypatch, forge: str, url: str) -> None:
    monkeypatch.setenv(CI_HOST_VAR[forge], url)
