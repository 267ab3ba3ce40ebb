"""The domain words as types: see docs/architecture.md for the glossary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only in annotations: `signoff --version`, `--help` and the start-up window need
    import pandas as pd  # neither pandas nor msgspec (issue 16)

    from .config import EvalSetSpec, ProjectConfig


class ChangeClass(StrEnum):
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    IMPROVED = "improved"
    REGRESSED = "regressed"
    MISSING = "missing"


# Worst first: the order the sample table opens in.
SEVERITY = {
    ChangeClass.REGRESSED: 0,
    ChangeClass.MISSING: 1,
    ChangeClass.CHANGED: 2,
    ChangeClass.IMPROVED: 3,
    ChangeClass.UNCHANGED: 4,
}


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class DecisionKind(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request-changes"
    REJECT = "reject"


class Verdict(StrEnum):
    """A reviewer's judgement of one sample (keys 1-4)."""

    CANDIDATE = "candidate"
    BASELINE = "baseline"
    TIE = "tie"
    BOTH_WRONG = "both-wrong"


@dataclass
class EvalSetData:
    """One eval set as a source delivers it, before comparison.

    samples:   id (str), input, reference (optional), slice columns
    baseline / candidate: id (str), output, score (float, NaN if not given);
               image sets also carry output_bytes (the file's bytes)
    """

    spec: EvalSetSpec
    samples: pd.DataFrame
    baseline: pd.DataFrame
    candidate: pd.DataFrame
    content_hash: str
    warnings: list[str] = field(default_factory=list)
    # side ("baseline"/"candidate") -> ids whose score was NaN or infinite, given no
    # score at all (not even one derived from the reference): non_finite_scores = "as-missing"
    no_score: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalSetFiles:
    """One eval set as local files, not read: what a source hands the out-of-core engine
    (app/service/file_inputs.py) instead of an EvalSetData. The files are as the eval set's
    spec describes them (its columns are mapped by the engine, as the loaders map them).
    `sample_columns`: the only columns of `samples` that count (None: all), e.g. id and input
    when the samples come from a predictions file."""

    spec: EvalSetSpec
    samples: str
    baseline: str
    candidate: str
    content_hash: str
    sample_columns: tuple[str, ...] | None = None


@dataclass
class LoadedInput:
    """Everything a source loaded for one review request."""

    config: ProjectConfig
    source: str                      # plugin name, e.g. "git"
    locator: dict                    # how to find it again, e.g. {"repo": "/path"}
    candidate_ref: str               # resolved (a full SHA for git)
    baseline_ref: str
    candidate_author: str            # e-mail of the candidate's author (self-approval)
    eval_sets: list[EvalSetData]
    title: str = ""                  # e.g. the commit subject
    config_text: str = ""            # signoff.toml as read at the protected base (stored with the request)
    # Trust (docs/trust.md). The candidate's own signoff.toml when it differs from the base's
    # (shown as a diff, never applied); every author, committer and co-author of the commits
    # between base and candidate (no self-approval); the text of [signers] allowed_signers
    # read at the base revision ("" when the policy names none).
    candidate_config_text: str = ""
    authors: tuple[str, ...] = ()
    allowed_signers_text: str = ""
    # identity (lower case) -> how it is tied to the candidate: "author", "committer", "co-author"
    # (app/core/policy_change.py); the refusal names it. Empty: every one of `authors` is an author.
    author_kinds: dict[str, str] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        from .hashing import combine_hashes

        return combine_hashes([f"{e.spec.name}:{e.content_hash}" for e in self.eval_sets])


@dataclass(frozen=True)
class Label:
    request_id: int
    eval_set: str
    sample_id: str
    user: str
    verdict: Verdict | None = None
    correct: bool | None = None
    error: str | None = None
    comment: str | None = None
    updated_at: datetime | None = None
    statement_id: int | None = None   # the signed labels statement that set it (docs/trust.md); None: unsigned

    @property
    def is_empty(self) -> bool:
        return self.verdict is None and self.correct is None and not self.error and not self.comment


@dataclass(frozen=True)
class Decision:
    user: str
    role: str
    kind: DecisionKind
    content_hash: str
    comment: str = ""
    created_at: datetime | None = None
    request_id: int | None = None
    sha: str = ""
    # Trust (docs/trust.md): the SSHSIG over the signed statement, and whether the service
    # verified it against the keys the request's policy lists for `user`. Only verified
    # decisions count; `not_counted` says why one does not ("unsigned", "key not listed", ...).
    signature: str = ""
    verified: bool = False
    not_counted: str = ""
    statement: str = ""          # the signed "signoff/decision/v1" statement, canonical JSON
    key_fingerprint: str = ""    # of the key that signed it, when verified
    # The forge identity check (docs/trust.md "Forge identity check"): where a forge token is
    # configured, its account must be the decider. IDENTITY_* below; "" = no token, no check.
    identity: str = ""
    identity_forge: str = ""     # "github", ...: whose token the check is against
    identity_note: str = ""      # what the check found (refused: whose token it is; skipped: why)
    identity_token: str = ""     # a tag of the token the decision was made with (never the token)
    id: int | None = None        # the store's row id


IDENTITY_UNCHECKED = "unchecked"   # the forge could not be reached: does not count until checked
IDENTITY_CHECKED = "checked"       # the token's account is the decider
IDENTITY_REFUSED = "refused"       # the token's account is someone else: never counts
IDENTITY_SKIPPED = "skipped"       # the only token is for another host: no check (and it says so)
