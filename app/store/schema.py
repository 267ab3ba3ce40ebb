"""The tables of the review store (SQLAlchemy 2 ORM). The migration in
migrations/versions must match this file: a test compares them."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        String, Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so migrations on SQLite (batch mode) and PostgreSQL agree.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on both backends.

    SQLite has no time zones: values are stored as naive UTC text (which also
    sorts and compares correctly); PostgreSQL stores timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Request(Base):
    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha: Mapped[str] = mapped_column(String(255), index=True)
    change_key: Mapped[str] = mapped_column(String(500), index=True)
    source: Mapped[str] = mapped_column(String(100))
    locator: Mapped[dict] = mapped_column(JSON)
    baseline_ref: Mapped[str] = mapped_column(Text)
    candidate_ref: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    config_toml: Mapped[str] = mapped_column(Text)   # signoff.toml at the protected base: the request's policy
    eval_sets: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # 0002_policy_base: the candidate's own signoff.toml ("" when the same as the base's; never applied),
    # identity -> how it is tied to the candidate's commits, and [signers] allowed_signers read at the base.
    candidate_config_toml: Mapped[str] = mapped_column(Text, server_default="")
    authors: Mapped[dict] = mapped_column(JSON, server_default="{}")
    allowed_signers: Mapped[str] = mapped_column(Text, server_default="")
    # {user: [OpenSSH public key lines]} the request's policy lists, resolved when it was made
    reviewer_keys: Mapped[dict | None] = mapped_column(JSON)
    # 0008_inspections: "review", or "inspection" (a sample of production predictions; sha "", no commit);
    # 0009b_request_refs: or "comparison" (two refs compared about no commit, e.g. browsing MLflow; sha "");
    # 0011_local_refs: a local review (`signoff review A B`, no policy) is one too
    kind: Mapped[str] = mapped_column(String(20), server_default="review")


class InspectionRow(Base):
    """One periodic inspection (0008_inspections): what was sampled and its latest estimate."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), unique=True)
    subject: Mapped[str] = mapped_column(String(500), index=True)   # models:/M@alias, experiment:E, files:PATH
    source: Mapped[str] = mapped_column(String(20))                 # mlflow / files
    tracking_uri: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(255))
    alias: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(50))
    experiment: Mapped[str] = mapped_column(String(500))
    files: Mapped[str] = mapped_column(Text)
    since: Mapped[str] = mapped_column(String(50))
    sample_size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    population: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float] = mapped_column(Float)
    errors: Mapped[int | None] = mapped_column(Integer)
    labeled: Mapped[int | None] = mapped_column(Integer)
    error_rate: Mapped[float | None] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    estimated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Comparison(Base):
    __tablename__ = "comparisons"
    __table_args__ = (UniqueConstraint("request_id", "eval_set"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    eval_set: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict] = mapped_column(JSON)
    # Before 0009: the per-sample table as a blob (Arrow IPC, or Parquet in the first stores;
    # app/store/frames.py; the column's name is from when it held Parquet). Still read.
    table_data: Mapped[bytes | None] = mapped_column("table_parquet", LargeBinary, nullable=True)
    # 0009_comparison_files: the table as a Parquet file named by its SHA-256, where every
    # reviewer reaches it (app/store/comparison_files.py); NULL for a blob comparison.
    table_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    table_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LabelRow(Base):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("request_id", "eval_set", "sample_id", "user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    eval_set: Mapped[str] = mapped_column(String(255))
    sample_id: Mapped[str] = mapped_column(String(500))
    user_name: Mapped[str] = mapped_column(String(255))  # "user" is reserved in PostgreSQL
    verdict: Mapped[str | None] = mapped_column(String(20))
    correct: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The signed batch that last set this label (None: unsigned, never counts)
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("label_statements.id", ondelete="SET NULL"))


class LabelStatement(Base):
    """One signed "signoff/labels/v1" statement: a batch of labels (docs/trust.md)."""

    __tablename__ = "label_statements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    user_name: Mapped[str] = mapped_column(String(255))
    statement: Mapped[str] = mapped_column(Text)          # canonical JSON: exactly the signed bytes
    signature: Mapped[str] = mapped_column(Text)          # armored SSHSIG
    key_fingerprint: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AssignmentRow(Base):
    """One sample dealt to one reviewer of one required role (0007_assignments; app/core/assignment.py)."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("request_id", "role", "eval_set", "sample_id", "user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(100))
    eval_set: Mapped[str] = mapped_column(String(255))
    sample_id: Mapped[str] = mapped_column(String(500))
    user_name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer)      # the place in the dealing order
    seed: Mapped[int] = mapped_column(BigInteger)       # the request's dealing seed


class KeptVerdict(Base):
    """What the policy said about a request at a point of the audit log, signed by the installation
    that computed it (0010_verdict; app/core/kept_verdict.py): `status` reads it instead of
    re-evaluating. A cache, not audited and never an input: a row that does not verify is ignored."""

    __tablename__ = "kept_verdicts"

    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)     # the installation key's fingerprint
    audit_count: Mapped[int] = mapped_column(BigInteger)                # the head it was computed at
    audit_hash: Mapped[str] = mapped_column(String(64))
    statement: Mapped[str] = mapped_column(Text)                        # canonical JSON: exactly the signed bytes
    signature: Mapped[str] = mapped_column(Text)                        # armored SSHSIG
    kept_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ForgeKeys(Base):
    """The signing keys a forge publishes for a login (github:LOGIN in [signers.keys]), cached."""

    __tablename__ = "forge_keys"
    __table_args__ = (UniqueConstraint("forge", "api_url", "login"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    forge: Mapped[str] = mapped_column(String(20))
    api_url: Mapped[str] = mapped_column(String(500))
    login: Mapped[str] = mapped_column(String(255))
    keys: Mapped[list] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DecisionRow(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    user_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Trust (docs/trust.md): the signed statement, its SSHSIG and the key that made it
    statement: Mapped[str] = mapped_column(Text, server_default="")
    signature: Mapped[str] = mapped_column(Text, server_default="")
    key_fingerprint: Mapped[str] = mapped_column(String(100), server_default="")
    # The forge identity check (migration 0006_identity_check): state, forge, what it found,
    # and a tag of the token it was made with (a re-check uses only that same token)
    identity_check: Mapped[str] = mapped_column(String(20), server_default="")
    identity_forge: Mapped[str] = mapped_column(String(32), server_default="")
    identity_note: Mapped[str] = mapped_column(Text, server_default="")
    identity_token: Mapped[str] = mapped_column(String(64), server_default="")


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_target", "state", "target"), UniqueConstraint("target", "seq"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"))
    sink: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(500), index=True)
    # Order within the target: 1, 2, 3, ... assigned in the enqueueing transaction (under the
    # audit head lock every enqueuer holds); the highest is the newest state of the target.
    seq: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))          # waiting / delivered / superseded / failed
    attempts: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the last check before the post (Store.begin_post): the entry is on its way to the
    # sink; while its lease lasts, no other entry of the target is posted beside it.
    post_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text)


class LocalStatus(Base):
    __tablename__ = "local_statuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo: Mapped[str] = mapped_column(Text)
    sha: Mapped[str] = mapped_column(String(255), index=True)
    context: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    target_url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(100))
    # No foreign key: the log outlives whatever it talks about.
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Canonical JSON text, exactly what the hash covered.
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The installation's SSHSIG over the entry and its key's fingerprint (0005_audit_record).
    signature: Mapped[str | None] = mapped_column(Text)
    key: Mapped[str | None] = mapped_column(String(100))


class AuditHead(Base):
    """One row: how many entries the log holds and the last hash, so cutting
    off the tail of the log is detected too. Appenders lock this row."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


HEAD_ID = 1
