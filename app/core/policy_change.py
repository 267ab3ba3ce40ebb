"""A candidate's change to signoff.toml, and who wrote the candidate (docs/trust.md).

Pure: the request's policy is the text at the protected base; the candidate's own
text is only compared with it. A change never applies to the request that carries
it; it blocks the request until a policy owner ([policy] owners of the BASE policy)
approves it in the role POLICY_OWNER. A candidate may add eval sets (compared in
addition); removing or repointing one of the base's is part of the change.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from .config import EvalSetSpec, ProjectConfig, parse_config
from .errors import SignoffError

POLICY_OWNER = "policy-owner"   # the decision role of a policy owner
CHANGE_ITEM = "signoff.toml changed"
# What makes an eval set "the same set" for review: where its data is and how it is read.
# `extra`: the source plugins' own keys (e.g. MLflow's table / traces / dataset).
_POINTING = ("samples", "predictions", "extra", "output_type", "id_column", "input_column",
             "reference_column", "output_column", "score_column", "higher_is_better")

# How an identity is tied to a candidate commit, as the words of a refusal.
AUTHOR, COMMITTER, CO_AUTHOR, FORGE_LOGIN = "author", "committer", "co-author", "forge login"


@dataclass(frozen=True)
class PolicyChange:
    """The candidate's signoff.toml against the base's."""

    diff: str = ""                                   # unified diff, base -> candidate ("" when the same)
    added_sets: tuple[str, ...] = ()                 # new eval sets: compared in addition
    removed_sets: tuple[str, ...] = ()               # base sets the candidate drops (still compared)
    repointed_sets: tuple[str, ...] = ()             # base sets the candidate points elsewhere (base's definition used)
    candidate_error: str = ""                        # the candidate's text does not parse (shown, never applied)

    @property
    def changed(self) -> bool:
        return bool(self.diff)

    def summary(self) -> str:
        """One line: what the change does to the eval sets, for headers and `show`."""
        parts = []
        if self.added_sets:
            parts.append("adds " + ", ".join(self.added_sets))
        if self.removed_sets:
            parts.append("removes " + ", ".join(self.removed_sets))
        if self.repointed_sets:
            parts.append("repoints " + ", ".join(self.repointed_sets))
        if self.candidate_error:
            parts.append("does not parse")
        return "; ".join(parts)


def policy_diff(base_text: str, candidate_text: str) -> str:
    if not candidate_text or candidate_text == base_text:
        return ""
    lines = difflib.unified_diff(base_text.splitlines(keepends=True), candidate_text.splitlines(keepends=True),
                                 fromfile="signoff.toml (base)", tofile="signoff.toml (candidate)")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def parse_candidate(candidate_text: str) -> tuple[ProjectConfig | None, str]:
    """The candidate's config, or (None, why not): a broken candidate file is shown, never fatal."""
    try:
        return parse_config(candidate_text, "signoff.toml (candidate)"), ""
    except SignoffError as exc:
        return None, str(exc)


def compare_policies(base: ProjectConfig, base_text: str, candidate_text: str) -> PolicyChange:
    """What the candidate's text changes. "" or the same text: no change."""
    diff = policy_diff(base_text, candidate_text)
    if not diff:
        return PolicyChange()
    cand, error = parse_candidate(candidate_text)
    if cand is None:
        return PolicyChange(diff=diff, candidate_error=error)
    base_sets = {s.name: s for s in base.eval_sets}
    cand_sets = {s.name: s for s in cand.eval_sets}
    return PolicyChange(
        diff=diff,
        added_sets=tuple(n for n in cand_sets if n not in base_sets),
        removed_sets=tuple(n for n in base_sets if n not in cand_sets),
        repointed_sets=tuple(n for n in base_sets if n in cand_sets and _pointing(base_sets[n]) != _pointing(cand_sets[n])),
    )


def added_specs(base: ProjectConfig, candidate_text: str) -> list[EvalSetSpec]:
    """The candidate's eval sets the base does not have (reviewed in addition)."""
    if not candidate_text:
        return []
    cand, _ = parse_candidate(candidate_text)
    if cand is None:
        return []
    known = {s.name for s in base.eval_sets}
    return [s for s in cand.eval_sets if s.name not in known]


def _pointing(spec: EvalSetSpec) -> tuple:
    return tuple(getattr(spec, f) for f in _POINTING) + (tuple(spec.slices),)


# -- authors ------------------------------------------------------------------------------

def author_reason(user: str, authors: Collection[str] | Mapping[str, str]) -> str:
    """Why `user` may not approve ("" when they may): they wrote, committed or co-wrote a candidate commit."""
    u = (user or "").strip().lower()
    if not u:
        return ""
    how = ""
    if isinstance(authors, Mapping):
        for who, kind in authors.items():
            if who and who.strip().lower() == u:
                how = kind or AUTHOR
                break
    elif any(who and who.strip().lower() == u for who in authors):
        how = AUTHOR
    if not how:
        return ""
    if how == CO_AUTHOR:
        return f"{user} co-authored a candidate commit (Co-authored-by) and may not approve it (policy.no_self_approval)"
    if how == COMMITTER:
        return f"{user} committed a candidate commit and may not approve it (policy.no_self_approval)"
    if how == FORGE_LOGIN:
        return f"{user} is the forge account of a candidate commit's author and may not approve it (policy.no_self_approval)"
    return f"{user} is the author of the candidate and may not approve it (policy.no_self_approval)"


def merge_authors(*sources: Mapping[str, str]) -> dict[str, str]:
    """One map identity (lower case) -> how; the first, strongest tie wins (author before committer...)."""
    out: dict[str, str] = {}
    for src in sources:
        for who, how in src.items():
            key = (who or "").strip().lower()
            if key and key not in out:
                out[key] = how
    return out
