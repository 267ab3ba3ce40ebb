"""Plain records the store hands out (no ORM objects escape the store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RequestRecord:
    id: int
    sha: str                  # the candidate commit (full SHA or ref as given)
    change_key: str           # requests of the same change share it (branch / PR); stale logic spans them
    source: str               # source plugin name
    locator: dict             # JSON arguments that rebuild the source
    baseline_ref: str
    candidate_ref: str
    title: str
    author: str               # candidate author e-mail
    content_hash: str
    config_toml: str          # signoff.toml text at the protected base: the request's policy
    eval_sets: list[str]
    status: str               # pending / approved / rejected (last evaluated)
    description: str          # last status description (<= 140 chars)
    created_at: datetime
    created_by: str = ""
    candidate_config_toml: str = ""   # the candidate's own signoff.toml when it differs (shown, never applied)
    authors: dict = field(default_factory=dict)   # identity -> "author" / "committer" / "co-author" (no self-approval)
    allowed_signers: str = ""         # [signers] allowed_signers as read at the base ("" if none)
    reviewer_keys: dict = field(default_factory=dict)   # {user: [OpenSSH public key lines]} (docs/trust.md)
    kind: str = "review"              # or "inspection" / "comparison": about no commit (sha ""), see InspectionRecord


@dataclass(frozen=True)
class NewRequest:
    sha: str
    change_key: str
    source: str
    locator: dict
    baseline_ref: str
    candidate_ref: str
    title: str
    author: str
    content_hash: str
    config_toml: str
    eval_sets: list[str]
    created_by: str = ""
    candidate_config_toml: str = ""
    authors: dict = field(default_factory=dict)
    allowed_signers: str = ""
    reviewer_keys: dict = field(default_factory=dict)
    kind: str = "review"


@dataclass(frozen=True)
class SignedStatement:
    """A statement (canonical JSON text, exactly the signed bytes), its armored SSHSIG and the
    fingerprint of the key that made it."""

    text: str
    signature: str
    fingerprint: str


@dataclass(frozen=True)
class OutboxEntry:
    """A status to post (or any write-back) waiting in the outbox."""

    sink: str                 # plugin name: local, github, ...
    target: str               # dedupe key: a newer entry with the same target supersedes older ones
    payload: dict             # what the sink needs (StatusUpdate fields + sink options such as api_url)
    request_id: int | None = None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    sink: str
    target: str
    payload: dict
    request_id: int | None
    state: str                # waiting / delivered / superseded / failed
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str = ""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    request_id: int | None
    payload: dict
    prev_hash: str
    hash: str
    signature: str | None = None    # the installation's SSHSIG over the entry (app/core/audit.py entry_body)
    key: str | None = None          # its key's fingerprint (announced by an 'installation.key' entry)


@dataclass
class AuditReport:
    ok: bool
    entries: int
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)   # what was compared: tables, signatures, anchors
    notes: list[str] = field(default_factory=list)     # what could not be checked, and why


@dataclass(frozen=True)
class InspectionRecord:
    """One periodic inspection (app/service/inspection.py): what was sampled, and its latest estimate."""

    request_id: int
    subject: str              # models:/M@alias, experiment:NAME, files:PATH (the trend groups by it)
    source: str               # mlflow / files
    tracking_uri: str = ""
    model: str = ""
    alias: str = ""
    version: str = ""         # the model version in production when sampled
    experiment: str = ""
    files: str = ""
    since: str = ""
    sample_size: int = 0
    seed: int = 0
    population: int = 0       # predictions in the window the sample was drawn from
    method: str = "wilson"
    confidence: float = 0.95
    errors: int | None = None
    labeled: int | None = None
    error_rate: float | None = None
    low: float | None = None
    high: float | None = None
    created_at: datetime | None = None
    estimated_at: datetime | None = None
