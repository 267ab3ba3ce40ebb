"""The audit log's hash chain, as pure functions; the store persists it.

Each entry's hash covers its own fields and the previous entry's hash, so
editing or deleting any entry breaks every hash after it. The store also
keeps the head (count and last hash) so that cutting off the tail shows.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from .hashing import canonical_json

GENESIS = "0" * 64


def _ts(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def entry_hash(*, seq: int, at: datetime, actor: str, action: str, request_id: int | None, payload: dict, prev_hash: str) -> str:
    body = canonical_json(
        {"seq": seq, "at": _ts(at), "actor": actor, "action": action, "request_id": request_id, "payload": payload, "prev": prev_hash}
    )
    return hashlib.sha256(body.encode()).hexdigest()


def verify_chain(entries, head_count: int | None = None, head_hash: str | None = None) -> list[str]:
    """Problems found in `entries` (ordered by seq), each one line; empty means intact."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for e in entries:
        if e.seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (next is {e.seq})")
            expected_seq = e.seq
        if e.prev_hash != prev:
            problems.append(f"entry {e.seq}: does not follow the entry before it (deleted or edited)")
        h = entry_hash(seq=e.seq, at=e.at, actor=e.actor, action=e.action, request_id=e.request_id, payload=e.payload, prev_hash=e.prev_hash)
        if h != e.hash:
            problems.append(f"entry {e.seq} ({e.action} by {e.actor}): content does not match its hash (edited)")
        prev = e.hash
        expected_seq += 1
    if head_count is not None and head_count != expected_seq - 1:
        problems.append(f"the log should hold {head_count} entries but holds {expected_seq - 1} (entries removed at the end)")
    elif head_hash is not None and head_hash != prev:
        problems.append("the last entry is not the one recorded as the head (edited or removed)")
    return problems
