"""Claiming outbox items: supersession, per-target order and leases.

Rules, all evaluated inside one write transaction:
- an item is *free* when nobody holds it or its holder's lease expired;
- a free waiting item with a newer entry for the same target is superseded:
  posting it would only be overwritten (or, worse, overwrite the newer one);
- an item is handed out only when it is due, is the newest for its target,
  and no older item of that target is still in flight under a live lease
  (so statuses for one target arrive in order);
- the claim itself is a conditional UPDATE, so of two processes racing for
  one item exactly one sees rowcount 1.
PostgreSQL: candidate rows are picked FOR UPDATE SKIP LOCKED, so concurrent
claimers never wait on each other's rows (no deadlocks); SQLite runs one
writer at a time anyway (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from .schema import OutboxRow

WAITING, DELIVERED, SUPERSEDED, FAILED = "waiting", "delivered", "superseded", "failed"


def _free(now: datetime):
    return or_(OutboxRow.claimed_by.is_(None), OutboxRow.lease_until < now)


def _has_newer():
    newer = aliased(OutboxRow)
    return exists().where(newer.target == OutboxRow.target, newer.id > OutboxRow.id)


def _older_in_flight(now: datetime):
    older = aliased(OutboxRow)
    return exists().where(older.target == OutboxRow.target, older.id < OutboxRow.id, older.state == WAITING,
                          older.claimed_by.is_not(None), older.lease_until >= now)


def supersede(session: Session, now: datetime) -> int:
    ids = session.execute(
        select(OutboxRow.id).where(OutboxRow.state == WAITING, _free(now), _has_newer())
        .order_by(OutboxRow.id).with_for_update(skip_locked=True)
    ).scalars().all()
    if not ids:
        return 0
    result = session.execute(
        update(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.state == WAITING, _free(now))
        .values(state=SUPERSEDED, claimed_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def claim(session: Session, worker: str, *, lease_seconds: float, limit: int, now: datetime) -> list[int]:
    """Ids claimed for `worker`, oldest first."""
    supersede(session, now)
    due = or_(OutboxRow.next_attempt_at.is_(None), OutboxRow.next_attempt_at <= now)
    candidates = session.execute(
        select(OutboxRow.id)
        .where(OutboxRow.state == WAITING, _free(now), due, ~_has_newer(), ~_older_in_flight(now))
        .order_by(OutboxRow.id).limit(limit).with_for_update(skip_locked=True)
    ).scalars().all()
    lease_until = now + timedelta(seconds=lease_seconds)
    claimed = []
    for item_id in candidates:
        result = session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id, OutboxRow.state == WAITING, _free(now))
            .values(claimed_by=worker, lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(item_id)
    return claimed


def held_by(item_id: int, worker: str):
    """WHERE clause: the item is waiting and `worker` holds it. A worker whose lease
    expired and was taken over by another one no longer does: its marks are ignored."""
    return and_(OutboxRow.id == item_id, OutboxRow.state == WAITING, OutboxRow.claimed_by == worker)


def requeue_failed(session: Session, ids: list[int] | None = None) -> tuple[list[tuple[int, str]], list[int]]:
    """Failed items (all, or those of `ids`) back to waiting, due now, attempts reset;
    a failed item with a newer entry for its target is superseded instead, never
    resurrected. Returns ([(id, last_error)] requeued, [id] superseded)."""
    chosen = [OutboxRow.state == FAILED]
    if ids is not None:
        chosen.append(OutboxRow.id.in_(list(ids)))
    rows = session.execute(
        select(OutboxRow.id, OutboxRow.last_error, _has_newer().label("has_newer")).where(*chosen)
        .order_by(OutboxRow.id).with_for_update()
    ).all()
    stale = [r.id for r in rows if r.has_newer]
    fresh = [(r.id, r.last_error or "") for r in rows if not r.has_newer]
    if stale:
        session.execute(update(OutboxRow).where(OutboxRow.id.in_(stale), OutboxRow.state == FAILED)
                        .values(state=SUPERSEDED).execution_options(synchronize_session=False))
    if fresh:
        session.execute(update(OutboxRow).where(OutboxRow.id.in_([i for i, _ in fresh]), OutboxRow.state == FAILED)
                        .values(state=WAITING, attempts=0, next_attempt_at=None, claimed_by=None, lease_until=None)
                        .execution_options(synchronize_session=False))
    return fresh, stale
