"""The review store: one class, every method one transaction.

Signatures and docstrings are the contract the service layer and the UI use.
Writes that change what a review says are audited: each such transaction
first locks the audit head (see audit_log.py), then does its work, then
appends its entry, so the log and the data commit together or not at all.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from dataclasses import asdict, fields, replace
from datetime import datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from signoff.core.audit import _ts as audit_ts, label_row
from signoff.core.errors import InputError, NotFoundError
from signoff.core.hashing import sha256_bytes
from signoff.core.model import (IDENTITY_CHECKED, IDENTITY_REFUSED, IDENTITY_UNCHECKED, Decision, DecisionKind, Label,
                             Verdict)

from . import audit_log, outbox as ob
from .db import DB_FILE, READ_ONLY, StoreUnavailable, data_dir, describe, make_engine, mask, resolve_url, sqlite_path
from .migrate import upgrade
from .records import AuditEntry, AuditReport, InspectionRecord, NewRequest, OutboxEntry, OutboxItem, RequestRecord, SignedStatement
from .schema import (HEAD_ID, AssignmentRow, AuditHead, Comparison, DecisionRow, ForgeKeys, InspectionRow, KeptVerdict,
                     LabelRow, LabelStatement, LocalStatus, OutboxRow, Request, utcnow)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from .comparison_files import ComparisonPages

# frames.py (pandas, pyarrow) is imported by the two methods that move comparisons: opening the
# store, reading a request or its status imports neither (issue 16, `signoff status` start-up).

SYSTEM_ACTOR = "signoff"
LABEL_KEY = ["request_id", "eval_set", "sample_id", "user_name"]


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def _request_record(r: Request) -> RequestRecord:
    return RequestRecord(
        id=r.id, sha=r.sha, change_key=r.change_key, source=r.source, locator=r.locator,
        baseline_ref=r.baseline_ref, candidate_ref=r.candidate_ref, title=r.title, author=r.author,
        content_hash=r.content_hash, config_toml=r.config_toml, eval_sets=list(r.eval_sets), status=r.status,
        description=r.description, created_at=r.created_at, created_by=r.created_by,
        candidate_config_toml=r.candidate_config_toml or "", authors=dict(r.authors or {}),
        allowed_signers=r.allowed_signers or "",
        reviewer_keys=dict(r.reviewer_keys or {}), kind=r.kind or "review",
    )


def _inspection_record(r: InspectionRow) -> InspectionRecord:
    return InspectionRecord(**{f.name: getattr(r, f.name) for f in fields(InspectionRecord)})


def _same_figure(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)))


def _inspection_audit(i: InspectionRecord) -> dict:
    return {k: v for k, v in asdict(i).items() if k not in ("request_id", "created_at", "estimated_at")}


def _label(row: LabelRow) -> Label:
    return Label(request_id=row.request_id, eval_set=row.eval_set, sample_id=row.sample_id, user=row.user_name,
                 verdict=Verdict(row.verdict) if row.verdict else None, correct=row.correct, error=row.error,
                 comment=row.comment, updated_at=row.updated_at, statement_id=row.statement_id)


def _label_values(label: Label, at: datetime) -> dict:
    return {"request_id": label.request_id, "eval_set": label.eval_set, "sample_id": str(label.sample_id),
            "user_name": label.user, "verdict": Verdict(label.verdict).value if label.verdict else None,
            "correct": label.correct, "error": label.error or None, "comment": label.comment or None,
            "updated_at": at, "statement_id": label.statement_id}


def _label_audit(label: Label) -> dict:
    return {"eval_set": label.eval_set, "sample_id": str(label.sample_id),
            "verdict": Verdict(label.verdict).value if label.verdict else None, "correct": label.correct,
            "error": label.error or None, "comment": label.comment or None}


def _label_log_row(label: Label) -> list:
    """One label as the log keeps it in a batch (app/core/audit.py label_row)."""
    return label_row(label.request_id, label.eval_set, label.sample_id, label.user,
                     Verdict(label.verdict).value if label.verdict else None, label.correct, label.error,
                     label.comment)


def _decision(d: DecisionRow, sha: str) -> Decision:
    return Decision(user=d.user_name, role=d.role, kind=DecisionKind(d.kind), content_hash=d.content_hash,
                    comment=d.comment, created_at=d.created_at, request_id=d.request_id, sha=sha,
                    statement=d.statement or "", signature=d.signature or "", key_fingerprint=d.key_fingerprint or "",
                    identity=d.identity_check or "", identity_forge=d.identity_forge or "",
                    identity_note=d.identity_note or "", identity_token=d.identity_token or "", id=d.id)


def _identity_audit(d: Decision) -> dict:
    """The forge identity check of a decision as its audit entry records it (only when one applies)."""
    if not d.identity:
        return {}
    return {"identity": d.identity, "identity_forge": d.identity_forge, "identity_note": d.identity_note}


def _status_of(verdict) -> tuple[str, str]:
    """(status, description) of what an `evaluate` callback returned (a PolicyVerdict)."""
    status = verdict.status
    return str(getattr(status, "value", status)), verdict.description


def _outbox_item(row: OutboxRow) -> OutboxItem:
    return OutboxItem(id=row.id, sink=row.sink, target=row.target, payload=row.payload, request_id=row.request_id,
                      state=row.state, attempts=row.attempts, created_at=row.created_at,
                      next_attempt_at=row.next_attempt_at, delivered_at=row.delivered_at,
                      last_error=row.last_error or "")


def _sha_filter(column, sha: str):
    sha = sha.strip()
    # A prefix only from 7 characters on, like git's short SHAs; shorter must match exactly.
    # substr, not LIKE: case-sensitive and wildcard-free on both backends.
    return func.substr(column, 1, len(sha)) == sha if len(sha) >= 7 else column == sha


# The keystroke path's statements, built once (Store.change_label).
_LABEL_KEY_WHERE = (LabelRow.request_id == bindparam("k_request"), LabelRow.eval_set == bindparam("k_eval_set"),
                    LabelRow.sample_id == bindparam("k_sample"), LabelRow.user_name == bindparam("k_user"))
_LABEL_FIELDS = select(LabelRow.verdict, LabelRow.correct, LabelRow.error, LabelRow.comment).where(*_LABEL_KEY_WHERE)
_REQUEST_EXISTS = select(Request.id).where(Request.id == bindparam("k_request"))
_DELETE_LABEL = delete(LabelRow).where(*_LABEL_KEY_WHERE)
_UPSERTS: dict[str, object] = {}
# The audit head row, locked by a write that appends nothing (Store.begin_post).
_HEAD_LOCK = select(AuditHead.id).where(AuditHead.id == HEAD_ID).with_for_update()


def _upsert_label_statement(dialect: str):
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        ins = (postgresql if dialect == "postgresql" else sqlite).insert(LabelRow)
        stmt = _UPSERTS[dialect] = ins.on_conflict_do_update(
            index_elements=LABEL_KEY,
            set_={c: ins.excluded[c] for c in ("verdict", "correct", "error", "comment", "updated_at", "statement_id")})
    return stmt


class Store:
    """Safe to share between threads: every call runs in its own session and transaction."""

    def __init__(self, url: str | None = None, *, migrate: bool = True, comparisons: str | None = None):
        """Open the store at `url` (SQLAlchemy URL). None: SIGNOFF_DATABASE_URL, else a
        SQLite file `signoff.db` in the user data dir (SIGNOFF_HOME if set, else
        platformdirs.user_data_dir("signoff")). SQLite: WAL, foreign_keys=ON,
        busy_timeout. `postgresql://` URLs use the psycopg (v3) driver.
        With migrate=True, runs alembic upgrade head (creating the schema).
        `comparisons`: where new comparison files go (a path or URI; None: SIGNOFF_COMPARISONS,
        the settings' store.comparisons, else `comparisons/` next to the SQLite file or in
        the data dir; app/store/comparison_files.py)."""
        self._url = resolve_url(url)
        self.url = mask(self._url)
        self._comparisons = comparisons
        # Signs every audit entry this process writes (SIGNOFF_HOME/installation_ed25519, made on first use).
        self._installation = audit_log.Installation()
        self._engine = make_engine(self._url)
        self._read_engine = self._engine.execution_options(**{READ_ONLY: True})
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)
        snapshot = (self._read_engine.execution_options(isolation_level="REPEATABLE READ")
                    if self._url.get_backend_name() == "postgresql" else self._read_engine)
        self._snapshot_sessions = sessionmaker(snapshot, expire_on_commit=False)
        try:
            if migrate:
                upgrade(self._engine, self.describe())
            else:
                with self._engine.connect():
                    pass
        except (OperationalError, DatabaseError) as exc:
            self._engine.dispose()
            raise StoreUnavailable(f"cannot open the review store {self.describe()}: {_first_line(exc)}") from None
        except BaseException:
            self._engine.dispose()
            raise

    url: str  # the resolved URL, password masked when shown

    def comparisons_location(self) -> str | None:
        """The URI new comparison files are written under; None: in the database itself. A
        PostgreSQL store with no location configured keeps them in the database, the one place
        every reviewer reaches (files in CI's own data folder would be missing for everyone else)."""
        from .comparison_files import configured_location, resolve_location

        db_file = sqlite_path(self._url)
        if db_file is None and not configured_location(self._comparisons):
            return None
        default = (db_file.parent if db_file is not None else data_dir()) / "comparisons"
        return resolve_location(self._comparisons, default)

    def comparison_scratch(self) -> str | None:
        """Where an engine that writes its own comparison file (out of core) should write it: a
        folder on the comparisons' filesystem, so add_request renames it into place rather than
        copying gigabytes (and not /tmp, often a RAM disk); None: anywhere (the system's temp)."""
        from .comparison_files import ComparisonFiles

        location = self.comparisons_location()
        return ComparisonFiles(location).scratch_dir() if location is not None else None

    def describe(self) -> str:
        """'local (/path/signoff.db)' or 'postgresql://user@host/db' (no password)."""
        return describe(self._url)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.describe()})"

    # -- transactions -----------------------------------------------------
    @contextmanager
    def _transaction(self, sessions: sessionmaker):
        try:
            with sessions.begin() as s:
                yield s
        except BaseException as exc:
            self._installation.announced = False   # a rolled-back announcement: look again next time
            if isinstance(exc, OperationalError):  # server gone, file locked past busy_timeout, disk full
                raise StoreUnavailable(f"the review store {self.describe()} failed: {_first_line(exc)}") from None
            raise

    def _write(self):
        return self._transaction(self._sessions)

    def _read(self):
        return self._transaction(self._read_sessions)

    def _snapshot(self):
        """A read whose statements all see one snapshot: SQLite's read transactions
        already do; PostgreSQL's default (READ COMMITTED) does not."""
        return self._transaction(self._snapshot_sessions)

    @staticmethod
    def _require_request(s: Session, request_id: int) -> Request:
        row = s.get(Request, request_id)
        if row is None:
            raise NotFoundError(f"no review request {request_id}")
        return row

    @staticmethod
    def _enqueue(db: Session | Connection, entries: list[OutboxEntry], request_id: int | None,
                 now: datetime) -> None:
        """Insert outbox rows, each with the next sequence number of its target. Every caller
        holds the audit head lock (the first thing each audited write takes), so no two
        transactions number the same target at once."""
        if entries:
            seqs = ob.next_seqs(db, [e.target for e in entries])
            rows = []
            for e in entries:
                rows.append({"request_id": e.request_id if e.request_id is not None else request_id,
                             "sink": e.sink, "target": e.target, "seq": seqs[e.target], "payload": e.payload,
                             "state": ob.WAITING, "attempts": 0, "created_at": now, "last_error": ""})
                seqs[e.target] += 1
            db.execute(insert(OutboxRow), rows)

    @staticmethod
    def _lock_request(s: Session, request_id: int) -> Request:
        """The request row, locked for the rest of the transaction (PostgreSQL: FOR UPDATE;
        SQLite: the write transaction is already IMMEDIATE). Taken after the audit head."""
        row = s.execute(select(Request).where(Request.id == request_id).with_for_update()
                        .execution_options(populate_existing=True)).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"no review request {request_id}")
        return row

    @staticmethod
    def _decisions_in(s: Session, change_key: str) -> list[Decision]:
        rows = s.execute(select(DecisionRow, Request.sha).join(Request, DecisionRow.request_id == Request.id)
                         .where(Request.change_key == change_key).order_by(DecisionRow.id))
        return [_decision(d, sha) for d, sha in rows]

    @staticmethod
    def _labels_in(s: Session, request_id: int) -> list[Label]:
        rows = s.scalars(select(LabelRow).where(LabelRow.request_id == request_id)
                         .order_by(LabelRow.eval_set, LabelRow.sample_id, LabelRow.user_name))
        return [_label(r) for r in rows]

    # -- requests -------------------------------------------------------
    def add_request(self, req: NewRequest, *, comparisons: list[tuple[str, dict, pd.DataFrame | pa.Table | PurePath]],
                    status: str, description: str, outbox: list[OutboxEntry], actor: str,
                    inspection: InspectionRecord | None = None, written: dict[str, str] | None = None) -> RequestRecord:
        """One transaction: insert the request, its comparisons (eval set name, summary
        dict, per-sample table: a DataFrame or an Arrow table, written as a Parquet file
        named by its hash, or a Path to such a file already written by the out-of-core
        engine; app/store/comparison_files.py), set its status, enqueue the
        outbox entries, append audit entry 'request.create'. `written` (a dict) receives
        {eval set: SHA-256 of the file written} for the tables written as files (the service
        keeps those tables for the window's open, app/service/review.py `_prime`)."""
        names = [name for name, _, _ in comparisons]
        if len(set(names)) != len(names):
            raise InputError(f"eval set names must be unique in a request: {', '.join(names)}")
        # Written before the transaction: no lock is held while Parquet is written. A file whose
        # transaction then fails stays behind, unreferenced (named by its hash: harmless).
        from .comparison_files import ComparisonFiles
        from .frames import as_table

        location = self.comparisons_location()
        if location is None:      # in the database (Arrow IPC, or the engine's Parquet file as it is)
            from .frames import frame_to_bytes

            blobs = [Path(table).read_bytes() if isinstance(table, PurePath) else frame_to_bytes(as_table(table))
                     for _, _, table in comparisons]
            stored = [(None, None)] * len(comparisons)
        else:
            files = ComparisonFiles(location)
            stored = [files.put_file(table, consume=True) if isinstance(table, PurePath) else files.put(as_table(table))
                      for _, _, table in comparisons]
            blobs = [None] * len(comparisons)
            if written is not None:
                written.update({name: sha for (name, _, _), (_uri, sha) in zip(comparisons, stored)})
        now = utcnow()
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            row = Request(sha=req.sha, change_key=req.change_key, source=req.source, locator=req.locator,
                          baseline_ref=req.baseline_ref, candidate_ref=req.candidate_ref, title=req.title,
                          author=req.author, content_hash=req.content_hash, config_toml=req.config_toml,
                          eval_sets=list(req.eval_sets), status=status, description=description, created_at=now,
                          created_by=req.created_by or actor, updated_at=now,
                          candidate_config_toml=req.candidate_config_toml, authors=dict(req.authors),
                          allowed_signers=req.allowed_signers,

                          reviewer_keys=dict(req.reviewer_keys or {}), kind=req.kind or "review")
            s.add(row)
            s.flush()
            if inspection is not None:   # a periodic inspection: what was sampled (app/service/inspection.py)
                values = {k: v for k, v in asdict(inspection).items() if k not in ("request_id", "created_at")}
                s.add(InspectionRow(request_id=row.id, created_at=now, **values))
            for position, ((name, summary, _), (uri, sha), blob) in enumerate(zip(comparisons, stored, blobs)):
                s.add(Comparison(request_id=row.id, eval_set=name, position=position, summary=summary,
                                 table_data=blob, table_uri=uri, table_sha256=sha))
            self._enqueue(s, outbox, row.id, now)
            log.append(actor=actor, action="request.create", request_id=row.id, at=now, payload={
                "sha": req.sha, "change_key": req.change_key, "source": req.source, "locator": req.locator,
                "baseline_ref": req.baseline_ref, "candidate_ref": req.candidate_ref,
                "content_hash": req.content_hash, "eval_sets": list(req.eval_sets), "status": status,
                "description": description, "authors": dict(req.authors),
                "policy_changed": bool(req.candidate_config_toml), "reviewer_keys": dict(req.reviewer_keys or {}),
                # what the policy, the candidate's proposal and the signers' file were, so `audit verify`
                # sees them rewritten in the table (app/core/audit.py replay)
                "policy_sha256": sha256_bytes((req.config_toml or "").encode()),
                "candidate_policy_sha256": sha256_bytes((req.candidate_config_toml or "").encode()),
                "allowed_signers_sha256": sha256_bytes((req.allowed_signers or "").encode()),
                **({"kind": req.kind, "inspection": _inspection_audit(inspection)} if inspection is not None else {})})
            return _request_record(row)

    def get_request(self, request_id: int) -> RequestRecord:
        """NotFoundError('no review request N') when absent."""
        with self._read() as s:
            return _request_record(self._require_request(s, request_id))

    def list_requests(self) -> list[RequestRecord]:
        """Newest first."""
        with self._read() as s:
            return [_request_record(r) for r in s.scalars(select(Request).order_by(Request.id.desc()))]

    def requests_for_sha(self, sha: str) -> list[RequestRecord]:
        """Requests whose sha equals or starts with `sha` (>= 7 chars), newest first."""
        with self._read() as s:
            rows = s.scalars(select(Request).where(_sha_filter(Request.sha, sha), Request.kind != "inspection")
                             .order_by(Request.id.desc()))   # an inspection is about no commit
            return [_request_record(r) for r in rows]

    # -- inspections (periodic review of production predictions) ----------
    def inspection(self, request_id: int) -> InspectionRecord | None:
        with self._read() as s:
            row = s.scalars(select(InspectionRow).where(InspectionRow.request_id == int(request_id))).first()
            return _inspection_record(row) if row is not None else None

    def inspections(self, subject: str | None = None) -> list[InspectionRecord]:
        """Oldest first (the trend), of one subject or all."""
        with self._read() as s:
            query = select(InspectionRow).order_by(InspectionRow.created_at, InspectionRow.id)
            if subject is not None:
                query = query.where(InspectionRow.subject == subject)
            return [_inspection_record(r) for r in s.scalars(query)]

    def record_inspection_estimate(self, request_id: int, estimate, *, outbox, actor: str,
                                   only_if_changed: bool = False) -> InspectionRecord:
        """Keep the inspection's estimate (errors, labeled, error_rate, low, high), enqueue its
        write-backs and append audit 'inspection.estimate', in one transaction.

        `estimate`: the dict, or a function of the request's labels as this transaction reads them
        (so two reviewers labeling at once never leave an estimate of fewer labels than are stored);
        `outbox`: the entries, or a function of the estimate. `only_if_changed`: nothing is written
        when the kept estimate is the same (a status refresh calls this after every label)."""
        now = utcnow()
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            row = s.scalars(select(InspectionRow).where(InspectionRow.request_id == int(request_id))).first()
            if row is None:
                raise NotFoundError(f"request {request_id} is not an inspection")
            if callable(estimate):
                estimate = estimate(self._labels_in(s, int(request_id)))
            keys = ("errors", "labeled", "error_rate", "low", "high")
            if only_if_changed:
                kept = {k: getattr(row, k) for k in keys}
                never = row.estimated_at is None and not estimate.get("labeled")
                if never or all(_same_figure(kept[k], estimate.get(k)) for k in keys):
                    return _inspection_record(row)
            for key in keys:
                setattr(row, key, estimate.get(key))
            row.estimated_at = now
            self._enqueue(s, outbox(estimate) if callable(outbox) else outbox, request_id, now)
            log.append(actor=actor, action="inspection.estimate", request_id=int(request_id), at=now,
                       payload={k: estimate.get(k) for k in ("errors", "labeled", "error_rate", "low", "high",
                                                             "method", "confidence")})
            s.flush()
            return _inspection_record(row)

    def requests_for_change(self, change_key: str) -> list[RequestRecord]:
        """Newest first."""
        with self._read() as s:
            rows = s.scalars(select(Request).where(Request.change_key == change_key).order_by(Request.id.desc()))
            return [_request_record(r) for r in rows]

    def set_status(self, request_id: int, status: str, description: str, *,
                   outbox: list[OutboxEntry], actor: str, audit_payload: dict | None = None) -> None:
        """Update the request's status/description, enqueue outbox entries, and append
        audit 'status.change' — in one transaction."""
        now = utcnow()
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            row = self._require_request(s, request_id)
            row.status, row.description, row.updated_at = status, description, now
            self._enqueue(s, outbox, request_id, now)
            log.append(actor=actor, action="status.change", request_id=request_id, at=now,
                       payload={"status": status, "description": description, **(audit_payload or {})})

    def refresh_status(self, request_id: int, *, evaluate, outbox_for, actor: str,
                       audit_payload=None, keep=None):
        """Re-evaluate the request's status inside one write transaction, under the audit head
        lock and then a lock on the request row: `evaluate(decisions, labels)` gets every
        decision of the change (oldest first) and the request's labels as this transaction
        reads them, and returns a PolicyVerdict. When its status or description differs from
        the stored one: store it, enqueue `outbox_for(verdict)`, append audit 'status.change'
        (payload status, description and `audit_payload(verdict)` if given). When it is the
        same, nothing is written and nothing is queued. `keep`: as record_decision's (kept either
        way). Returns (verdict, changed)."""
        now = utcnow()
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            row = self._lock_request(s, request_id)
            verdict = evaluate(self._decisions_in(s, row.change_key), self._labels_in(s, request_id))
            status, description = _status_of(verdict)
            if (status, description) == (row.status, row.description):
                self._keep(s, log.head, row.id, row.sha, keep, verdict)
                return verdict, False
            row.status, row.description, row.updated_at = status, description, now
            self._enqueue(s, list(outbox_for(verdict)), request_id, now)
            log.append(actor=actor, action="status.change", request_id=request_id, at=now,
                       payload={"status": status, "description": description,
                                **(audit_payload(verdict) if audit_payload else {})})
            self._keep(s, log.head, row.id, row.sha, keep, verdict)
            return verdict, True

    # -- comparisons ----------------------------------------------------
    def comparison_summaries(self, request_id: int) -> dict[str, dict]:
        """{eval set name: summary dict}, in the request's eval set order."""
        with self._read() as s:
            self._require_request(s, request_id)
            rows = s.execute(select(Comparison.eval_set, Comparison.summary)
                             .where(Comparison.request_id == request_id).order_by(Comparison.position))
            return {name: summary for name, summary in rows}

    def load_comparison(self, request_id: int, eval_set: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        """The per-sample table (app/core/compare.py), text in Arrow-backed columns;
        `columns`: only these (decoding only them)."""
        from .frames import table_to_frame

        return table_to_frame(self.comparison_table(request_id, eval_set, columns=columns))

    def comparison_table(self, request_id: int, eval_set: str, *, columns: list[str] | None = None) -> pa.Table:
        """The per-sample table as stored (Arrow; `columns`: those of them it has). A file
        comparison is read after its hash is checked (ComparisonFileError otherwise)."""
        from .comparison_files import ComparisonFiles
        from .frames import bytes_to_table

        kind, source = self._comparison_source(request_id, eval_set)
        if kind == "blob":
            return bytes_to_table(source, columns)
        return ComparisonFiles.read(*source, columns)

    def comparison_arrow_bytes(self, request_id: int, eval_set: str) -> int:
        """About what the per-sample table takes decoded (a file's footer says; 0 for a blob
        comparison, which is read whole anyway): whether to open it whole or paged."""
        from .comparison_files import ComparisonFiles

        kind, source = self._comparison_source(request_id, eval_set)
        return 0 if kind == "blob" else ComparisonFiles.arrow_bytes(source[0])

    def comparison_pages(self, request_id: int, eval_set: str, *, check_while_reading: bool = False) -> ComparisonPages:
        """The per-sample table read by row group as needed (app/store/comparison_files.py):
        opening it reads only the file's footer, after its hash is checked, or with
        `check_while_reading` while it is checked on another thread (every read of the pages
        waits for it but ComparisonPages.resident(wait=False), the window's paged open). A blob
        comparison (stored before 0009) is decoded whole and paged in memory."""
        from .comparison_files import ComparisonFiles, ComparisonPages
        from .frames import bytes_to_table

        kind, source = self._comparison_source(request_id, eval_set)
        if kind == "blob":
            return ComparisonPages(bytes_to_table(source))
        if not check_while_reading:
            return ComparisonPages(ComparisonFiles.open(*source))
        source, check = ComparisonFiles.open_checking(*source)
        return ComparisonPages(source, check=check)

    def comparison_file_sha256(self, request_id: int, eval_set: str) -> str | None:
        """The SHA-256 the database keeps for a comparison stored as a file; None for a blob."""
        with self._read() as s:
            row = s.execute(select(Comparison.table_uri, Comparison.table_sha256)
                            .where(Comparison.request_id == request_id, Comparison.eval_set == eval_set)).first()
        return row[1] if row is not None and row[0] else None

    def _comparison_source(self, request_id: int, eval_set: str) -> tuple[str, object]:
        """("blob", bytes) or ("file", (uri, sha256)) of one stored comparison."""
        with self._read() as s:
            self._require_request(s, request_id)
            row = s.execute(select(Comparison.table_data, Comparison.table_uri, Comparison.table_sha256)
                            .where(Comparison.request_id == request_id, Comparison.eval_set == eval_set)).first()
        if row is None:
            raise NotFoundError(f"no eval set {eval_set!r} in review request {request_id}")
        blob, uri, sha = row
        return ("file", (uri, sha)) if uri else ("blob", blob)

    # -- labels -----------------------------------------------------------
    @staticmethod
    def _upsert_label_rows(db: Session | Connection, labels: list[Label], now: datetime) -> None:
        # The same key twice in one batch: the later label wins, as if saved one after the other.
        last = {(l.request_id, l.eval_set, str(l.sample_id), l.user): l for l in labels}
        labels = list(last.values())
        db = db.connection() if isinstance(db, Session) else db   # executemany: plain statements
        gone = [{"k_request": l.request_id, "k_eval_set": l.eval_set, "k_sample": str(l.sample_id), "k_user": l.user}
                for l in labels if l.is_empty]
        keep = [_label_values(l, now) for l in labels if not l.is_empty]
        if gone:
            db.execute(_DELETE_LABEL, gone)
        if keep:
            db.execute(_upsert_label_statement(db.dialect.name), keep)

    @staticmethod
    def _add_statement(db: Session | Connection, request_id: int, user: str, signed: SignedStatement | None,
                       now: datetime) -> int | None:
        if signed is None:
            return None
        db = db.connection() if isinstance(db, Session) else db
        result = db.execute(insert(LabelStatement).values(
            request_id=request_id, user_name=user, statement=signed.text, signature=signed.signature,
            key_fingerprint=signed.fingerprint, created_at=now))
        return result.inserted_primary_key[0]

    @staticmethod
    def _signed_audit(signed: SignedStatement | None) -> dict:
        if signed is None:
            return {}
        return {"statement": signed.text, "signature": signed.signature, "key_fingerprint": signed.fingerprint}

    def audit_position(self) -> int:
        """How many entries the audit log holds now (what a signed statement names as `audit_position`)."""
        with self._read() as s:
            return int(s.scalar(select(AuditHead.count).where(AuditHead.id == HEAD_ID)) or 0)

    def upsert_label(self, label: Label, *, outbox: list[OutboxEntry] = (),
                     signed: SignedStatement | None = None) -> Label:
        """Insert or replace the label of (request, eval_set, sample_id, user); an
        empty label (Label.is_empty) deletes it. Audit 'label.set'. Returns it with updated_at.
        `outbox`: write-backs of the label (e.g. MLflow assessments), enqueued in the same transaction."""
        now = utcnow()
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            self._require_request(s, label.request_id)
            sid = self._add_statement(s, label.request_id, label.user, signed, now)
            label = replace(label, statement_id=sid)
            self._upsert_label_rows(s, [label], now)
            self._enqueue(s, list(outbox), label.request_id, now)
            log.append(actor=label.user, action="label.set", request_id=label.request_id, at=now,
                       payload={**_label_audit(label), **self._signed_audit(signed)})
        return Label(request_id=label.request_id, eval_set=label.eval_set, sample_id=str(label.sample_id),
                     user=label.user, verdict=Verdict(label.verdict) if label.verdict else None,
                     correct=label.correct, error=label.error or None, comment=label.comment or None, updated_at=now,
                     statement_id=sid)

    def change_label(self, request_id: int, eval_set: str, sample_id: str, user: str, changes: dict,
                     outbox_for=None, sign=None) -> Label:
        """Change some fields of one label (verdict, correct, error, comment), the others as
        stored: one write transaction in plain SQL statements (the keystroke path), with the
        same effects as upsert_label: the row inserted, updated or (left empty) deleted, its
        write-backs `outbox_for(label)` enqueued, audit 'label.set'. `sign(label, audit_position)`
        returns the SignedStatement of the label as it will be stored (a batch of one), or None."""
        now = utcnow()
        key = {"k_request": request_id, "k_eval_set": eval_set, "k_sample": str(sample_id), "k_user": user}
        try:
            with self._engine.begin() as conn:
                log = audit_log.AuditAppender(conn, self._installation)   # the head first: every writer's lock order
                row = conn.execute(_LABEL_FIELDS, key).first()
                if row is None and conn.execute(_REQUEST_EXISTS, key).first() is None:
                    raise NotFoundError(f"no review request {request_id}")
                current = dict(row._mapping) if row is not None else {"verdict": None, "correct": None,
                                                                     "error": None, "comment": None}
                merged = {**current, **{k: v for k, v in changes.items() if k in current}}
                label = Label(request_id=request_id, eval_set=eval_set, sample_id=str(sample_id), user=user,
                              verdict=Verdict(merged["verdict"]) if merged["verdict"] else None,
                              correct=merged["correct"], error=merged["error"] or None,
                              comment=merged["comment"] or None, updated_at=now)
                signed = sign(label, log.position) if sign else None
                label = replace(label, statement_id=self._add_statement(conn, request_id, user, signed, now))
                self._upsert_label_rows(conn, [label], now)
                self._enqueue(conn, list(outbox_for(label)) if outbox_for else [], request_id, now)
                log.append(actor=user, action="label.set", request_id=request_id, at=now,
                           payload={**_label_audit(label), **self._signed_audit(signed)})
        except BaseException as exc:
            self._installation.announced = False
            if not isinstance(exc, OperationalError):
                raise
            raise StoreUnavailable(f"the review store {self.describe()} failed: {_first_line(exc)}") from None
        return label

    def upsert_labels(self, labels: list[Label], *, actor: str, outbox: list[OutboxEntry] = (),
                      signed: SignedStatement | None = None) -> int:
        """Many labels in one transaction, one audit entry 'label.import' with the count
        (and their write-backs in `outbox`, enqueued in the same transaction). `signed`: the
        labels statement of the batch (one request, one user), stored and referenced by each label."""
        if not labels:
            return 0
        now = utcnow()
        request_ids = sorted({l.request_id for l in labels})
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            for rid in request_ids:
                self._require_request(s, rid)
            if signed is not None:
                if len(request_ids) != 1 or len({l.user for l in labels}) != 1:
                    raise InputError("a signed batch of labels is one user's labels on one request")
                sid = self._add_statement(s, request_ids[0], labels[0].user, signed, now)
                labels = [replace(l, statement_id=sid) for l in labels]
            self._upsert_label_rows(s, labels, now)
            self._enqueue(s, list(outbox), None, now)
            log.append(actor=actor, action="label.import", at=now,
                       request_id=request_ids[0] if len(request_ids) == 1 else None,
                       payload={"count": len(labels), "request_ids": request_ids,
                                "users": sorted({l.user for l in labels}),
                                "labels": [_label_log_row(l) for l in labels], **self._signed_audit(signed)})
        return len(labels)

    def labels(self, request_id: int, *, user: str | None = None, eval_set: str | None = None,
               sample_id: str | None = None) -> list[Label]:
        query = select(LabelRow).where(LabelRow.request_id == request_id)
        if sample_id is not None:
            query = query.where(LabelRow.sample_id == str(sample_id))
        if user is not None:
            query = query.where(LabelRow.user_name == user)
        if eval_set is not None:
            query = query.where(LabelRow.eval_set == eval_set)
        with self._read() as s:
            rows = s.scalars(query.order_by(LabelRow.eval_set, LabelRow.sample_id, LabelRow.user_name))
            return [_label(r) for r in rows]

    def label_statements(self, ids) -> dict[int, tuple[str, str, str]]:
        """{statement id: (user, statement text, signature)} of the signed label batches `ids`."""
        ids = sorted({int(i) for i in ids if i is not None})
        found: dict[int, tuple[str, str, str]] = {}
        with self._read() as s:
            for start in range(0, len(ids), 500):
                rows = s.execute(select(LabelStatement.id, LabelStatement.user_name, LabelStatement.statement,
                                        LabelStatement.signature).where(LabelStatement.id.in_(ids[start:start + 500])))
                found.update({r.id: (r.user_name, r.statement, r.signature) for r in rows})
        return found

    def copy_labels(self, from_request: int, to_request: int, *, keep=None) -> int:
        """Carry labels to a new request of the same change: all of them (same content), or those
        `keep(eval_set, sample_id)` accepts (a retrain: the unchanged samples). Each keeps its signed
        batch (statement_id), which names the earlier request: docs/trust.md says when it counts."""
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            self._require_request(s, from_request)
            self._require_request(s, to_request)
            taken = set(s.execute(select(LabelRow.eval_set, LabelRow.sample_id, LabelRow.user_name)
                                  .where(LabelRow.request_id == to_request)).all())
            # Labels the target already has win: they are newer than the carried ones.
            rows = [r for r in s.scalars(select(LabelRow).where(LabelRow.request_id == from_request)
                                         .order_by(LabelRow.id))
                    if (r.eval_set, r.sample_id, r.user_name) not in taken
                    and (keep is None or keep(r.eval_set, r.sample_id))]
            for r in rows:
                s.add(LabelRow(request_id=to_request, eval_set=r.eval_set, sample_id=r.sample_id,
                               user_name=r.user_name, verdict=r.verdict, correct=r.correct, error=r.error,
                               comment=r.comment, updated_at=r.updated_at, statement_id=r.statement_id))
            log.append(actor=SYSTEM_ACTOR, action="label.copy", request_id=to_request,
                       payload={"from_request": from_request, "count": len(rows), "partial": keep is not None,
                                "labels": [label_row(to_request, r.eval_set, r.sample_id, r.user_name, r.verdict,
                                                     r.correct, r.error, r.comment) for r in rows]})
            return len(rows)

    # -- decisions --------------------------------------------------------
    def record_decision(self, decision: Decision, *, evaluate, outbox_for, keep=None):
        """One decision at a time per request. One write transaction: lock the audit head
        (every writer's first lock), then the request row; read every decision of the change
        and the request's labels; `evaluate(decisions, labels)` (decisions oldest first, this
        one last, as Decision objects with all their fields) returns the PolicyVerdict; the
        audit entry 'decision' FIRST, then the decision row, the request's status and
        description, and `outbox_for(verdict, changed)` enqueued, where `changed` says whether
        the status or description differs from the stored one (a status identical to the
        stored one should queue no new post). So the stored status, the outbox and the policy
        agree whatever the interleaving. `keep(verdict)`: (status document, refusal) kept signed at
        this transaction's audit head (keep_verdict). Returns (decision with created_at and sha, verdict)."""
        if decision.request_id is None:
            raise InputError("a decision needs the review request it decides")
        kind = DecisionKind(decision.kind)
        now = utcnow()
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            req = self._lock_request(s, decision.request_id)
            saved = dataclasses.replace(decision, kind=kind, comment=decision.comment or "", created_at=now,
                                        sha=req.sha)
            verdict = evaluate([*self._decisions_in(s, req.change_key), saved], self._labels_in(s, req.id))
            status, description = _status_of(verdict)
            changed = (status, description) != (req.status, req.description)
            log.append(actor=decision.user, action="decision", request_id=req.id, at=now, payload={
                "user": decision.user, "role": decision.role, "kind": kind.value,
                "content_hash": decision.content_hash, "comment": decision.comment, "sha": req.sha,
                "status": status, "description": description, "statement": decision.statement,
                "signature": decision.signature, "key_fingerprint": decision.key_fingerprint,
                **_identity_audit(decision)})
            row = DecisionRow(request_id=req.id, user_name=decision.user, role=decision.role, kind=kind.value,
                              content_hash=decision.content_hash, comment=decision.comment or "", created_at=now,
                              statement=decision.statement, signature=decision.signature,
                              key_fingerprint=decision.key_fingerprint, identity_check=decision.identity,
                              identity_forge=decision.identity_forge, identity_note=decision.identity_note,
                              identity_token=decision.identity_token)
            s.add(row)
            s.flush()
            saved = dataclasses.replace(saved, id=row.id)
            req.status, req.description, req.updated_at = status, description, now
            self._enqueue(s, list(outbox_for(verdict, changed)), req.id, now)
            self._keep(s, log.head, req.id, req.sha, keep, verdict)
        return saved, verdict

    def decisions_for_change(self, change_key: str) -> list[Decision]:
        """Every decision on any request of the change, oldest first (with request_id, sha)."""
        with self._read() as s:
            rows = s.execute(select(DecisionRow, Request.sha).join(Request, DecisionRow.request_id == Request.id)
                             .where(Request.change_key == change_key).order_by(DecisionRow.id))
            return [_decision(d, sha) for d, sha in rows]

    def unchecked_decisions(self, request_id: int | None = None) -> list[Decision]:
        """Decisions whose forge identity check waits (the forge was unreachable), oldest first."""
        with self._read() as s:
            query = (select(DecisionRow, Request.sha).join(Request, DecisionRow.request_id == Request.id)
                     .where(DecisionRow.identity_check == IDENTITY_UNCHECKED).order_by(DecisionRow.id))
            if request_id is not None:
                query = query.where(DecisionRow.request_id == request_id)
            return [_decision(d, sha) for d, sha in s.execute(query)]

    def set_decision_identity(self, decision_id: int, state: str, note: str, *, actor: str, evaluate,
                              outbox_for, keep=None) -> tuple[bool, object]:
        """The forge identity check of a waiting decision was made: mark it `state` (checked /
        refused) with what it found, audit 'identity.checked' / 'identity.refused', and in the
        same transaction re-evaluate the request's status (as refresh_status: a changed status is
        stored, `outbox_for(verdict)` enqueued and audited 'status.change'). A decision no longer
        waiting (another process checked it) is left as it is. Returns (marked, verdict or None)."""
        if state not in (IDENTITY_CHECKED, IDENTITY_REFUSED):
            raise InputError(f"identity check state {state!r} is not checked or refused")
        now = utcnow()
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            row = s.get(DecisionRow, decision_id)
            if row is None:
                raise NotFoundError(f"no decision {decision_id}")
            req = self._lock_request(s, row.request_id)
            s.refresh(row)
            if row.identity_check != IDENTITY_UNCHECKED:
                return False, None
            row.identity_check, row.identity_note = state, note
            log.append(actor=actor, action=f"identity.{state}", request_id=req.id, at=now, payload={
                "decision_user": row.user_name, "decision_at": audit_ts(row.created_at), "identity": state,
                "identity_forge": row.identity_forge, "identity_note": note})
            s.flush()
            verdict = evaluate(self._decisions_in(s, req.change_key), self._labels_in(s, req.id))
            status, description = _status_of(verdict)
            if (status, description) != (req.status, req.description):
                req.status, req.description, req.updated_at = status, description, now
                self._enqueue(s, list(outbox_for(verdict)), req.id, now)
                log.append(actor=actor, action="status.change", request_id=req.id, at=now,
                           payload={"status": status, "description": description})
            self._keep(s, log.head, req.id, req.sha, keep, verdict)
            return True, verdict

    # -- the kept verdict (app/core/kept_verdict.py, docs/trust.md) ------------
    def _keep(self, db: Session, head: tuple[int, str], request_id: int, sha: str, keep, verdict) -> None:
        """Inside a write transaction holding the audit head lock: the verdict it computed, kept at
        `head` (the transaction's last append, or the head it locked), signed by this installation."""
        if keep is not None:
            document, refusal = keep(verdict)
            self._upsert_kept(db, request_id, sha, head, document, refusal)

    def keep_verdict(self, request_id: int, sha: str, head: tuple[int, str], document: dict,
                     refusal: str = "") -> None:
        """Keep `document` (what `status --json` prints) as the request's verdict at audit `head`,
        signed by this installation. `head` must be read before anything the verdict was computed
        from: a write in between then leaves an entry after it, and the kept verdict is not read.
        A row kept at a later head is never replaced by one kept at an earlier head."""
        with self._write() as s:
            self._upsert_kept(s, request_id, sha, head, document, refusal)

    def _upsert_kept(self, db: Session, request_id: int, sha: str, head: tuple[int, str], document: dict,
                     refusal: str) -> None:
        from signoff.core.hashing import canonical_json
        from signoff.core.kept_verdict import statement

        from .locate import installed_version

        signer = self._installation.signer
        text = canonical_json(statement(request_id=request_id, sha=sha, head=head, version=installed_version(),
                                        document=document, refusal=refusal))
        values = {"request_id": request_id, "key": signer.fingerprint, "audit_count": int(head[0]),
                  "audit_hash": str(head[1]), "statement": text, "signature": signer.sign(text.encode("utf-8")),
                  "kept_at": utcnow()}
        conn = db.connection()
        ins = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(KeptVerdict).values(**values)
        conn.execute(ins.on_conflict_do_update(
            index_elements=["request_id", "key"],
            set_={c: ins.excluded[c] for c in ("audit_count", "audit_hash", "statement", "signature", "kept_at")},
            where=KeptVerdict.audit_count <= ins.excluded.audit_count))

    # -- team review: assignments (app/core/assignment.py) ------------------
    def assignments(self, request_id: int, *, user: str | None = None):
        """The request's dealt items (app/core/assignment.Assignment), in dealing order."""
        from signoff.core.assignment import Assignment

        query = select(AssignmentRow).where(AssignmentRow.request_id == request_id)
        if user is not None:
            query = query.where(AssignmentRow.user_name == user.strip().lower())
        with self._read() as s:
            rows = s.scalars(query.order_by(AssignmentRow.position, AssignmentRow.role, AssignmentRow.user_name))
            return [Assignment(role=r.role, eval_set=r.eval_set, sample_id=r.sample_id, user=r.user_name,
                               position=r.position) for r in rows]

    def save_assignments(self, request_id: int, items: list, *, seed: int, overlap: int, actor: str) -> bool:
        """Store the request's dealing, once: False (nothing written) when it already has one (another
        process dealt first; the dealing is reproducible, so it is the same). Audit 'assign.deal'
        with every item, so the log replays it."""
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)   # the head first: serialises the dealers
            self._require_request(s, request_id)
            if s.scalar(select(AssignmentRow.id).where(AssignmentRow.request_id == request_id).limit(1)):
                return False
            if items:
                s.connection().execute(insert(AssignmentRow), [
                    {"request_id": request_id, "role": a.role, "eval_set": a.eval_set, "sample_id": a.sample_id,
                     "user_name": a.user, "position": a.position, "seed": seed} for a in items])
            log.append(actor=actor, action="assign.deal", request_id=request_id, payload={
                "seed": seed, "overlap": overlap,
                "items": [[a.role, a.eval_set, a.sample_id, a.user, a.position] for a in items]})
            return True

    def move_assignments(self, request_id: int, moves: list, *, from_user: str, actor: str) -> int:
        """Give `from_user`'s items to others: `moves` is [(Assignment, new user)]. Only items still
        open move (checked in this transaction: `from_user` has not labeled the sample); audit
        'assign.move'. Returns how many moved."""
        from_user = from_user.strip().lower()
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            self._lock_request(s, request_id)
            done = {(r.eval_set, r.sample_id) for r in s.execute(
                select(LabelRow.eval_set, LabelRow.sample_id).where(
                    LabelRow.request_id == request_id, func.lower(LabelRow.user_name) == from_user,
                    (LabelRow.verdict.is_not(None)) | (LabelRow.correct.is_not(None)) | (LabelRow.error.is_not(None))))}
            moved = []
            for a, to in moves:
                if (a.eval_set, a.sample_id) in done:
                    continue
                result = s.execute(update(AssignmentRow).where(
                    AssignmentRow.request_id == request_id, AssignmentRow.role == a.role,
                    AssignmentRow.eval_set == a.eval_set, AssignmentRow.sample_id == a.sample_id,
                    AssignmentRow.user_name == from_user).values(user_name=to.strip().lower()))
                if result.rowcount:
                    moved.append([a.role, a.eval_set, a.sample_id, from_user, to.strip().lower()])
            if moved:
                log.append(actor=actor, action="assign.move", request_id=request_id,
                           payload={"from": from_user, "moves": moved})
            return len(moved)

    # -- reviewer keys ----------------------------------------------------
    def set_reviewer_keys(self, request_id: int, user: str, keys: list[str], *, actor: str, reason: str) -> None:
        """Replace the keys stored with the request for `user` (a forge's keys refreshed); audit 'keys.update'."""
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            row = self._require_request(s, request_id)
            row.reviewer_keys = {**(row.reviewer_keys or {}), user: list(keys)}
            log.append(actor=actor, action="keys.update", request_id=request_id,
                       payload={"user": user, "keys": list(keys), "reason": reason})

    def forge_keys(self, forge: str, api_url: str, login: str) -> tuple[list[str], datetime] | None:
        """The cached signing keys of a forge login and when they were fetched, or None."""
        with self._read() as s:
            row = s.scalar(select(ForgeKeys).where(ForgeKeys.forge == forge, ForgeKeys.api_url == api_url,
                                                   ForgeKeys.login == login))
            return (list(row.keys), row.fetched_at) if row is not None else None

    def save_forge_keys(self, forge: str, api_url: str, login: str, keys: list[str], *, actor: str,
                        fetched_at: datetime | None = None) -> None:
        """Cache what the forge published for `login`; audit 'keys.fetch' (the fetch is on the record)."""
        now = fetched_at or utcnow()
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            row = s.scalar(select(ForgeKeys).where(ForgeKeys.forge == forge, ForgeKeys.api_url == api_url,
                                                   ForgeKeys.login == login))
            if row is None:
                s.add(ForgeKeys(forge=forge, api_url=api_url, login=login, keys=list(keys), fetched_at=now))
            else:
                row.keys, row.fetched_at = list(keys), now
            log.append(actor=actor, action="keys.fetch", request_id=None, at=now,
                       payload={"forge": forge, "api_url": api_url, "login": login, "keys": list(keys)})

    # -- outbox -----------------------------------------------------------
    def claim_outbox(self, worker: str, *, lease_seconds: float = 60, limit: int = 50,
                     now: datetime | None = None) -> list[OutboxItem]:
        """Take due 'waiting' items for `worker` (lease; another worker cannot take them
        until it expires). Before claiming, older waiting items whose `target` has a
        newer entry are marked 'superseded' and never handed out. Oldest first."""
        now = now or utcnow()
        with self._write() as s:
            ids = ob.claim(s, worker, lease_seconds=lease_seconds, limit=limit, now=now)
            if not ids:
                return []
            rows = s.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids)).order_by(OutboxRow.id)
                             .execution_options(populate_existing=True))
            return [_outbox_item(r) for r in rows]

    def begin_post(self, item_id: int, worker: str, *, now: datetime | None = None) -> str:
        """The last check right before posting a claimed item (outbox.begin_post): under the
        audit head lock, so no enqueue and no other check runs beside it. Returns
        outbox.POST (go ahead), SUPERSEDED_NOW (a newer state exists: do not post), LATER
        (another entry of the target is being posted) or LOST (no longer held)."""
        now = now or utcnow()
        with self._write() as s:
            s.execute(_HEAD_LOCK)   # every writer's first lock (audit_log.py)
            return ob.begin_post(s, item_id, worker, now)

    def mark_delivered(self, item_id: int, worker: str) -> None:
        # Only while `worker` still holds the item: if its lease ran out and another
        # worker took over, that worker's outcome is the one that counts.
        with self._write() as s:
            s.execute(update(OutboxRow).where(ob.held_by(item_id, worker))
                      .values(state=ob.DELIVERED, delivered_at=utcnow(), attempts=OutboxRow.attempts + 1,
                              claimed_by=None, lease_until=None)
                      .execution_options(synchronize_session=False))

    def mark_retry(self, item_id: int, worker: str, error: str, next_attempt_at: datetime) -> None:
        with self._write() as s:
            s.execute(update(OutboxRow).where(ob.held_by(item_id, worker))
                      .values(attempts=OutboxRow.attempts + 1, claimed_by=None, lease_until=None,
                              post_started_at=None, next_attempt_at=next_attempt_at, last_error=error)
                      .execution_options(synchronize_session=False))

    def mark_failed(self, item_id: int, worker: str, error: str) -> None:
        """Permanent failure: stays visible to the user, not retried."""
        with self._write() as s:
            s.execute(update(OutboxRow).where(ob.held_by(item_id, worker))
                      .values(state=ob.FAILED, attempts=OutboxRow.attempts + 1, claimed_by=None,
                              lease_until=None, last_error=error)
                      .execution_options(synchronize_session=False))

    def outbox_items(self, *, states: tuple[str, ...] = ("waiting",)) -> list[OutboxItem]:
        with self._read() as s:
            rows = s.scalars(select(OutboxRow).where(OutboxRow.state.in_(states)).order_by(OutboxRow.id))
            return [_outbox_item(r) for r in rows]

    def requeue_failed(self, ids: list[int] | None = None, *, actor: str = SYSTEM_ACTOR) -> int:
        """Put 'failed' items (all, or those of `ids`) back to 'waiting' with attempts
        reset and due at once, e.g. after the user fixed a token; returns how many.
        Only the newest entry of a target comes back: a failed one with a newer entry
        for its target is marked 'superseded' instead (posting it would overwrite the
        newer state). Audit 'outbox.requeue' with the ids and their last errors."""
        with self._write() as s:
            log = audit_log.AuditAppender(s, self._installation)
            requeued, superseded = ob.requeue_failed(s, ids)
            if not requeued and not superseded:
                return 0
            log.append(actor=actor, action="outbox.requeue", request_id=None,
                       payload={"ids": [i for i, _ in requeued], "errors": {str(i): e for i, e in requeued},
                                "superseded": superseded})
            return len(requeued)

    # -- local status sink ------------------------------------------------
    def record_local_status(self, *, repo: str, sha: str, context: str, state: str,
                            description: str, target_url: str = "") -> None:
        with self._write() as s:
            s.add(LocalStatus(repo=repo, sha=sha, context=context, state=state, description=description,
                              target_url=target_url or "", created_at=utcnow()))

    def local_statuses(self, sha: str | None) -> list[dict]:
        """Posted local statuses for the commit (None: of every commit), oldest first."""
        query = select(LocalStatus) if sha is None else select(LocalStatus).where(_sha_filter(LocalStatus.sha, sha))
        with self._read() as s:
            rows = s.scalars(query.order_by(LocalStatus.id))
            return [{"repo": r.repo, "sha": r.sha, "context": r.context, "state": r.state,
                     "description": r.description, "target_url": r.target_url, "created_at": r.created_at}
                    for r in rows]

    # -- audit ------------------------------------------------------------
    def audit_entries(self, request_id: int | None = None) -> list[AuditEntry]:
        """The log, oldest first (only the entries about `request_id` when given)."""
        with self._read() as s:
            return audit_log.read_entries(s, request_id)

    def audit_head(self) -> tuple[int, str] | None:
        """(count, hash) of the log's head row; None when the row is missing."""
        with self._read() as s:
            return audit_log.head(s)

    def append_audit(self, *, actor: str, action: str, request_id: int | None, payload: dict) -> AuditEntry:
        with self._write() as s:
            return audit_log.AuditAppender(s, self._installation).append(actor=actor, action=action,
                                                                         request_id=request_id, payload=payload)

    def verify_audit(self) -> AuditReport:
        """Chain, head, signatures, and the tables replayed from the log (app/store/audit_log.py)."""
        # Entries, head and tables from one snapshot, or a concurrent write would look like tampering.
        with self._snapshot() as s:
            return audit_log.verify(s)

    def repair_audit(self, *, actor: str = SYSTEM_ACTOR) -> AuditEntry | None:
        """Rebuild a missing head row from the log and audit it ('audit.repair'); None if nothing to repair."""
        with self._write() as s:
            return audit_log.repair_head(s, actor=actor, installation=self._installation)


def check_store_url(url: str) -> str:
    """Open the store at `url` (no migrations) and close it again; the message says what was reached.

    Raises SignoffError (InputError, StoreUnavailable) with a message a person can act on.
    """
    text = (url or "").strip() or f"sqlite:///{data_dir() / DB_FILE}"   # empty: the default SQLite file
    resolved = resolve_url(text)
    store = Store(text, migrate=False)
    try:
        return f"connected to {describe(resolved)}"
    finally:
        store.close()
