"""Team review: dealing the samples that need review to the reviewers of each required role.

Pure. `deal(items, reviewers, overlap, seed)` gives each item to `overlap` distinct reviewers
(all of them when the role has fewer), always to the least loaded ones, so the queues of one
role differ by at most one item; ties are broken by an order of the reviewers drawn from
`seed`, so the same request deals the same way every time (docs/user-guide.md "Working as a team").
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

# The order samples are dealt in: what the policy needs most first.
TIERS = ("regressed", "changed", "improved")


@dataclass(frozen=True)
class Assignment:
    role: str
    eval_set: str
    sample_id: str
    user: str
    position: int        # the item's place in the dealing order (a queue is read in this order)


@dataclass(frozen=True)
class QueueItem:
    eval_set: str
    sample_id: str
    done: bool           # the assignee has labeled it (verdict, correct/incorrect or an error category)
    position: int = 0


def seed_of(request_id: int, content_hash: str) -> int:
    """The request's dealing seed: the same request deals the same way, on any machine."""
    digest = hashlib.sha256(f"signoff/assign/v1:{int(request_id)}:{content_hash}".encode()).digest()
    return int.from_bytes(digest[:7], "big")   # fits a signed 64-bit column


def to_review(classes: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """(eval set, sample id) of the samples that need review, regressions first, then changed,
    then improved. `classes`: eval set -> [(sample id, class)], in the eval set's order."""
    out = []
    for tier in TIERS:
        for eval_set, rows in classes.items():
            out.extend((eval_set, sid) for sid, cls in rows if cls == tier)
    return out


def deal(items: list[tuple[str, str]], reviewers: list[str], overlap: int, seed: int,
         role: str = "") -> list[Assignment]:
    """Each item to min(overlap, len(reviewers)) distinct reviewers, least loaded first."""
    people = sorted({r.strip().lower() for r in reviewers if r.strip()})
    if not people or not items:
        return []
    k = max(1, min(int(overlap), len(people)))
    rng = random.Random(f"{seed}:{role}")
    rng.shuffle(people)
    rank = {p: i for i, p in enumerate(people)}
    load = {p: 0 for p in people}
    out = []
    for position, (eval_set, sample_id) in enumerate(items):
        # least loaded first; among equals, the one that comes next after the last taker (round-robin)
        chosen = sorted(people, key=lambda p: (load[p], (rank[p] - position * k) % len(people)))[:k]
        for p in chosen:
            load[p] += 1
            out.append(Assignment(role=role, eval_set=eval_set, sample_id=str(sample_id), user=p,
                                  position=position))
    return out


def reassign(open_items: list[Assignment], holders: dict[tuple[str, str, str], set[str]], to: list[str],
             load: dict[str, int]) -> list[tuple[Assignment, str]]:
    """Where each of a reviewer's open items goes: to the least loaded of `to` who does not
    already hold that sample in that role (`holders`: (role, eval set, sample id) -> users).
    Returns (item, new user); an item nobody in `to` can take is left out."""
    load = {u: load.get(u, 0) for u in to}
    moves = []
    for item in sorted(open_items, key=lambda a: a.position):
        have = holders.get((item.role, item.eval_set, item.sample_id), set())
        free = [u for u in to if u not in have]
        if not free:
            continue
        target = min(free, key=lambda u: (load[u], to.index(u)))
        load[target] += 1
        have.add(target)
        moves.append((item, target))
    return moves
