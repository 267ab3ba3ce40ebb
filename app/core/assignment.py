"""Team review: dealing the samples that need review to the reviewers of each required role.

Pure. `to_review` lists what needs review in dealing order (regressions, changed, improved, then
a seeded sample of the unchanged when `[policy] sample_unchanged` asks; a set whose regression
rate the policy bounds in the bound's sample order). `deal(items, reviewers, overlap, seed)` gives
each item to `overlap` distinct reviewers (all of them when the role has fewer), always to the least loaded ones, so the queues of one
role differ by at most one item; ties are broken by an order of the reviewers drawn from
`seed`, so the same request deals the same way every time (docs/user-guide.md "Working as a team").
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

# The order samples are dealt in: what the policy needs most first.
TIERS = ("regressed", "changed", "improved")
UNCHANGED = "unchanged"   # dealt only as a seeded sample, when [policy] sample_unchanged asks


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


def to_review(classes: dict[str, list[tuple[str, str]]], *, orders: dict[str, list[str]] | None = None,
              sample_unchanged: float = 0.0, seed: int = 0) -> list[tuple[str, str]]:
    """(eval set, sample id) of the samples that need review, in the order they are dealt:
    regressions first, then changed, then improved, then (when `sample_unchanged` > 0) a seeded
    sample of that share of each eval set's unchanged samples. `classes`: eval set -> [(sample id,
    class)], in the eval set's order.

    `orders`: eval set -> the regression-rate bound's sample order (ReviewService.review_order,
    docs/statistics.md "The sample") for the sets the policy bounds. Such a set is dealt in that
    order: its census (the regressions) in the regressions' tier, the rest of the order (changed,
    improved and missing interleaved by stratum) in the changed tier. Dealing round-robin along the
    order, every reviewer's queue is a subsequence of it, so the team working its queues front to
    back labels (close to) a prefix of the order: the random sample the bound assumes."""
    orders = orders or {}
    tiers: dict[str, list[tuple[str, str]]] = {t: [] for t in (*TIERS, UNCHANGED)}
    for eval_set, rows in classes.items():
        cls_of = dict(rows)
        if eval_set in orders:
            for sid in orders[eval_set]:
                tier = "regressed" if cls_of.get(sid) == "regressed" else "changed"
                tiers[tier].append((eval_set, sid))
        else:
            for tier in TIERS:
                tiers[tier].extend((eval_set, sid) for sid, cls in rows if cls == tier)
        if sample_unchanged > 0:
            tiers[UNCHANGED].extend((eval_set, sid) for sid in unchanged_sample(rows, sample_unchanged, seed,
                                                                                eval_set))
    # tier by tier, each tier eval set by eval set (classes' order), as before
    out = []
    for tier in (*TIERS, UNCHANGED):
        for eval_set in classes:
            out.extend(item for item in tiers[tier] if item[0] == eval_set)
    return out


def unchanged_sample(rows: list[tuple[str, str]], share: float, seed: int, eval_set: str) -> list[str]:
    """A seeded sample of ceil(share x n) of the unchanged sample ids in `rows`, in the order drawn
    (so any prefix is a random sample too); the same request draws the same samples."""
    ids = [sid for sid, cls in rows if cls == UNCHANGED]
    n = min(len(ids), math.ceil(share * len(ids) - 1e-9))
    if n <= 0:
        return []
    rng = random.Random(f"{seed}:{eval_set}:unchanged")
    return [ids[i] for i in rng.sample(range(len(ids)), n)]


def next_open(queue: list[tuple[str, str]], done: set[tuple[str, str]], after: tuple[str, str] | None, *,
              first_open: bool = False, wrap: bool = True) -> tuple[str, str] | None:
    """The next open (not done) item of `queue` (keys in queue order) for Next. Usually the first open
    one after `after`, wrapping round. With `first_open` (the request bounds a regression rate) the
    first open item of the queue other than `after`: skipping an item only defers it by one, so what
    I label stays a prefix of my share of the bound's order (ReviewService.next_to_review's rule)."""
    if first_open:
        return next((k for k in queue if k not in done and k != after), None)
    start = queue.index(after) + 1 if after is not None and after in queue else 0
    for key in queue[start:] + (queue[:start] if wrap else []):
        if key not in done:
            return key
    return None


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


def queue_of(items: list[Assignment], user: str, done: set[tuple[str, str, str]],
             eval_set: str | None = None) -> list[QueueItem]:
    """`user`'s queue in dealing order, each item done or not (`done`: (user, eval set, sample id) of
    the labels that say something). A sample dealt to them in two roles is listed once."""
    me = user.strip().lower()
    seen, out = set(), []
    for a in items:
        if a.user != me or (eval_set is not None and a.eval_set != eval_set) or (a.eval_set, a.sample_id) in seen:
            continue
        seen.add((a.eval_set, a.sample_id))
        out.append(QueueItem(a.eval_set, a.sample_id, (me, a.eval_set, a.sample_id) in done, a.position))
    return out


def progress_of(items: list[Assignment], done: set[tuple[str, str, str]]) -> dict:
    """{role: {"assigned", "done", "reviewers": {user: {"assigned", "done"}}}} of the team's queues."""
    out: dict[str, dict] = {}
    for a in items:
        role = out.setdefault(a.role, {"assigned": 0, "done": 0, "reviewers": {}})
        mine = role["reviewers"].setdefault(a.user, {"assigned": 0, "done": 0})
        finished = (a.user, a.eval_set, a.sample_id) in done
        for bucket in (role, mine):
            bucket["assigned"] += 1
            bucket["done"] += int(finished)
    return out
