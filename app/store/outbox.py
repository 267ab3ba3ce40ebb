"""The outbox: sequence per target, supersession, per-target order and leases.

Every entry carries `seq`, monotonic per target (sink, API URL, repository,
commit, context: the `target` string), assigned in the transaction that
enqueues it; enqueuers all hold the audit head lock, so `max(seq) + 1` is
race-free. The highest seq of a target is its newest state. Rules:
- an item is *free* when nobody holds it or its holder's lease expired;
- an item is *posting* when its holder passed the last check before the
  post (`begin_post`) and its lease still runs;
- a waiting item with a newer entry for the same target is superseded, also
  one that is claimed (in flight) but not posting yet: posting it would only
  be overwritten, or worse, overwrite the newer state;
- an item is handed out only when it is due, is the newest for its target,
  and no other item of that target is posting;
- right before the post, `begin_post` re-checks the claimed item under the
  audit head lock (so no enqueue and no other begin_post runs beside it):
  still held, still the newest of its target (else superseded, not posted),
  no other item of the target posting; only then is it marked posting.
  Hence, per target, posts never overlap and an older state is never posted
  after a newer one was enqueued;
- the claim itself is a conditional UPDATE, so of two processes racing for
  one item exactly one sees rowcount 1.
PostgreSQL: candidate rows are picked FOR UPDATE SKIP LOCKED, so concurrent
claimers never wait on each other's rows (no deadlocks); SQLite runs one
writer at a time anyway (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from .schema import OutboxRow

WAITING, DELIVERED, SUPERSEDED, FAILED = "waiting", "delivered", "superseded", "failed"


def next_seqs(db, targets: list[str]) -> dict[str, int]:
    """The next sequence number of each target (the caller holds the audit head lock)."""
    if not targets:
        return {}
    rows = db.execute(select(OutboxRow.target, func.max(OutboxRow.seq))
                      .where(OutboxRow.target.in_(sorted(set(targets)))).group_by(OutboxRow.target)).all()
    top = {t: int(m or 0) for t, m in rows}
    return {t: top.get(t, 0) + 1 for t in set(targets)}


def _free(now: datetime):
    return or_(OutboxRow.claimed_by.is_(None), OutboxRow.lease_until < now)


def _posting(now: datetime, row=OutboxRow):
    return and_(row.state == WAITING, row.post_started_at.is_not(None), row.claimed_by.is_not(None),
                row.lease_until >= now)


def _has_newer():
    newer = aliased(OutboxRow)
    return exists().where(newer.target == OutboxRow.target, newer.seq > OutboxRow.seq)


def _other_posting(now: datetime):
    other = aliased(OutboxRow)
    return exists().where(other.target == OutboxRow.target, other.id != OutboxRow.id, _posting(now, other))


def supersede(session: Session, now: datetime) -> int:
    """Waiting items with a newer entry for their target, free or claimed, unless posting."""
    ids = session.execute(
        select(OutboxRow.id).where(OutboxRow.state == WAITING, ~_posting(now), _has_newer())
        .order_by(OutboxRow.id).with_for_update(skip_locked=True)
    ).scalars().all()
    if not ids:
        return 0
    result = session.execute(
        update(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.state == WAITING, ~_posting(now))
        .values(state=SUPERSEDED, claimed_by=None, lease_until=None, post_started_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def claim(session: Session, worker: str, *, lease_seconds: float, limit: int, now: datetime) -> list[int]:
    """Ids claimed for `worker`, oldest first."""
    supersede(session, now)
    due = or_(OutboxRow.next_attempt_at.is_(None), OutboxRow.next_attempt_at <= now)
    candidates = session.execute(
        select(OutboxRow.id)
        .where(OutboxRow.state == WAITING, _free(now), due, ~_has_newer(), ~_other_posting(now))
        .order_by(OutboxRow.id).limit(limit).with_for_update(skip_locked=True)
    ).scalars().all()
    lease_until = now + timedelta(seconds=lease_seconds)
    claimed = []
    for item_id in candidates:
        result = session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id, OutboxRow.state == WAITING, _free(now))
            .values(claimed_by=worker, lease_until=lease_until, post_started_at=None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(item_id)
    return claimed


# begin_post outcomes
POST, SUPERSEDED_NOW, LATER, LOST = "post", "superseded", "later", "lost"


def begin_post(session: Session, item_id: int, worker: str, now: datetime) -> str:
    """The last check before posting a claimed item; the caller holds the audit head lock.
    POST: marked posting, go ahead. SUPERSEDED_NOW: a newer entry of its target exists, it
    is marked superseded and must not be posted. LATER: another entry of the target is
    being posted; the claim is released, the item waits for a later drain. LOST: the
    worker no longer holds it (lease expired and taken over, or superseded meanwhile)."""
    row = session.execute(
        select(OutboxRow.id, OutboxRow.target, OutboxRow.seq)
        .where(held_by(item_id, worker), OutboxRow.lease_until >= now).with_for_update()
    ).first()
    if row is None:
        return LOST
    newer = session.execute(select(func.max(OutboxRow.seq)).where(OutboxRow.target == row.target)).scalar()
    if newer is not None and newer > row.seq:
        session.execute(update(OutboxRow).where(OutboxRow.id == item_id)
                        .values(state=SUPERSEDED, claimed_by=None, lease_until=None, post_started_at=None)
                        .execution_options(synchronize_session=False))
        return SUPERSEDED_NOW
    other = aliased(OutboxRow)
    busy = session.execute(select(other.id).where(other.target == row.target, other.id != item_id,
                                                  _posting(now, other)).limit(1)).first()
    if busy is not None:
        session.execute(update(OutboxRow).where(OutboxRow.id == item_id)
                        .values(claimed_by=None, lease_until=None, post_started_at=None)
                        .execution_options(synchronize_session=False))
        return LATER
    session.execute(update(OutboxRow).where(OutboxRow.id == item_id).values(post_started_at=now)
                    .execution_options(synchronize_session=False))
    return POST


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
                        .values(state=WAITING, attempts=0, next_attempt_at=None, claimed_by=None, lease_until=None,
                                post_started_at=None)
                        .execution_options(synchronize_session=False))
    return fresh, stale
