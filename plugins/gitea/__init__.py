"""Gitea and Forgejo status sink (api_url = the instance's base URL; /api/v1
is added).

    POST /repos/{owner}/{repo}/statuses/{sha}      {state, description, context, target_url}
    GET  /repos/{owner}/{repo}/commits/{sha}/status  latest per context; each
                                                     status answers its state in `status`
    GET  /user                                       who the token belongs to

States (Gitea: pending, success, error, failure, warning): pending -> pending,
approved -> success, rejected -> failure. Gitea stores description as TEXT
and documents no limit; we keep it within 255 characters so it reads as a
short line in the commit list. Gitea trims description/context/target_url.
"""

from __future__ import annotations

from urllib.parse import quote

from signoff.plugin_api import DeliveryError, ForgeAccount, StatusUpdate, TokenSpec
from signoff.plugins.common.forge_sink import ForgeSink, split_owner_repo
from signoff.plugins.common.http import ForgeClient

MAX_STATUS_PAGES = 10
PAGE_SIZE = 50


def gitea_api_base(api_url: str) -> str:
    url = (api_url or "").strip().rstrip("/")
    if not url:
        raise DeliveryError("gitea: signoff.toml [status] api_url is empty (e.g. https://gitea.example.com)",
                            retry=False)
    if "://" not in url:
        url = "https://" + url
    return url if url.endswith("/api/v1") else url + "/api/v1"


class GiteaSink(ForgeSink):
    NAME = "gitea"
    FORGE = "gitea"
    DISPLAY_NAME = "Gitea / Forgejo"
    TOKEN = TokenSpec("gitea", env=("GITEA_TOKEN", "FORGEJO_TOKEN"), host_env=("GITEA_API_URL", "GITEA_SERVER_URL"),
                      # Gitea's act_runner and Forgejo's runner name the instance in GITHUB_API_URL / _SERVER_URL
                      runner_flags=("GITEA_ACTIONS", "FORGEJO_ACTIONS"),
                      runner_host_env=("GITHUB_API_URL", "GITHUB_SERVER_URL"))
    STATES = {"pending": "pending", "approved": "success", "rejected": "failure"}
    DESCRIPTION_LIMIT = 255

    @classmethod
    def api_base_url(cls, api_url: str) -> str:
        return gitea_api_base(api_url)

    def make_client(self, token, timeout) -> ForgeClient:
        return ForgeClient(forge="gitea", base_url=self.base_url, token=token, auth_header="Authorization",
                           auth_scheme="token", accept="application/json", timeout=timeout)

    def _repo_path(self, update: StatusUpdate) -> str:
        owner, name = split_owner_repo("gitea", update.repo)
        return f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def current_status(self, update: StatusUpdate) -> dict | None:
        path = f"{self._repo_path(update)}/commits/{quote(update.sha, safe='')}/status"
        context = update.context.strip()
        for page in range(1, MAX_STATUS_PAGES + 1):
            combined = self.client.json("GET", path, params={"page": page, "limit": PAGE_SIZE})
            if not isinstance(combined, dict):
                raise DeliveryError(f"gitea GET {path}: expected a combined status object", retry=True)
            statuses = combined.get("statuses") or []
            for item in statuses:
                if str(item.get("context", "")).strip() == context:
                    return {"state": item.get("status") or item.get("state"),
                            "description": item.get("description"), "target_url": item.get("target_url")}
            if len(statuses) < PAGE_SIZE:
                return None
        return None

    def create_status(self, update: StatusUpdate, body: dict) -> None:
        self.client.json("POST", f"{self._repo_path(update)}/statuses/{quote(update.sha, safe='')}", json=body)

    def fetch_account(self) -> ForgeAccount:
        user = self.client.json("GET", "user")
        if not isinstance(user, dict) or not user.get("login"):
            raise DeliveryError("gitea GET /user: no login in the answer", retry=False)
        return ForgeAccount(forge="gitea", host=self.host, login=str(user["login"]),
                            emails=tuple(e for e in (user.get("email"),) if e))
