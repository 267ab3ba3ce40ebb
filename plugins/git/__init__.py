"""The Git source: eval sets and prediction files committed in a repository,
read at any two commits straight from the object database (no checkout, so
a bare repository works too and the working tree is never touched).

The policy never comes from what it judges (docs/trust.md, "Where the policy
comes from"): `signoff.toml` is read at the PROTECTED BASE, the merge-base of
the candidate with the default branch (origin/HEAD, else main, else master; or
with `policy_ref`), or the candidate's first parent when the candidate is itself
on that branch. The eval sets and their paths come from there; each set's
samples and candidate predictions are read at the candidate revision, the
baseline predictions at the baseline. The candidate's own signoff.toml is
returned beside it (shown as a diff, never applied; eval sets it adds are
compared in addition). The baseline, when not given, is found the same way as
the protected base (the two may differ when --baseline is given).

The candidate's authors are every author and committer e-mail of the commits
base..candidate and their `Co-authored-by:` trailers, and, where the base
policy's forge can be reached, the forge logins it reports for those commits
(plugins/git/forge_logins.py): none of them may approve.
"""

from __future__ import annotations

import os
import re
from typing import ClassVar

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError
from gitdb.exc import AmbiguousObjectName, BadName, BadObject

from signoff.core.config import ProjectConfig, parse_config
from signoff.core.errors import ConfigError, InputError, NotFoundError
from signoff.core.model import LoadedInput
from signoff.core.policy_change import AUTHOR, CO_AUTHOR, COMMITTER, added_specs, merge_authors
from signoff.core.tasks import TaskState
from signoff.plugin_api import RequestContext, Source
from signoff.plugins.common import clean_relpath, load_eval_sets

from .forge_logins import forge_logins

CONFIG_FILE = "signoff.toml"
# Where the default branch is looked for, in this order.
DEFAULT_BRANCH_REFS = ("refs/remotes/origin/HEAD", "refs/heads/main", "refs/heads/master",
                       "refs/remotes/origin/main", "refs/remotes/origin/master")
LFS_POINTER = b"version https://git-lfs.github.com/spec/"
CO_AUTHORED = re.compile(r"^\s*co-authored-by:\s*(?P<who>.*?)\s*$", re.IGNORECASE | re.MULTILINE)
EMAIL_IN = re.compile(r"<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+)")
MAX_AUTHOR_COMMITS = 10_000   # rev-list base..candidate beyond this: refuse (a base that is not an ancestor)

__all__ = ["GitSource"]


def short(sha: str) -> str:
    return sha[:7]


