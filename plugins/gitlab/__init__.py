"""GitLab status sink: the commit status API of gitlab.com and self-managed
GitLab (api_url = the instance's base URL; /api/v4 is added).

    POST /projects/:id/statuses/:sha        state, name, description, target_url, ref
    GET  /projects/:id/repository/commits/:sha/statuses?name=...&ref=...   latest per name
    GET  /user                                who the token belongs to

`:id` is the URL-encoded project path (group/sub/project) or a numeric id.
States: pending -> pending, approved -> success, rejected -> failed.
Limits (GitLab's docs): description and target_url at most 255 characters.

GitLab keeps a commit status as a job with a state machine: posting the state
a status already holds is refused with 400 "Cannot transition status via
:enqueue from :pending", and the new description is dropped with it. So a
pending status whose words changed ("1/2 SME" -> "2/2 SME") is posted as
`running` (GitLab's other in-progress state) once; after that GitLab cannot
take newer words until the state changes, and the sink says so in the log
instead of failing the entry. 409 means GitLab's per-commit lock was busy:
retried.

`ref` (the branch or tag, from `signoff request --ref`) picks the pipeline the
status joins. Without it GitLab takes the ref of the newest pipeline of the
commit, else the first branch that contains it, and answers 404 "References
for commit Not Found" when there is neither (a commit only on a tag, on a
deleted branch, or from a fork): that error says to pass --ref.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from signoff.plugin_api import DeliveryError, ForgeAccount, StatusUpdate, TokenSpec
from signoff.plugins.common.forge_sink import ForgeSink, same_text
from signoff.plugins.common.http import ForgeClient, fetch_published_keys

log = logging.getLogger(__name__)

IN_PROGRESS = ("pending", "running")
TRANSITION_REFUSED = "cannot transition status"
NO_REFERENCES = "references for commit"


def gitlab_api_base(api_url: str) -> str:
    url = (api_url or "").strip().rstrip("/")
    if not url:
        raise DeliveryError("gitlab: signoff.toml [status] api_url is empty (e.g. https://gitlab.com)", retry=False)
    if "://" not in url:
        url = "https://" + url
    return url if url.endswith("/api/v4") else url + "/api/v4"


def project_id(repo: str) -> str:
    repo = (repo or "").strip().strip("/")
    if not repo:
        raise DeliveryError("gitlab: signoff.toml [status] repo is empty (GROUP/PROJECT or a project id)", retry=False)
    return quote(repo, safe="")


class GitLabSink(ForgeSink):
    NAME = "gitlab"
    FORGE = "gitlab"
    DISPLAY_NAME = "GitLab"
    SIGNING_KEYS_URL = "https://gitlab.com/api/v4"
    SIGNING_KEYS_URL_ENV = "CI_API_V4_URL"
    TOKEN = TokenSpec("gitlab", env=("GITLAB_TOKEN",), host_env=("CI_API_V4_URL", "CI_SERVER_URL"),   # GitLab CI sets both
                      public_host="gitlab.com")
    STATES = {"pending": "pending", "approved": "success", "rejected": "failed"}
    DESCRIPTION_LIMIT = 255
    TARGET_URL_LIMIT = 255

    @classmethod
    def api_base_url(cls, api_url: str) -> str:
        return gitlab_api_base(api_url)

    @classmethod
    def signing_keys(cls, api_url: str, login: str, *, timeout=None) -> list[str]:
        """"gitlab:LOGIN": the user's keys GitLab publishes for signing (usage_type signing or
        auth_and_signing; absent on old servers: both)."""
        try:
            users = fetch_published_keys(f"{api_url}/users", params={"username": login}, timeout=timeout)
            if not users:
                return []
            keys = fetch_published_keys(f"{api_url}/users/{users[0]['id']}/keys", timeout=timeout)
            return [k["key"] for k in keys if k.get("usage_type", "auth_and_signing") in ("signing", "auth_and_signing")]
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise DeliveryError(f"a malformed answer ({type(exc).__name__}: {exc})", retry=True) from None

    def make_client(self, token, timeout) -> ForgeClient:
        return ForgeClient(forge="gitlab", base_url=self.base_url, token=token, auth_header="PRIVATE-TOKEN",
                           auth_scheme="", accept="application/json", retry_statuses=(409,), timeout=timeout)

    def status_body(self, update: StatusUpdate) -> dict:
        body = super().status_body(update)
        body["name"] = body.pop("context")  # GitLab's word for it (it takes `context` too)
        if update.ref:
            body["ref"] = update.ref
        return body

    def holds(self, current: dict, body: dict) -> bool:
        same_words = same_text(current.get("description"), body["description"]) and \
            same_text(current.get("target_url"), body.get("target_url"))
        if body["state"] == "pending":  # Signoff's pending is either in-progress state on GitLab
            return current.get("state") in IN_PROGRESS and same_words
        return current.get("state") == body["state"] and same_words

    def plan(self, body: dict, current: dict | None) -> dict | None:
        if current is not None and self.holds(current, body):
            return None
        if body["state"] == "pending" and current is not None:
            if current.get("state") == "pending":
                return {**body, "state": "running"}   # the one way to change the words while in progress
            if current.get("state") == "running":
                log.warning("gitlab keeps the words of a running status until its state changes; %r is not shown "
                            "yet (the state is right)", body["description"])
                return None
        return body

    def current_status(self, update: StatusUpdate) -> dict | None:
        path = f"projects/{project_id(update.repo)}/repository/commits/{quote(update.sha, safe='')}/statuses"
        params = {"name": update.context, "per_page": 100, **({"ref": update.ref} if update.ref else {})}
        items = self.client.json("GET", path, params=params)
        if not isinstance(items, list):
            raise DeliveryError(f"gitlab GET {path}: expected a list of statuses", retry=True)
        mine = [i for i in items if isinstance(i, dict) and i.get("name") == update.context]
        if not mine:
            return None
        latest = max(mine, key=lambda i: int(i.get("id") or 0))
        return {"state": latest.get("status"), "description": latest.get("description"),
                "target_url": latest.get("target_url")}

    def create_status(self, update: StatusUpdate, body: dict) -> None:
        path = f"projects/{project_id(update.repo)}/statuses/{quote(update.sha, safe='')}"
        try:
            self.client.json("POST", path, json=body)
        except DeliveryError as exc:
            # Another writer moved the status to this in-progress state between our read and our post.
            if not exc.retry and TRANSITION_REFUSED in str(exc).lower() and body["state"] in IN_PROGRESS:
                log.warning("gitlab already holds an in-progress status for %s: %s", update.context, exc)
                return
            if not exc.retry and NO_REFERENCES in str(exc).lower():
                raise DeliveryError(
                    f"gitlab POST {self.client.url(path)}: 404 References for commit Not Found: GitLab knows no "
                    f"branch or pipeline with {update.sha[:10]}, so it cannot tell which ref the status belongs to. "
                    f"Pass the branch or tag: `signoff request --ref NAME` (GitLab CI: --ref \"$CI_COMMIT_REF_NAME\"), "
                    f"or push the commit to a branch; then `signoff publish --retry-failed`", retry=False) from None
            raise

    def fetch_account(self) -> ForgeAccount:
        user = self.client.json("GET", "user")
        if not isinstance(user, dict) or not user.get("username"):
            raise DeliveryError("gitlab GET /user: no username in the answer", retry=False)
        emails = (user.get("email"), user.get("public_email"), user.get("commit_email"))
        return ForgeAccount(forge="gitlab", host=self.host, login=str(user["username"]),
                            emails=tuple(dict.fromkeys(e for e in emails if e)))
