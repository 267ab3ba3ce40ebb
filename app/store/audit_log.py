"""The audit log in the database: appends serialised on the head row, each entry signed
by the installation that wrote it; verify = hash chain + signatures + replay of the log
against the tables (docs/trust.md "The record").

Every audited write locks the head first (SELECT ... FOR UPDATE on
PostgreSQL; on SQLite the write transaction already holds the database's
write lock from BEGIN IMMEDIATE), so appends from any number of processes
form one chain. Locking the head before touching other rows also gives all
writers one lock order, so they queue instead of deadlocking.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from signoff.core.audit import (GENESIS, INSPECTION_ESTIMATE, INSPECTION_FACTS, INSTALLATION_KEY_ACTION,
                            check_signatures, compare_state, entry_body, entry_hash, replay, reviewer_keys,
                            verify_chain, _ts)
from signoff.core.errors import SignoffError
from signoff.core.hashing import canonical_json, sha256_bytes

from .db import data_dir
from .locate import INSTALLATION_KEY_FILE
from .records import AuditEntry, AuditReport
from .schema import HEAD_ID, AuditHead, AuditRow, DecisionRow, InspectionRow, LabelRow, Request, utcnow

SYSTEM_ACTOR = "signoff"

_HEAD_FOR_UPDATE = select(AuditHead.count, AuditHead.last_hash).where(AuditHead.id == HEAD_ID).with_for_update()
_INSERT_ROW = insert(AuditRow)
_MOVE_HEAD = (update(AuditHead).where(AuditHead.id == HEAD_ID)
              .values(count=bindparam("new_count"), last_hash=bindparam("new_hash")))
_ANNOUNCED = (select(AuditRow.seq).where(AuditRow.action == INSTALLATION_KEY_ACTION, AuditRow.key == bindparam("fp"))
              .limit(1))


class Installation:
    """This installation's own key (ed25519, `installation_ed25519` in SIGNOFF_HOME, mode 600), made
    on first use. It signs every entry this installation writes; its public key goes into the log
    (an 'installation.key' entry) the first time it writes to a store."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else data_dir() / INSTALLATION_KEY_FILE
        self._signer = None
        self._lock = threading.Lock()
        self.announced = False      # per store: set once its announcement is known to be in the log

    @property
    def signer(self):
        with self._lock:
            if self._signer is None:
                from signoff.service.signer import KeyFileSigner, generate_key

                if self.path.exists():
                    self._signer = KeyFileSigner(self.path)
                else:
                    try:
                        self._signer = generate_key(self.path, f"signoff installation on {socket.gethostname()}")
                    except FileExistsError:   # another process made it just now
                        self._signer = KeyFileSigner(self.path)
            return self._signer


class AuditAppender:
    """Holds the locked head for the length of one write transaction, on an ORM Session or a
    plain Connection alike (prepared SQL statements: the label keystroke path runs on a
    Connection, where the ORM's unit of work would triple its time)."""

    def __init__(self, db: Session | Connection, installation: Installation | None = None):
        self._db = db
        self._installation = installation
        head = db.execute(_HEAD_FOR_UPDATE).first()
        if head is None:  # the migration seeds it: someone removed it
            raise SignoffError("the audit log's head record is missing, so nothing can be recorded: "
                               "run `signoff audit repair` (it rebuilds the head from the log)")
        self._count, self._last_hash = head.count, head.last_hash

    def _announce(self) -> None:
        inst = self._installation
        if inst is None or inst.announced:
            return
        signer = inst.signer
        if self._db.execute(_ANNOUNCED, {"fp": signer.fingerprint}).first() is None:
            self._write(actor=SYSTEM_ACTOR, action=INSTALLATION_KEY_ACTION, request_id=None, at=utcnow(),
                        payload={"public_key": signer.public_key, "fingerprint": signer.fingerprint,
                                 "host": socket.gethostname()})
        inst.announced = True   # (reset by the store if this transaction rolls back)

    @property
    def position(self) -> int:
        """How many entries the log holds before this transaction's next append."""
        return self._count

    def append(self, *, actor: str, action: str, request_id: int | None, payload: dict,
               at: datetime | None = None) -> AuditEntry:
        self._announce()
        return self._write(actor=actor, action=action, request_id=request_id, payload=payload, at=at or utcnow())

    def _write(self, *, actor: str, action: str, request_id: int | None, payload: dict,
               at: datetime) -> AuditEntry:
        # Store exactly the text that was hashed: parse it back so the returned
        # payload is what verify will read (tuples become lists, and so on).
        text = canonical_json(payload)
        payload = json.loads(text)
        seq, prev = self._count + 1, self._last_hash
        signature = key = None
        if self._installation is not None:
            signer = self._installation.signer
            signature = signer.sign(entry_body(seq=seq, at=at, actor=actor, action=action, request_id=request_id,
                                               payload=payload, prev_hash=prev))
            key = signer.fingerprint
        digest = entry_hash(seq=seq, at=at, actor=actor, action=action, request_id=request_id,
                            payload=payload, prev_hash=prev, signature=signature, key=key)
        self._db.execute(_INSERT_ROW, {"seq": seq, "at": at, "actor": actor, "action": action,
                                       "request_id": request_id, "payload": text, "prev_hash": prev,
                                       "hash": digest, "signature": signature, "key": key})
        self._db.execute(_MOVE_HEAD, {"new_count": seq, "new_hash": digest})
        self._count, self._last_hash = seq, digest
        return AuditEntry(seq=seq, at=at, actor=actor, action=action, request_id=request_id, payload=payload,
                          prev_hash=prev, hash=digest, signature=signature, key=key)

    @property
    def head(self) -> tuple[int, str]:
        return self._count, self._last_hash


