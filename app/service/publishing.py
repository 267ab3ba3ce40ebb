"""Draining the outbox: post what waits, with retries and backoff.

The decision is already committed (with its audit entry) when an entry is
enqueued; here we only deliver. Leases in the store keep two processes from
posting the same entry; supersession keeps an old state from overtaking a
newer one, also one already claimed: each entry is re-checked against the
newest of its target right before its post (Store.begin_post), and per target
no two posts run at once (app/store/outbox.py). `signoff publish` and the
window's background drain (OutboxDrainer) both run publish_outbox.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from signoff.plugin_api import DeliveryError, StatusUpdate
from signoff.registry import registry
from signoff.store import outbox as ob
from signoff.store.store import Store

from . import anchors

# A drain's claim on its entries (a lease). No post starts in the last
# LEASE_MARGIN_S of it: a forge post takes at most a GET and a POST, each
# bounded by the (connect, read) timeouts, so none outlives the lease and
# another drainer never posts an entry this one is still posting.
LEASE_S = 120.0
LEASE_MARGIN_S = 60.0
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 600.0
STATUS_FIELDS = ("repo", "sha", "state", "description", "context", "target_url", "ref")


@dataclass
class PublishReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    superseded: int = 0                   # claimed, then found older than a newer state: not posted
    waiting: int = 0                      # still in the outbox after this run
    errors: list[str] = field(default_factory=list)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff_seconds(attempts: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when longer."""
    rng = rng or random
    cap = min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** max(0, attempts - 1)))
    delay = rng.uniform(cap / 2, cap)
    return max(delay, retry_after or 0.0)


def status_update_from(payload: dict) -> StatusUpdate:
    return StatusUpdate(**{k: payload.get(k, "") for k in STATUS_FIELDS})


def recheck_identities(store: Store, recheck=None) -> None:
    """Before a drain: make the forge identity checks that wait (a decision made while the forge was
    unreachable counts once checked; docs/trust.md "Forge identity check"). A status that changes is
    queued, so this drain posts it. Never stops the drain."""
    try:
        if recheck is None:
            if not store.unchecked_decisions():
                return
            from .review import ReviewService   # (review imports this module)

            recheck = ReviewService(store).recheck_identities
        recheck()
    except Exception as exc:  # the forge or the policy: the checks wait for the next drain
        import logging

        logging.getLogger(__name__).warning("identity checks not made now: %s", exc)


def publish_outbox(store: Store, *, worker: str | None = None, now: datetime | None = None,
                   recheck=None) -> PublishReport:
    """Post what waits. `recheck`: the forge identity re-check to run first (default: a
    ReviewService's, when any decision waits for it)."""
    worker = worker or worker_id()
    report = PublishReport()
    recheck_identities(store, recheck)
    sinks: dict[tuple, object] = {}
    # A claimed entry found superseded means a newer state of its target waits: claim again
    # (a few rounds at most) so this run posts it instead of leaving it to the next one.
    for _round in range(3):
        superseded_before = report.superseded
        started = time.monotonic()
        for item in store.claim_outbox(worker, now=now, lease_seconds=LEASE_S):
            if time.monotonic() - started > LEASE_S - LEASE_MARGIN_S:
                break  # too close to the end of the lease: the rest wait for it to run out, then any drainer takes them
            # The last check, right before the post: a newer state of the target may have been
            # queued since the claim (then this one is superseded and never posted), or another
            # drainer may be posting one (then this one waits for a later drain).
            check = store.begin_post(item.id, worker, now=now)
            if check == ob.SUPERSEDED_NOW:
                report.superseded += 1
                continue
            if check != ob.POST:
                continue
            payload = anchors.anchor_payload(store, item)   # the audit head goes out with the status
            try:
                key = (item.sink, payload.get("api_url", ""))
                if key not in sinks:
                    sink_cls = registry().sink(item.sink)
                    sinks[key] = sink_cls.create(api_url=payload.get("api_url", ""), store=store)
                sink = sinks[key]
                deliver = getattr(sink, "deliver", None)  # a sink with payloads of its own (MLflow write-backs)
                if callable(deliver):
                    deliver(payload)
                else:
                    sink.post(status_update_from(payload))
            except DeliveryError as exc:
                if exc.retry:
                    at = (now or datetime.now(timezone.utc)) + timedelta(seconds=backoff_seconds(item.attempts + 1, exc.retry_after))
                    store.mark_retry(item.id, worker, str(exc), at)
                    report.retrying += 1
                else:
                    store.mark_failed(item.id, worker, str(exc))
                    report.failed += 1
                report.errors.append(f"{item.sink} {payload.get('sha', '')[:7]}: {exc}")
                continue
            except Exception as exc:  # a sink bug or bad config: keep the entry, say why
                store.mark_failed(item.id, worker, f"{type(exc).__name__}: {exc}")
                report.failed += 1
                report.errors.append(f"{item.sink} {payload.get('sha', '')[:7]}: {exc}")
                continue
            store.mark_delivered(item.id, worker)
            anchors.after_delivery(store, item, payload)   # git note + audited 'status.posted'
            report.delivered += 1
        if report.superseded == superseded_before:
            break
    report.waiting = len(store.outbox_items(states=("waiting",)))
    return report


# -- background draining (the app) -------------------------------------------

@dataclass(frozen=True)
class OutboxState:
    """What waits, for the window's status bar: counts, the next retry, and
    the reasons the forge gave (failed entries are permanent until fixed)."""

    waiting: int
    failed: int
    next_attempt_at: datetime | None
    problems: tuple[str, ...]            # one line per waiting-with-error or failed entry, newest first

    @property
    def summary(self) -> str:
        if not self.waiting and not self.failed:
            return "all statuses posted"
        parts = []
        if self.waiting:
            parts.append(f"{self.waiting} status update(s) waiting to be posted")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return ", ".join(parts)


def _describe_item(item) -> str:
    p = item.payload
    return f"{item.sink} {p.get('repo', '')}@{str(p.get('sha', ''))[:7]} {p.get('state', '')}: {item.last_error}"


def outbox_state(store: Store) -> OutboxState:
    waiting = store.outbox_items(states=("waiting",))
    failed = store.outbox_items(states=("failed",))
    due = [i.next_attempt_at for i in waiting if i.next_attempt_at is not None]
    problems = [_describe_item(i) for i in sorted([*failed, *[w for w in waiting if w.last_error]],
                                                   key=lambda i: i.id, reverse=True)]
    return OutboxState(waiting=len(waiting), failed=len(failed), next_attempt_at=min(due) if due else None,
                       problems=tuple(problems[:20]))


class OutboxDrainer:
    """Drains the outbox in the background of the app. Qt-free: the UI runs
    `drain()` in a worker (e.g. on a QTimer every 30 s, and right after a
    decision) and shows `state()`. One drain at a time per drainer: a call
    while another runs returns at once with None. Leases in the store keep
    several app instances (and `signoff publish`) from posting the same entry."""

    def __init__(self, store: Store, *, worker: str | None = None):
        self.store = store
        self.worker = worker or worker_id()
        self._running = threading.Lock()
        self.last_report: PublishReport | None = None

    def drain(self) -> PublishReport | None:
        if not self._running.acquire(blocking=False):
            return None
        try:
            self.last_report = publish_outbox(self.store, worker=self.worker)
            return self.last_report
        finally:
            self._running.release()

    def state(self) -> OutboxState:
        return outbox_state(self.store)
