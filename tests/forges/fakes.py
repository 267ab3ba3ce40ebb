"""Loopback stand-ins for GitHub, GitLab and Gitea that check what their
documented APIs check: the path (with the project or owner/repo encoded as
the forge expects), the token header, the state values, the field limits,
and for GitLab its status state machine. Each keeps every status it
accepted, so a test can say what reached the forge, and how often.

    GitHub  POST /repos/{o}/{r}/statuses/{sha}        states error/failure/pending/success,
                                                      description <= 140 (422 otherwise)
    GitLab  POST /api/v4/projects/{id}/statuses/{sha}  states pending/running/success/failed/
                                                      canceled/skipped, description, target_url
                                                      and ref <= 255 (400 otherwise); no ref:
                                                      the newest pipeline's, else "main", else
                                                      (a commit in `refless`) 404 "References
                                                      for commit Not Found"
    Gitea   POST /api/v1/repos/{o}/{r}/statuses/{sha}  states pending/success/error/failure/warning;
                                                      answers the state in `status`
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from tests.forges.loopback import Call, LoopbackForge, Reply

SHA_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class Posted:
    repo: str
    sha: str
    context: str
    state: str
    description: str
    target_url: str
    ref: str = ""           # GitLab: the ref the status was attached to


class _StatusBook:
    """What a forge holds: every accepted status, oldest first."""

    def __init__(self):
        self.accepted: list[Posted] = []

    def posted(self, sha: str | None = None, context: str | None = None) -> list[tuple[str, str]]:
        return [(p.state, p.description) for p in self.accepted
                if (sha is None or p.sha == sha) and (context is None or p.context.lower() == context.lower())]


# -- GitHub ----------------------------------------------------------------------
class FakeGitHub(LoopbackForge, _StatusBook):
    STATES = ("error", "failure", "pending", "success")

    def __init__(self, *, token: str = "gh-test-token", prefix: str = "", login: str = "octo",
                 email: str | None = "octo@example.com", emails: list[dict] | None = None,
                 users: dict[str, dict] | None = None):
        LoopbackForge.__init__(self, prefix)
        _StatusBook.__init__(self)
        self.token, self.emails = token, emails
        self.users = users or {token: {"login": login, "email": email}}   # token -> GET /user
        self.route("POST", r"/repos/([^/]+)/([^/]+)/statuses/([^/]+)", self._create)
        self.route("GET", r"/repos/([^/]+)/([^/]+)/commits/([^/]+)/status", self._combined)
        self.route("GET", r"/user", self._user)
        self.route("GET", r"/user/emails", self._emails)

    def _token(self, call: Call) -> str:
        scheme, _, value = (call.headers.get("authorization") or "").partition(" ")
        return value if scheme in ("Bearer", "token") else ""

    def _denied(self, call: Call) -> Reply | None:
        if self._token(call) not in self.users:
            return Reply(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        if call.headers.get("accept") != "application/json":
            return Reply(415, {"message": f"unexpected Accept {call.headers.get('accept')!r}"})
        return None

    def _create(self, call: Call, owner, repo, sha) -> Reply:
        if (denied := self._denied(call)) is not None:
            return denied
        body = call.body if isinstance(call.body, dict) else {}
        problems = []
        if body.get("state") not in self.STATES:
            problems.append({"resource": "Status", "field": "state", "code": "custom",
                             "message": "state is not included in the list"})
        if len(body.get("description") or "") > 140:
            problems.append({"resource": "Status", "field": "description", "code": "custom",
                             "message": "description is too long (maximum is 140 characters)"})
        if not SHA_RE.match(sha):
            return Reply(422, {"message": f"No commit found for SHA: {sha}"})
        if problems:
            return Reply(422, {"message": "Validation Failed", "errors": problems})
        with self.lock:
            self.accepted.append(Posted(f"{owner}/{repo}", sha, body.get("context") or "default", body["state"],
                                        body.get("description") or "", body.get("target_url") or ""))
            n = len(self.accepted)
        return Reply(201, {"id": n, "state": body["state"], "description": body.get("description"),
                           "context": body.get("context") or "default", "target_url": body.get("target_url")})

    def _combined(self, call: Call, owner, repo, sha) -> Reply:
        if (denied := self._denied(call)) is not None:
            return denied
        latest: dict[str, Posted] = {}
        with self.lock:
            for p in self.accepted:
                if p.repo == f"{owner}/{repo}" and p.sha == sha:
                    latest[p.context.lower()] = p
        statuses = [{"state": p.state, "description": p.description or None, "context": p.context,
                     "target_url": p.target_url or None} for p in reversed(list(latest.values()))]
        per_page, page = int(call.query.get("per_page", 30)), int(call.query.get("page", 1))
        return Reply(200, {"state": "pending", "sha": sha, "total_count": len(statuses),
                           "statuses": statuses[(page - 1) * per_page: page * per_page]})

    def _user(self, call: Call) -> Reply:
        return self._denied(call) or Reply(200, self.users[self._token(call)])

    def _emails(self, call: Call) -> Reply:
        if self.emails is None:
            return Reply(404, {"message": "Not Found"})
        return self._denied(call) or Reply(200, self.emails)


# -- GitLab ----------------------------------------------------------------------
class FakeGitLab(LoopbackForge, _StatusBook):
    STATES = ("pending", "running", "success", "failed", "canceled", "skipped")
    LIMIT = 255

    def __init__(self, *, token: str = "gl-test-token", username: str = "gl-user", email: str = "gl@example.com",
                 users: dict[str, dict] | None = None):
        LoopbackForge.__init__(self, "/api/v4")
        _StatusBook.__init__(self)
        self.token = token
        self.users = users or {token: {"id": 7, "username": username, "email": email}}
        self.jobs: list[dict] = []           # GitLab's external jobs, updated in place
        self.refless: set[str] = set()       # commits on no branch: a post without `ref` finds no reference
        self.route("POST", r"/projects/([^/]+)/statuses/([^/]+)", self._create)
        self.route("GET", r"/projects/([^/]+)/repository/commits/([^/]+)/statuses", self._list)
        self.route("GET", r"/user", self._user)
        self.raw_paths: list[str] = []

    def _denied(self, call: Call) -> Reply | None:
        if call.headers.get("private-token") not in self.users:
            return Reply(401, {"message": "401 Unauthorized"})
        return None

    def _create(self, call: Call, project, sha) -> Reply:
        if (denied := self._denied(call)) is not None:
            return denied
        self.raw_paths.append(call.path)
        body = call.body if isinstance(call.body, dict) else {}
        state = body.get("state")
        if state not in self.STATES:
            return Reply(400, {"error": "state does not have a valid value"})
        for key in ("description", "target_url", "ref"):
            if len(body.get(key) or "") > self.LIMIT:
                return Reply(400, {"message": {key: [f"is too long (maximum is {self.LIMIT} characters)"]}})
        if not SHA_RE.match(sha):
            return Reply(404, {"message": "404 Commit Not Found"})
        name = body.get("name") or body.get("context") or "default"
        with self.lock:
            # GitLab: the given ref, else the newest pipeline's of the commit, else a branch that holds it.
            newest = next((j["ref"] for j in reversed(self.jobs) if j["project"] == project and j["sha"] == sha), None)
            ref = body.get("ref") or newest or (None if sha in self.refless else "main")
            if not ref:
                return Reply(404, {"message": "404 References for commit Not Found"})
            job = next((j for j in reversed(self.jobs) if j["project"] == project and j["sha"] == sha
                        and j["name"] == name and j["ref"] == ref and j["status"] in ("pending", "running")), None)
            current = job["status"] if job else "created"
            refused = self._transition_refused(current, state)
            if refused:
                return Reply(400, {"message": refused})
            if job is None:
                job = {"id": len(self.jobs) + 1, "project": project, "sha": sha, "name": name, "ref": ref}
                self.jobs.append(job)
            job.update(status=state, description=body.get("description"), target_url=body.get("target_url"))
            self.accepted.append(Posted(project, sha, name, state, body.get("description") or "",
                                        body.get("target_url") or "", ref))
            return Reply(201, {**{k: v for k, v in job.items() if k != "project"},
                               "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "allow_failure": False})

    @staticmethod
    def _transition_refused(current: str, state: str) -> str:
        # GitLab's CommitStatus state machine, as Ci::CreateCommitStatusService drives it.
        if state == "pending" and current in ("pending", "running"):
            return f'Cannot transition status via :enqueue from :{current} (Reason(s): Status cannot transition via "enqueue")'
        if state == "running" and current == "running":
            return 'Cannot transition status via :run from :running (Reason(s): Status cannot transition via "run")'
        return ""

    def _list(self, call: Call, project, sha) -> Reply:
        if (denied := self._denied(call)) is not None:
            return denied
        with self.lock:
            jobs = [j for j in self.jobs if j["project"] == project and j["sha"] == sha]
        if call.query.get("ref"):
            jobs = [j for j in jobs if j["ref"] == call.query["ref"]]
        if call.query.get("all") not in ("true", "1"):
            latest: dict[str, dict] = {}
            for j in jobs:
                latest[j["name"]] = j
            jobs = sorted(latest.values(), key=lambda j: j["id"])
        if call.query.get("name"):
            jobs = [j for j in jobs if j["name"] == call.query["name"]]
        return Reply(200, [{k: v for k, v in j.items() if k != "project"} for j in jobs])

    def _user(self, call: Call) -> Reply:
        return self._denied(call) or Reply(200, self.users[call.headers["private-token"]])


# -- Gitea / Forgejo ---------------------------------------------------------------
class FakeGitea(LoopbackForge, _StatusBook):
    STATES = ("pending", "success", "error", "failure", "warning")

    def __init__(self, *, token: str = "gt-test-token", login: str = "gt-user", email: str = "gt@example.com",
                 users: dict[str, dict] | None = None):
        LoopbackForge.__init__(self, "/api/v1")
        _StatusBook.__init__(self)
        self.token = token
        self.users = users or {token: {"id": 3, "login": login, "email": email}}
        self.route("POST", r"/repos/([^/]+)/([^/]+)/statuses/([^/]+)", self._create)
        self.route("GET", r"/repos/([^/]+)/([^/]+)/commits/([^/]+)/status", self._combined)
        self.route("GET", r"/user", self._user)

    def _denied(self, call: Call) -> Reply | None:
        scheme, _, value = (call.headers.get("authorization") or "").partition(" ")
        if scheme != "token" or value not in self.users:
            return Reply(401, {"message": "user does not exist [uid: 0, name: ]"})
        return None

    def _create(self, call: Call, owner, repo, sha) -> Reply:
        if (denied := self._denied(call)) is not None:
            return denied
        body = call.body if isinstance(call.body, dict) else {}
        if body.get("state") not in self.STATES:
            return Reply(422, {"message": f"invalid state {body.get('state')!r}"})
        if not SHA_RE.match(sha):
            return Reply(422, {"message": "invalid sha"})
        trimmed = {k: (body.get(k) or "").strip() for k in ("description", "context", "target_url")}
        with self.lock:
            self.accepted.append(Posted(f"{owner}/{repo}", sha, trimmed["context"], body["state"],
                                        trimmed["description"], trimmed["target_url"]))
            n = len(self.accepted)
        return Reply(201, {"id": n, "status": body["state"], **trimmed})

    def _combined(self, call: Call, owner, repo, sha) -> Reply:
        if (denied := self._denied(call)) is not None:
            return denied
        latest: dict[str, tuple[int, Posted]] = {}
        with self.lock:
            for i, p in enumerate(self.accepted, start=1):
                if p.repo == f"{owner}/{repo}" and p.sha == sha:
                    latest[p.context] = (i, p)
        statuses = [{"id": i, "status": p.state, "context": p.context, "description": p.description,
                     "target_url": p.target_url} for i, p in sorted(latest.values(), key=lambda x: -x[0])]
        limit, page = int(call.query.get("limit", 30)), int(call.query.get("page", 1))
        return Reply(200, {"state": "pending", "sha": sha, "total_count": len(statuses),
                           "statuses": statuses[(page - 1) * limit: page * limit]})

    def _user(self, call: Call) -> Reply:
        return self._denied(call) or Reply(200, self.users[call.headers["authorization"].partition(" ")[2]])
