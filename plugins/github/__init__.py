"""GitHub status sink: the commit statuses API of github.com and of GitHub
Enterprise Server (https://HOST/api/v3).

    POST /repos/{owner}/{repo}/statuses/{sha}    {state, description, context, target_url}
    GET  /repos/{owner}/{repo}/commits/{sha}/status   what it holds now (latest per context)
    GET  /user, /user/emails                      who the token belongs to

States: pending -> pending, approved -> success, rejected -> failure.
Descriptions: at most 140 characters (GitHub rejects longer ones). Contexts
are case-insensitive on GitHub. Requests send `Accept: application/json`
and the REST API version header; every request body matches GitHub's
published OpenAPI description (tests/forges run it under Prism).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from signoff.plugin_api import DeliveryError, ForgeAccount, StatusUpdate, TokenSpec
from signoff.plugins.common.forge_sink import ForgeSink, split_owner_repo
from signoff.plugins.common.http import ForgeClient, fetch_published_keys

PUBLIC_API = "https://api.github.com"
API_VERSION = "2022-11-28"
MAX_STATUS_PAGES = 10


def github_api_base(api_url: str) -> str:
    """[status] api_url as the API root: empty or github.com -> api.github.com;
    GitHub Enterprise Server: https://HOST/api/v3 (kept as given)."""
    url = (api_url or "").strip().rstrip("/")
    if not url:
        return PUBLIC_API
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if (parts.hostname or "").lower() in ("github.com", "www.github.com") and parts.path in ("", "/"):
        return PUBLIC_API
    return url


class GitHubSink(ForgeSink):
    NAME = "github"
    FORGE = "github"
    DISPLAY_NAME = "GitHub"
    SIGNING_KEYS_URL = PUBLIC_API
    SIGNING_KEYS_URL_ENV = "GITHUB_API_URL"
    TOKEN = TokenSpec("github", env=("GITHUB_TOKEN",), default_url="https://api.github.com",
                      host_env=("GITHUB_API_URL",),   # GitHub Actions sets it (also on GHES)
                      public_host="api.github.com", host_aliases=(("github.com", "api.github.com"),))
    STATES = {"pending": "pending", "approved": "success", "rejected": "failure"}
    DESCRIPTION_LIMIT = 140
    CONTEXT_CASE_SENSITIVE = False

    @classmethod
    def api_base_url(cls, api_url: str) -> str:
        return github_api_base(api_url)

    @classmethod
    def signing_keys(cls, api_url: str, login: str, *, timeout=None) -> list[str]:
        """"github:LOGIN": the SSH signing keys GitHub publishes for the user."""
        try:
            return [k["key"] for k in fetch_published_keys(f"{api_url}/users/{login}/ssh_signing_keys", timeout=timeout)]
        except (KeyError, TypeError) as exc:
            raise DeliveryError(f"a malformed answer ({type(exc).__name__}: {exc})", retry=True) from None

    def make_client(self, token, timeout) -> ForgeClient:
        return ForgeClient(forge="github", base_url=self.base_url, token=token, auth_header="Authorization",
                           auth_scheme="Bearer", accept="application/json",
                           extra_headers={"X-GitHub-Api-Version": API_VERSION}, timeout=timeout)

    def _repo_path(self, update: StatusUpdate) -> str:
        owner, name = split_owner_repo("github", update.repo)
        return f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def current_status(self, update: StatusUpdate) -> dict | None:
        base = f"{self._repo_path(update)}/commits/{quote(update.sha, safe='')}/status"
        for page in range(1, MAX_STATUS_PAGES + 1):
            combined = self.client.json("GET", base, params={"per_page": 100, "page": page})
            if not isinstance(combined, dict):
                raise DeliveryError(f"github GET {base}: expected a combined status object", retry=True)
            statuses = combined.get("statuses") or []
            for item in statuses:  # the combined status lists the latest status per context
                if self.same_context(str(item.get("context", "")), update.context):
                    return {"state": item.get("state"), "description": item.get("description"),
                            "target_url": item.get("target_url")}
            if len(statuses) < 100:
                return None
        return None

    def create_status(self, update: StatusUpdate, body: dict) -> None:
        self.client.json("POST", f"{self._repo_path(update)}/statuses/{quote(update.sha, safe='')}", json=body)

    def fetch_account(self) -> ForgeAccount:
        user = self.client.json("GET", "user")
        if not isinstance(user, dict) or not user.get("login"):
            raise DeliveryError("github GET /user: no login in the answer", retry=False)
        emails = [user.get("email")]
        try:  # needs the user:email scope (or the "Email addresses" permission); fine without
            listed = self.client.json("GET", "user/emails")
            emails += [e.get("email") for e in listed or [] if isinstance(e, dict) and e.get("verified")]
        except DeliveryError as exc:
            if exc.retry:
                raise
        return ForgeAccount(forge="github", host=self.host, login=str(user["login"]),
                            emails=tuple(dict.fromkeys(e for e in emails if e)))
