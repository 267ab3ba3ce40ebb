"""The audit log in the database: appends serialised on the head row.

Every audited write locks the head first (SELECT ... FOR UPDATE on
PostgreSQL; on SQLite the write transaction already holds the database's
write lock from BEGIN IMMEDIATE), so appends from any number of processes
form one chain. Locking the head before touching other rows also gives all
writers one lock order, so they queue instead of deadlocking.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.audit import entry_hash, verify_chain
from app.core.errors import SignoffError
from app.core.hashing import canonical_json

from .records import AuditEntry, AuditReport
from .schema import HEAD_ID, AuditHead, AuditRow, utcnow


_HEAD_FOR_UPDATE = select(AuditHead.count, AuditHead.last_hash).where(AuditHead.id == HEAD_ID).with_for_update()
_INSERT_ROW = insert(AuditRow)
_MOVE_HEAD = (update(AuditHead).where(AuditHead.id == HEAD_ID)
              .values(count=bindparam("new_count"), last_hash=bindparam("new_hash")))


class AuditAppender:
    """Holds the locked head for the length of one write transaction, on an ORM Session or a
    plain Connection alike (prepared SQL statements: the label keystroke path runs on a
    Connection, where the ORM's unit of work would triple its time)."""

    def __init__(self, db: Session | Connection):
        self._db = db
        head = db.execute(_HEAD_FOR_UPDATE).first()
        if head is None:  # the migration seeds it: someone removed it
            raise SignoffError("the audit log's head record is missing, so nothing can be recorded: "
                               "run `signoff audit verify`")
        self._count, self._last_hash = head.count, head.last_hash

    @property
    def position(self) -> int:
        """How many entries the log holds before this transaction's next append."""
        return self._count

    def append(self, *, actor: str, action: str, request_id: int | None, payload: dict,
               at: datetime | None = None) -> AuditEntry:
        # Store exactly the text that was hashed: parse it back so the returned
        # payload is what verify will read (tuples become lists, and so on).
        text = canonical_json(payload)
        payload = json.loads(text)
        at = at or utcnow()
        seq, prev = self._count + 1, self._last_hash
        digest = entry_hash(seq=seq, at=at, actor=actor, action=action, request_id=request_id,
                            payload=payload, prev_hash=prev)
        self._db.execute(_INSERT_ROW, {"seq": seq, "at": at, "actor": actor, "action": action,
                                       "request_id": request_id, "payload": text, "prev_hash": prev,
                                       "hash": digest})
        self._db.execute(_MOVE_HEAD, {"new_count": seq, "new_hash": digest})
        self._count, self._last_hash = seq, digest
        return AuditEntry(seq=seq, at=at, actor=actor, action=action, request_id=request_id, payload=payload,
                          prev_hash=prev, hash=digest)


def _entry(row: AuditRow) -> AuditEntry:
    try:
        payload = json.loads(row.payload)
    except (TypeError, ValueError):
        # Edited into something that is not JSON: keep the text, its hash will not match.
        payload = row.payload
    return AuditEntry(seq=row.seq, at=row.at, actor=row.actor, action=row.action, request_id=row.request_id,
                      payload=payload, prev_hash=row.prev_hash, hash=row.hash)


def read_entries(session: Session) -> list[AuditEntry]:
    return [_entry(r) for r in session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars()]


def verify(session: Session) -> AuditReport:
    entries = read_entries(session)
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        problems = verify_chain(entries)
        problems.append("the audit head record is missing (removed)")
    else:
        problems = verify_chain(entries, head.count, head.last_hash)
    return AuditReport(ok=not problems, entries=len(entries), problems=problems)
