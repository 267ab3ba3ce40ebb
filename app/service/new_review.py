"""What File ▸ New review… does, without Qt (the window runs these on a worker).

- `repo_refs(path)`: a repository's branches and recent commits, for the candidate and
  baseline lists; `create_from_git(...)`: a request for a candidate commit, the policy read
  at the protected base by the git source as always (docs/trust.md), never the candidate's.
- `preview_rows(path)` and `guess_columns` (the files source's, the same guessing as
  `signoff review`): the column-mapping step; `create_from_files(...)`: a review of two
  prediction files, local (the implicit local policy) unless a policy file is given.
- `open_demo(...)`: the demo workspace's request (built on first use), as `signoff demo`.

The sources come from the registry by name (git, files, demo), never imported.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from signoff.core.errors import InputError
from signoff.core.tasks import TaskState
from signoff.registry import registry


@dataclass(frozen=True)
class Ref:
    name: str          # branch name, or the short SHA for a commit
    sha: str
    summary: str
    kind: str          # "branch" | "commit"

    @property
    def text(self) -> str:
        if self.kind == "branch":
            return f"{self.name}  ({self.sha[:7]}: {self.summary})"
        return f"{self.sha[:7]}  {self.summary}"


@dataclass(frozen=True)
class RepoRefs:
    path: str
    default_branch: str
    branches: list[Ref]
    commits: list[Ref]


def repo_refs(path: str, *, limit: int = 30) -> RepoRefs:
    """Branches (the default one first) and the `limit` most recent commits of all of them."""
    source = registry().source("git")(repo=path)
    repo = source._repo
    default = source._default_branch()
    default_name = default[0] if default else ""
    branches: list[Ref] = []
    for head in repo.heads:
        try:
            c = head.commit
        except ValueError:   # a branch without commits
            continue
        branches.append(Ref(head.name, c.hexsha, c.summary or "", "branch"))
    branches.sort(key=lambda r: (r.name != default_name, r.name))
    commits: list[Ref] = []
    try:
        for c in repo.iter_commits(max_count=limit, branches=True, remotes=True, tags=True):
            commits.append(Ref(c.hexsha[:7], c.hexsha, c.summary or "", "commit"))
    except Exception:   # an empty repository
        commits = []
    return RepoRefs(source.path, default_name, branches, commits)


def create_from_git(service, repo: str, candidate: str, baseline: str = "", *, task: TaskState | None = None):
    """A request for `candidate` (branch or SHA); `baseline` "" = the merge-base with the default branch."""
    if not (candidate or "").strip():
        raise InputError("choose a candidate (a branch or a commit)")
    source = registry().source("git")(repo=repo)
    sha = source.resolve(candidate).hexsha
    base = source.resolve(baseline).hexsha if (baseline or "").strip() else None
    if base == sha:
        raise InputError("the candidate and the baseline are the same commit: choose another baseline")
    return service.create_request(source, sha=sha, baseline=base, task=task)


def preview_rows(path: str, n: int = 5) -> tuple[list[str], list[list[str]]]:
    """(column names, the first `n` rows as text) of a prediction file."""
    return registry().source("files").preview_rows(path, n)


def guess_columns(baseline: str, candidate: str, **kwargs):
    """The column roles of two prediction files, guessed as `signoff review` does (the files source)."""
    return registry().source("files").guess_columns(baseline, candidate, **kwargs)


def output_types() -> list[str]:
    """The output types a review of two files may have: the built-in ones and every installed
    renderer's (loading the renderers only, not every plugin)."""
    from signoff.core.config import output_types as registered

    renderers = registry().renderers
    return sorted(set(registered()) | {getattr(cls, "OUTPUT_TYPE", None) or name for name, cls in renderers.items()})


def local_policy(user: str) -> str:
    """The implicit policy of a local review: `user`, with their own signer's public key."""
    from signoff.core.local_review import local_policy_text
    from signoff.service.signer import SigningError, signer_for

    try:
        signer = signer_for(user)
    except SigningError as exc:
        raise InputError(f"a local review is signed with your own key, and there is none: {exc}") from None
    return local_policy_text(user, signer.public_key)


def create_from_files(service, baseline: str, candidate: str, *, columns: dict[str, str], output_type: str,
                      samples: str = "", policy_file: str = "", sha: str = "", name: str = "",
                      task: TaskState | None = None):
    """As `signoff review BASELINE CANDIDATE`: local without a policy file; with one (and `sha`)
    a request for that commit."""
    if sha and not policy_file:
        raise InputError("a commit needs a policy: choose signoff.toml from your default branch")
    # Check the mapping against the files (a clear line for a column they lack).
    guess_columns(baseline, candidate, samples=samples, given=columns, output_type=output_type)
    text, where = ("", "") if policy_file else (local_policy(service.user), "the local review's policy")
    source = registry().source("files").pair(baseline, candidate, samples=samples, columns=columns,
                                             output_type=output_type, name=name, policy_file=policy_file,
                                             config_text=text, policy_where=where)
    return service.create_request(source, **files_request_refs(baseline, candidate, sha=sha), task=task)


def files_request_refs(baseline: str, candidate: str, *, sha: str = "", change: str = "") -> dict:
    """`create_request`'s refs for a review of two files. With `sha`: a request for that commit, its
    own change key unless `change` names one. Without: a local review, about no commit (kind
    "comparison", sha ""), its refs the two files' names, its own change key."""
    if sha:
        return {"sha": sha, "candidate": sha, "baseline": Path(baseline).name,
                "change_key": change or f"files:{sha}:{uuid.uuid4().hex[:12]}"}
    return {"sha": "", "candidate": Path(candidate).name, "baseline": Path(baseline).name,
            "change_key": f"local review {uuid.uuid4().hex[:12]}"}


def open_demo(service, directory: str = "", *, task: TaskState | None = None):
    """The demo's request (as `signoff demo`): the workspace is built the first time."""
    task = task or TaskState()
    source, candidate_sha, baseline_sha = registry().source("demo").workspace(directory, task=task)
    existing = service.latest_for_sha(candidate_sha)
    if existing is not None:
        return existing
    return service.create_request(source, sha=candidate_sha, baseline=baseline_sha, task=task)
