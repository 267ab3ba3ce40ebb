"""Draining the outbox: post what waits, with retries and backoff.

The decision is already committed (with its audit entry) when an entry is
enqueued; here we only deliver. Leases in the store keep two processes from
posting the same entry; supersession keeps an old state from overtaking a
newer one.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from app.plugin_api import DeliveryError, StatusUpdate
from app.registry import registry
from app.store.store import Store

BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 600.0
STATUS_FIELDS = ("repo", "sha", "state", "description", "context", "target_url")


@dataclass
class PublishReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
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


def publish_outbox(store: Store, *, worker: str | None = None, now: datetime | None = None) -> PublishReport:
    worker = worker or worker_id()
    report = PublishReport()
    sinks: dict[tuple, object] = {}
    for item in store.claim_outbox(worker, now=now):
        payload = item.payload
        try:
            key = (item.sink, payload.get("api_url", ""))
            if key not in sinks:
                sink_cls = registry().sink(item.sink)
                sinks[key] = sink_cls.create(api_url=payload.get("api_url", ""), store=store)
            sinks[key].post(status_update_from(payload))
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
        report.delivered += 1
    report.waiting = len(store.outbox_items(states=("waiting",)))
    return report
