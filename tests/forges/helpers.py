"""Helpers for the forge tests: commits, configs with a [status] section, and a
clock that moves the outbox past its backoff without waiting."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from signoff.service.publishing import publish_outbox
from signoff.store.store import Store
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


# The audit head rides with every status posted (app/service/anchors.py): a
# `#signoff-audit=COUNT-HASH` fragment on the target_url, else a
# ` · signoff:COUNT-HASH16` note ending the description.
DESCRIPTION_ANCHOR = re.compile(r" · signoff:(\d+)-([0-9a-f]{16})$")
URL_ANCHOR = re.compile(r"#signoff-audit=(\d+)-([0-9a-f]{64})$")


def assert_in_log(store: Store, count: int, digest: str, where: str) -> None:
    """(count, hash) names an entry of the store's audit log: its `count`-th entry, whose hash
    starts with `digest`."""
    entries = store.audit_entries()
    assert 0 < count <= len(entries) and entries[count - 1].hash.startswith(digest), \
        f"{where}: anchor {count}-{digest} is not an entry of the audit log ({len(entries)} entries)"


def unanchored(posted, store: Store | None = None):
    """(state, description) as posted, each description's audit-head note checked (against the
    store's log when given) and taken off."""
    out = []
    for state, text in posted:
        found = DESCRIPTION_ANCHOR.search(text)
        assert found, f"a status without the audit head in its description: {text!r}"
        if store is not None:
            assert_in_log(store, int(found[1]), found[2], text)
        out.append((state, text[:found.start()]))
    return out


def unanchored_url(url: str, store: Store | None = None) -> str:
    """A status's target_url with its audit-head fragment checked and taken off."""
    found = URL_ANCHOR.search(url)
    assert found, f"a status without the audit head in its target_url: {url!r}"
    if store is not None:
        assert_in_log(store, int(found[1]), found[2], url)
    return url[:found.start()]


# The variable a forge's own CI sets to say where the forge is: an environment
# token goes only to that host (app/credentials.py), so a test that hands a
# loopback forge an environment token names it here, as that CI would.
CI_HOST_VAR = {"github": "GITHUB_API_URL", "gitlab": "CI_SERVER_URL", "gitea": "GITEA_SERVER_URL"}


def ci_names(monkeypatch, forge: str, url: str) -> None:
    monkeypatch.setenv(CI_HOST_VAR[forge], url)