class GitSource(Source):
    """Eval sets and predictions committed in a git repository."""

    NAME: ClassVar[str] = "git"
    NOTES_IN_REPO: ClassVar[bool] = True   # a posted status leaves a git note on the commit (anchors)
    DESCRIPTION: ClassVar[str] = "eval sets and prediction files committed in a git repository"

    @classmethod
    def from_cli(cls, options: dict, context: RequestContext) -> Source:
        """`signoff request --source git`: the policy is read at the protected base, never given."""
        if context.policy:
            raise InputError("--policy is for the mlflow and files sources; git reads signoff.toml at the protected "
                             "base (--policy-ref REF to name that branch)")
        return cls(repo=context.repo or ".", policy_ref=context.policy_ref)

    def __init__(self, repo: str = ".", policy_ref: str = ""):
        self.policy_ref = (policy_ref or "").strip()
        path = os.path.abspath(os.path.expanduser(str(repo)))
        if not os.path.isdir(path):
            raise InputError(f"{path}: no such directory")
        try:
            self._repo = git.Repo(path, search_parent_directories=True)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise InputError(f"{path} is not a git repository") from None
        # The top of the working tree, or the repository itself when it is bare.
        self._path = os.path.abspath(self._repo.working_tree_dir or self._repo.git_dir)

    @property
    def path(self) -> str:
        return self._path

    def locator(self) -> dict:
        return {"repo": self._path, **({"policy_ref": self.policy_ref} if self.policy_ref else {})}

    # -- revisions ---------------------------------------------------------------------

    def resolve(self, rev: str) -> git.Commit:
        """The commit `rev` names (SHA, prefix, branch, tag, HEAD~1, ...); NotFoundError if none."""
        text = str(rev).strip()
        if not text:
            raise InputError("an empty revision was given")
        try:
            return self._repo.commit(text)
        except AmbiguousObjectName:
            raise NotFoundError(f"revision {text!r} is ambiguous in {self._path}; give more of the SHA") from None
        except (BadName, BadObject, ValueError, IndexError, TypeError):
            raise NotFoundError(f"unknown revision {text!r} in {self._path}") from None

    def _default_branch(self) -> tuple[str, git.Commit] | None:
        """(short name, head commit) of the default branch, or None."""
        for ref in DEFAULT_BRANCH_REFS:
            sym = git.SymbolicReference(self._repo, ref)
            commit = _head_commit(sym)
            if commit is None:
                continue
            name = ref
            if ref.endswith("/HEAD"):  # origin/HEAD points at the remote's default branch
                try:
                    name = sym.reference.name
                except (TypeError, ValueError):
                    pass
            return _branch_name(name), commit
        return None

    def default_baseline(self, candidate: git.Commit) -> git.Commit:
        """The merge-base with the default branch; the first parent if the candidate is on it."""
        default = self._default_branch()
        if default is None:
            raise InputError(f"no baseline given and {self._path} has no default branch "
                             f"(origin/HEAD, main or master) to take the merge-base with; pass --baseline REF")
        return self._base_on(candidate, *default)

    def policy_base(self, candidate: git.Commit) -> tuple[str, git.Commit]:
        """(branch, commit) whose signoff.toml judges `candidate`: the protected base."""
        if self.policy_ref:
            head = self.resolve(self.policy_ref)
            name = self.policy_ref
        else:
            default = self._default_branch()
            if default is None:
                raise ConfigError(f"{self._path} has no default branch (origin/HEAD, main or master) to read "
                                  f"{CONFIG_FILE} from; pass --policy-ref REF (the protected branch)")
            name, head = default
        return name, self._base_on(candidate, name, head, what="--policy-ref REF")

    def _base_on(self, candidate: git.Commit, name: str, head: git.Commit, what: str = "--baseline REF") -> git.Commit:
        where = f"candidate {short(candidate.hexsha)}"
        try:
            bases = self._repo.merge_base(candidate, head)
        except GitCommandError as exc:
            raise InputError(f"cannot find the merge-base of {where} and {name}: {exc.stderr.strip()}") from None
        if not bases:
            raise InputError(f"{where} shares no history with {name}; pass {what}")
        base = bases[0]
        if base.hexsha != candidate.hexsha:
            return base
        # The candidate is on the default branch: compare with the commit before it.
        if not candidate.parents:
            raise InputError(f"{where} is the first commit of {name}: there is nothing before it to compare with; "
                             f"pass {what}")
        return candidate.parents[0]

    def default_change_key(self, candidate_sha: str) -> str:
        """What groups requests for one change: a branch whose head is the
        candidate (local first, then remote; never the default branch), else the SHA."""
        commit = self.resolve(candidate_sha)
        default = self._default_branch()
        skip = {"HEAD", default[0] if default else "main"}
        for head in sorted(self._repo.heads, key=lambda h: h.name):
            if head.name not in skip and _head_sha(head) == commit.hexsha:
                return head.name
        for remote in self._repo.remotes:
            for ref in sorted(remote.refs, key=lambda r: r.name):
                name = _branch_name(ref.name)
                if name not in skip and _head_sha(ref) == commit.hexsha:
                    return name
        return commit.hexsha

    # -- loading -----------------------------------------------------------------------

    def load(self, *, candidate: str, baseline: str | None = None, task: TaskState | None = None) -> LoadedInput:
        task = task or TaskState()
        cand = self.resolve(candidate)
        branch, protected = self.policy_base(cand)
        task.report(f"reading {CONFIG_FILE} at {short(protected.hexsha)} ({branch})", 0.0)
        config, config_text = self._base_config(protected, branch, cand)
        candidate_text = self._config_text_at(cand)
        if candidate_text == config_text:
            candidate_text = ""
        base = self.resolve(baseline) if baseline else self.default_baseline(cand)

        # The base names the eval sets and their paths; the candidate may add sets (reviewed in addition).
        added = added_specs(config, candidate_text)
        load_config = config if not added else _with_sets(config, added)
        revisions = {"samples": cand, "baseline": base, "candidate": cand}
        sets = load_eval_sets(load_config, lambda side, path: self._read_file(revisions[side], path, side),
                              revision=lambda side: short(revisions[side].hexsha), task=task,
                              config_file=CONFIG_FILE)
        commits = self.commits_between(protected, cand)
        authors = authors_of(commits)
        logins, notes = forge_logins(config, [c.hexsha for c in commits])
        authors = merge_authors(authors, logins)
        for data in sets:          # the request's warnings: shown with each eval set's summary
            data.warnings.extend(notes)
        return LoadedInput(
            config=config, source=self.NAME, locator=self.locator(),
            candidate_ref=cand.hexsha, baseline_ref=base.hexsha,
            candidate_author=cand.author.email or "", eval_sets=sets, title=cand.summary or "",
            config_text=config_text, candidate_config_text=candidate_text,
            authors=tuple(authors), author_kinds=authors,
            allowed_signers_text=self._allowed_signers(config, protected),
        )

    def authors_between(self, base: git.Commit, candidate: git.Commit) -> dict[str, str]:
        """identity -> how (author, committer, co-author) over the commits base..candidate."""
        return authors_of(self.commits_between(base, candidate))

    def commits_between(self, base: git.Commit, candidate: git.Commit) -> list[git.Commit]:
        """The commits base..candidate (the candidate alone when it is the base)."""
        if base.hexsha == candidate.hexsha:
            return [candidate]
        try:
            out = self._repo.git.rev_list(f"{base.hexsha}..{candidate.hexsha}", max_count=MAX_AUTHOR_COMMITS + 1)
        except GitCommandError as exc:
            raise InputError(f"cannot list the commits {short(base.hexsha)}..{short(candidate.hexsha)}: "
                             f"{exc.stderr.strip()}") from None
        shas = out.split()
        if len(shas) > MAX_AUTHOR_COMMITS:
            raise InputError(f"more than {MAX_AUTHOR_COMMITS} commits between the protected base "
                             f"{short(base.hexsha)} and the candidate; pass --policy-ref REF nearer the candidate")
        return [self._repo.commit(sha) for sha in shas] or [candidate]

    def read_config(self, commit: git.Commit) -> ProjectConfig:
        return self._config_at(commit)[0]

    def _config_text_at(self, commit: git.Commit) -> str:
        """signoff.toml's text at `commit`, "" when there is none."""
        try:
            blob = commit.tree / CONFIG_FILE
        except KeyError:
            return ""
        if blob.type != "blob":
            raise ConfigError(f"{CONFIG_FILE} at {short(commit.hexsha)} is not a file")
        try:
            return blob.data_stream.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ConfigError(f"{CONFIG_FILE} at {short(commit.hexsha)} is not UTF-8 text") from None

    def _base_config(self, protected: git.Commit, branch: str, cand: git.Commit) -> tuple[ProjectConfig, str]:
        text = self._config_text_at(protected)
        if not text:
            raise ConfigError(f"{CONFIG_FILE} not found on {branch} at {short(protected.hexsha)} (the protected base "
                              f"of candidate {short(cand.hexsha)}) in {self._path}: add {CONFIG_FILE} to {branch} first; "
                              f"a candidate's own {CONFIG_FILE} never judges it")
        return parse_config(text, where=f"{CONFIG_FILE} at {short(protected.hexsha)} ({branch})"), text

    def _config_at(self, commit: git.Commit) -> tuple[ProjectConfig, str]:
        """The parsed signoff.toml at `commit`, and its text."""
        text = self._config_text_at(commit)
        if not text:
            raise ConfigError(f"{CONFIG_FILE} not found at {short(commit.hexsha)} in {self._path}")
        return parse_config(text, where=f"{CONFIG_FILE} at {short(commit.hexsha)}"), text

    def _allowed_signers(self, config: ProjectConfig, protected: git.Commit) -> str:
        """The text of [signers] allowed_signers at the protected base ("" when none is named)."""
        path = config.signers.allowed_signers
        if not path:
            return ""
        try:
            return self._read_file(protected, clean_relpath(path, f"{CONFIG_FILE} [signers] allowed_signers"),
                                   "policy base").decode("utf-8")
        except NotFoundError:
            raise ConfigError(f"{CONFIG_FILE} [signers] allowed_signers names {path}, which does not exist at "
                              f"{short(protected.hexsha)} (the protected base); commit it there") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path} at {short(protected.hexsha)} is not UTF-8 text") from None

    def _read_file(self, commit: git.Commit, path: str, side: str) -> bytes:
        at = f"{short(commit.hexsha)} ({side})"
        try:
            obj = commit.tree / path
        except KeyError:
            raise NotFoundError(f"{path} does not exist at {at}") from None
        if obj.type != "blob":
            raise InputError(f"{path} is a {'directory' if obj.type == 'tree' else obj.type}, not a file, at {at}")
        data = obj.data_stream.read()
        if data.startswith(LFS_POINTER):
            raise InputError(f"{path} at {at} is a Git LFS pointer; Signoff reads committed files only, "
                             f"so commit the file itself (or use the files source on a checkout)")
        return data


