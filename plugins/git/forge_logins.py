"""The forge logins of the candidate's commits (issue 10, "self-approval on facts").

Where the base policy posts statuses to a forge ([status] sink = github / gitea)
and the forge can be reached with the token the credentials module gives for
that host (signoff.credentials.find_token, through the sink, which decides which
token may go where), each commit of base..candidate is asked for the accounts
the forge ties to it:

    GitHub  GET /repos/{owner}/{repo}/commits/{sha}      author.login, committer.login
    Gitea   GET /repos/{owner}/{repo}/git/commits/{sha}  author.login, committer.login

They join the candidate's authors (kind "forge login"): none of them may
approve. GitLab reports no account for a commit (only its e-mails), so it adds
nothing. Anything in the way (no token, no [status] repo, the forge unreachable
or refusing) is skipped quietly: the authors' and committers' e-mails already
cover reviewers named by e-mail. What was skipped is returned as one warning.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from signoff.core.config import ProjectConfig
from signoff.core.errors import SignoffError
from signoff.core.policy_change import FORGE_LOGIN
from signoff.plugin_api import DeliveryError

log = logging.getLogger(__name__)

FORGES_WITH_LOGINS = ("github", "gitea")
MAX_COMMITS = 100                 # commits asked about per request; beyond: the first ones, and a warning
TIMEOUT = (3.0, 10.0)             # connect, read (seconds): a slow forge must not hold up the request
SKIPPED = "forge logins of the candidate's commits not checked"
STILL = "the authors' and committers' e-mails still apply"


def _commit_path(forge: str, repo: str, sha: str) -> str:
    owner, name = repo.split("/", 1)
    base = f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"
    sha = quote(sha, safe="")
    return f"{base}/git/commits/{sha}" if forge == "gitea" else f"{base}/commits/{sha}"


def _sink_for(forge: str, api_url: str):
    if forge == "github":
        from signoff.plugins.github import GitHubSink

        return GitHubSink(api_url=api_url, timeout=TIMEOUT)
    from signoff.plugins.gitea import GiteaSink

    return GiteaSink(api_url=api_url, timeout=TIMEOUT)


def _logins_of(answer) -> list[str]:
    out = []
    if isinstance(answer, dict):
        for key in ("author", "committer"):
            who = answer.get(key)
            login = who.get("login") if isinstance(who, dict) else None
            if isinstance(login, str) and login.strip():
                out.append(login.strip().lower())
    return out


def forge_logins(config: ProjectConfig, shas: list[str]) -> tuple[dict[str, str], list[str]]:
    """(login -> "forge login", warnings) for the commits `shas`, asked of the base policy's forge."""
    status = config.status
    forge = status.sink
    if forge not in FORGES_WITH_LOGINS or not shas:
        return {}, []
    repo = (status.repo or "").strip()
    if repo.count("/") != 1 or not all(repo.split("/")):
        return {}, [f"{SKIPPED}: signoff.toml [status] repo is not OWNER/NAME ({repo!r}); {STILL}"]
    try:
        sink = _sink_for(forge, status.api_url)
    except (SignoffError, DeliveryError) as exc:   # e.g. no api_url, or a token that may not go to that host
        return {}, [f"{SKIPPED}: {exc}; {STILL}"]
    try:
        if sink.token is None:
            return {}, [f"{SKIPPED}: no {forge} token for {sink.host}; {STILL}"]
        found: dict[str, str] = {}
        for sha in shas[:MAX_COMMITS]:
            answer = sink.client.json("GET", _commit_path(forge, repo, sha))
            for login in _logins_of(answer):
                found.setdefault(login, FORGE_LOGIN)
    except (SignoffError, DeliveryError) as exc:   # unreachable, 401/403/404, not the forge's JSON
        log.info("%s: %s", SKIPPED, exc)
        return {}, [f"{SKIPPED}: {exc}; {STILL}"]
    finally:
        sink.client.close()
    warnings = []
    if len(shas) > MAX_COMMITS:
        warnings.append(f"forge logins checked for the first {MAX_COMMITS} of {len(shas)} candidate commits only; "
                        f"{STILL}")
    return found, warnings
