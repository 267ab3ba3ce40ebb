"""What the GitHub, GitLab and Gitea sinks share: the token lookup, the mapping
of Signoff's states to the forge's, fitting the description into the forge's
limit, and the idempotent post.

Idempotent post: the outbox delivers at least once (a process killed after
the forge accepted a status but before the outbox marked it delivered posts
it again, and so does a retry after a timeout whose request did arrive).
So before every POST the sink reads what the forge holds now for this commit
and context, and posts only when that differs from what it is about to send.
One extra GET per status buys "exactly once per state change" without any
bookkeeping that a crash could lose.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any, ClassVar

from signoff.credentials import Token, find_token, forge_host, missing_token_message
from signoff.plugin_api import DeliveryError, ForgeAccount, StatusSink, StatusUpdate

from .http import ForgeClient

log = logging.getLogger(__name__)

LOOKUP = object()  # "find the token in the keyring / environment"
ELLIPSIS = "…"


def fit(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def expand_target_url(template: str, update: StatusUpdate) -> str:
    """[status] target_url may name the commit: {sha}, {short_sha}, {repo}."""
    if not template:
        return ""
    return (template.replace("{sha}", update.sha).replace("{short_sha}", update.sha[:10])
            .replace("{repo}", update.repo))


def same_text(a: Any, b: Any) -> bool:
    # Forges store null for an empty description/URL, and Gitea trims whitespace.
    return (a or "").strip() == (b or "").strip()


class ForgeSink(StatusSink):
    FORGE: ClassVar[str]
    STATES: ClassVar[dict[str, str]]           # Signoff's pending/approved/rejected -> the forge's
    DESCRIPTION_LIMIT: ClassVar[int]
    TARGET_URL_LIMIT: ClassVar[int | None] = None
    CONTEXT_CASE_SENSITIVE: ClassVar[bool] = True

    def __init__(self, *, api_url: str = "", store=None, token: Token | None | object = LOOKUP,
                 timeout: tuple[float, float] | None = None, **_options):
        self.api_url = api_url
        self.base_url = self.api_base_url(api_url)
        self.host = forge_host(self.TOKEN or self.FORGE, self.base_url)
        self._refused = ""  # a token exists but is not for this host: never sent, the entry fails for good
        if token is LOOKUP:
            lookup = find_token(self.TOKEN or self.FORGE, self.base_url)
            token, self._missing, self._refused = lookup.token, missing_token_message(lookup), lookup.refused
        else:
            self._missing = f"no {self.FORGE} token for {self.host}"
        self.token: Token | None = token  # type: ignore[assignment]
        self.client = self.make_client(self.token, timeout)
        self.last_outcome = ""                  # "posted" / "already there", for tests and the UI

    # -- what each forge supplies ------------------------------------------
    @classmethod
    @abstractmethod
    def api_base_url(cls, api_url: str) -> str:
        """The API root requests go to, from [status] api_url."""

    @abstractmethod
    def make_client(self, token: Token | None, timeout) -> ForgeClient: ...

    @abstractmethod
    def current_status(self, update: StatusUpdate) -> dict | None:
        """What the forge holds now for (sha, context): {state, description, target_url}, or None."""

    @abstractmethod
    def create_status(self, update: StatusUpdate, body: dict) -> None: ...

    @abstractmethod
    def fetch_account(self) -> ForgeAccount: ...

    # -- shared -------------------------------------------------------------
    def forge_state(self, state: str) -> str:
        try:
            return self.STATES[state]
        except KeyError:
            raise DeliveryError(f"{self.FORGE}: unknown status {state!r} (Signoff's are "
                                f"{', '.join(self.STATES)})", retry=False) from None

    def status_body(self, update: StatusUpdate) -> dict:
        body = {"state": self.forge_state(update.state), "description": fit(update.description, self.DESCRIPTION_LIMIT),
                "context": update.context}
        url = expand_target_url(update.target_url, update)
        if url and self.TARGET_URL_LIMIT and len(url) > self.TARGET_URL_LIMIT:
            log.warning("%s takes target_url of at most %d characters; posting the status without the link (%d)",
                        self.FORGE, self.TARGET_URL_LIMIT, len(url))
            url = ""
        if url:
            body["target_url"] = url
        return body

    def same_context(self, a: str, b: str) -> bool:
        return a == b if self.CONTEXT_CASE_SENSITIVE else a.lower() == b.lower()

    def holds(self, current: dict, body: dict) -> bool:
        return (current.get("state") == body["state"] and same_text(current.get("description"), body["description"])
                and same_text(current.get("target_url"), body.get("target_url")))

    def plan(self, body: dict, current: dict | None) -> dict | None:
        """The body to POST given what the forge holds, or None when nothing needs posting."""
        if current is not None and self.holds(current, body):
            return None
        return body

    def post(self, update: StatusUpdate) -> None:
        if self._refused:
            # Failed for good: it waits, visible, until the token or api_url is fixed (publish --retry-failed).
            raise DeliveryError(self._refused, retry=False)
        if self.token is None:
            # Retried: once a token is stored the waiting status goes out by itself.
            raise DeliveryError(self._missing, retry=True)
        if not update.repo:
            raise DeliveryError(f"{self.FORGE}: signoff.toml [status] repo is empty", retry=False)
        if not update.context:
            raise DeliveryError(f"{self.FORGE}: signoff.toml [status] context is empty", retry=False)
        body = self.status_body(update)
        todo = self.plan(body, self.current_status(update))
        if todo is None:
            self.last_outcome = "already there"
            log.info("%s %s@%s %s: already holds %s, not posted again", self.FORGE, update.repo, update.sha[:10],
                     update.context, body["state"])
            return
        self.create_status(update, todo)
        self.last_outcome = "posted"

    def account(self) -> ForgeAccount | None:
        if self.token is None:  # no token for this host (one for another host is never sent here)
            if self._refused:
                log.warning("%s: the reviewer's forge account is not checked: %s", self.FORGE, self._refused)
            return None
        return self.fetch_account()

    def close(self) -> None:
        self.client.close()


def split_owner_repo(forge: str, repo: str) -> tuple[str, str]:
    parts = [p for p in (repo or "").strip().split("/")]
    if len(parts) != 2 or not all(parts):
        raise DeliveryError(f"{forge}: signoff.toml [status] repo must be OWNER/NAME, got {repo!r}", retry=False)
    return parts[0], parts[1]