def authors_of(commits: list[git.Commit]) -> dict[str, str]:
    """identity -> how (author, committer, co-author) over `commits`."""
    authors, committers, co = {}, {}, {}
    for c in commits:
        if c.author.email:
            authors[c.author.email] = AUTHOR
        if c.committer.email:
            committers[c.committer.email] = COMMITTER
        for m in CO_AUTHORED.finditer(c.message or ""):
            email = _email_in(m.group("who"))
            if email:
                co[email] = CO_AUTHOR
    return merge_authors(authors, committers, co)


def _with_sets(config: ProjectConfig, added) -> ProjectConfig:
    from dataclasses import replace

    return replace(config, eval_sets=(*config.eval_sets, *added))


def _email_in(text: str) -> str:
    m = EMAIL_IN.search(text or "")
    return (m.group(1) or m.group(2)).strip().lower() if m else ""


def _branch_name(ref: str) -> str:
    """'refs/heads/main' or 'origin/main' or 'refs/remotes/origin/main' -> 'main'."""
    for prefix in ("refs/heads/", "refs/remotes/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            if prefix == "refs/remotes/":
                ref = ref.split("/", 1)[-1]
            return ref
    return ref.split("/", 1)[-1] if "/" in ref else ref


def _head_commit(ref) -> git.Commit | None:
    """The commit a ref points at, or None if the ref does not exist or is broken."""
    try:
        return ref.commit
    except (ValueError, TypeError, OSError, BadName, BadObject):
        return None


def _head_sha(ref) -> str | None:
    commit = _head_commit(ref)
    return commit.hexsha if commit is not None else None