def _entry(row: AuditRow) -> AuditEntry:
    try:
        payload = json.loads(row.payload)
    except (TypeError, ValueError):
        # Edited into something that is not JSON: keep the text, its hash will not match.
        payload = row.payload
    return AuditEntry(seq=row.seq, at=row.at, actor=row.actor, action=row.action, request_id=row.request_id,
                      payload=payload, prev_hash=row.prev_hash, hash=row.hash, signature=row.signature,
                      key=row.key)


def read_entries(session: Session, request_id: int | None = None) -> list[AuditEntry]:
    query = select(AuditRow).order_by(AuditRow.seq)
    if request_id is not None:
        query = query.where(AuditRow.request_id == request_id)
    return [_entry(r) for r in session.execute(query).scalars()]


def head(session: Session) -> tuple[int, str] | None:
    row = session.get(AuditHead, HEAD_ID)
    return None if row is None else (row.count, row.last_hash)


def _tables(session: Session) -> dict:
    requests = {r.id: {"status": r.status, "description": r.description, "content_hash": r.content_hash,
                       "reviewer_keys": dict(r.reviewer_keys or {}),
                       "policy_sha256": sha256_bytes((r.config_toml or "").encode()),
                       "candidate_policy_sha256": sha256_bytes((r.candidate_config_toml or "").encode()),
                       "allowed_signers_sha256": sha256_bytes((r.allowed_signers or "").encode())}
                for r in session.execute(select(Request.id, Request.status, Request.description, Request.content_hash,
                                                Request.reviewer_keys, Request.config_toml,
                                                Request.candidate_config_toml, Request.allowed_signers))}
    decisions = [{"id": d.id, "request_id": d.request_id, "user": d.user_name, "role": d.role, "kind": d.kind,
                  "content_hash": d.content_hash, "comment": d.comment, "at": _ts(d.created_at),
                  "identity": d.identity_check or ""}
                 for d in session.execute(select(DecisionRow)).scalars()]
    labels = {(l.request_id, l.eval_set, l.sample_id, l.user_name):
              {"verdict": l.verdict, "correct": l.correct, "error": l.error, "comment": l.comment}
              for l in session.execute(select(LabelRow.request_id, LabelRow.eval_set, LabelRow.sample_id,
                                              LabelRow.user_name, LabelRow.verdict, LabelRow.correct,
                                              LabelRow.error, LabelRow.comment))}
    inspections = {r.request_id: {c: getattr(r, c) for c in (*INSPECTION_FACTS, *INSPECTION_ESTIMATE)}
                   for r in session.execute(select(InspectionRow)).scalars()}
    return {"requests": requests, "decisions": decisions, "labels": labels, "inspections": inspections}


def _request_keys(session: Session, entries: list[AuditEntry]):
    """request id -> (user -> keys): the request's policy keys, the keys stored with it (a column
    once the signing part adds it) and those its 'request.create' entry recorded."""
    cache: dict[int, object] = {}
    logged = {e.request_id: e.payload.get("reviewer_keys") for e in entries
              if e.action == "request.create" and isinstance(e.payload, dict)}
    stored_col = getattr(Request, "reviewer_keys", None)

    def of(request_id):
        if request_id is None:
            return None
        if request_id not in cache:
            cols = [Request.config_toml] + ([stored_col] if stored_col is not None else [])
            row = session.execute(select(*cols).where(Request.id == request_id)).first()
            stored: dict = {}
            for extra in (logged.get(request_id), row[1] if row is not None and len(row) > 1 else None):
                for user, keys in (extra or {}).items() if isinstance(extra, dict) else ():
                    stored.setdefault(user, [])
                    stored[user] += [k for k in keys or [] if k not in stored[user]]
            cache[request_id] = None if row is None else reviewer_keys(row[0], "", stored)
        return cache[request_id]

    return of


def verify(session: Session) -> AuditReport:
    entries = read_entries(session)
    h = head(session)
    if h is None:
        problems = verify_chain(entries)
        problems.append("the audit head record is missing (removed): `signoff audit repair` rebuilds it")
    else:
        problems = verify_chain(entries, h[0], h[1])
    sig_problems, notes = check_signatures(entries, _request_keys(session, entries))
    problems += sig_problems
    problems += compare_state(replay(entries), **_tables(session))
    checked = [f"hash chain of {len(entries)} entries and the head",
               "installation and reviewer signatures",
               "requests, decisions, labels and inspections replayed from the log against the tables"]
    return AuditReport(ok=not problems, entries=len(entries), problems=problems, checked=checked, notes=notes)


def repair_head(session: Session, *, actor: str, installation: Installation | None) -> AuditEntry | None:
    """Rebuild a missing head row from the log (its last entry), then audit the repair. None when the
    head is there (nothing to repair). The log itself is not changed: verify still reports what it finds."""
    if session.get(AuditHead, HEAD_ID) is not None:
        return None
    last = session.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
    count, last_hash = (last.seq, last.hash) if last else (0, GENESIS)
    session.add(AuditHead(id=HEAD_ID, count=count, last_hash=last_hash))
    session.flush()
    return AuditAppender(session, installation).append(
        actor=actor, action="audit.repair", request_id=None,
        payload={"rebuilt_head": {"count": count, "hash": last_hash}})
