"""Team review under load (issue 12, item 7): reviewer processes working their assigned queues at
once on a real PostgreSQL, plus one QA process adjudicating the disagreements as they appear.

Run: .venv/bin/python benchmarks/bench_team.py [--reviewers 20] [--rate 5] [--duration 60] [--overlap 2]

What it does and checks:
  - starts a throwaway PostgreSQL (as tests/support/postgres.py does), creates one review request
    whose samples to review are just enough for every reviewer to label `rate` labels/s for
    `duration` s with overlap k (policy overlap = k, min_agreement alpha 0.67)
  - each reviewer process (its own ReviewService and Store, its own SSH key) takes its queue
    (my_queue, once, as the window does) and labels it at `rate` labels/s, each label signed and
    stored in its own transaction (set_label, the keystroke path); it counts what the store acknowledged
  - the QA process asks for the disagreement queue every 2 s and adjudicates what it finds
  - window-equivalent clients (one per reviewer plus QA's; threads with their own Store, in a few
    processes) poll the store's change counter as the window does (ReviewService.change_counter()
    every signoff.ui.team_view.POLL_MS) and on a change read what the window reloads (the request and its
    labels, as team_view._read_team); per write and client: the time from the write's
    acknowledgement to the end of the client's first poll that started after it (and its reload,
    when that poll saw the change) -- an upper bound of when that window shows it
  - at the end: labels stored = labels acknowledged, no sample dealt beyond its overlap, every
    queue drained, agreement computed (and how long that takes), the status re-evaluated
  - the floor, in the same run before the load: one reviewer labeling alone (sequential signed
    set_label on a second request) and one client's poll + reload on an idle store
Prints the figures, then a table to paste into docs/performance.md "Team review under load".
Takes about duration + 60 s on a quiet 2-core machine (setup, start-up, the agreement).

"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VERDICTS = ("candidate", "baseline", "tie", "both-wrong")


def reviewer_names(n: int) -> list[str]:
    return [f"sme{i:02d}@example.com" for i in range(1, n + 1)]


def config_text(reviewers: list[str], overlap: int) -> str:
    from tests.support.keys import signers_toml

    people = ", ".join(f'"{r}"' for r in reviewers)
    return f"""
[[eval_sets]]
name = "support"
samples = "s.jsonl"
predictions = "p.jsonl"

[policy]
required = {{ sme = 2, qa = 1 }}
overlap = {overlap}
min_agreement = {{ metric = "alpha", value = 0.67 }}

[roles]
sme = [{people}]
qa = ["quinn@example.com"]

[labels]
errors = ["wrong", "unsafe"]

{signers_toml([*reviewers, "quinn@example.com", "ci@example.com"])}"""


def tables(n_review: int) -> dict:
    """n_review samples that need review (a third regressed, the rest changed) and as many unchanged."""
    ids = [f"t{i:06d}" for i in range(2 * n_review)]
    ref = [f"r{i}" for i in range(len(ids))]
    base, cand = [], []
    for i in range(len(ids)):
        if i >= n_review:            # unchanged
            base.append(ref[i]); cand.append(ref[i])
        elif i % 3 == 0:             # regressed
            base.append(ref[i]); cand.append("x")
        else:                        # changed, both wrong
            base.append("x"); cand.append("y")
    return {"support": ({"id": ids, "input": [f"q{i}" for i in range(len(ids))], "reference": ref},
                        {"id": ids, "output": base}, {"id": ids, "output": cand})}


def verdict_for(sample_id: str, user: str) -> str:
    """What a reviewer says: the sample's 'true' verdict, else (about 1 in 8) another one."""
    import hashlib

    truth = VERDICTS[int(hashlib.sha256(sample_id.encode()).hexdigest(), 16) % 4]
    noise = int(hashlib.sha256(f"{sample_id}|{user}".encode()).hexdigest(), 16)
    return truth if noise % 8 else VERDICTS[(VERDICTS.index(truth) + 1 + noise % 3) % 4]


def reviewer(url: str, home: str, user: str, request_id: int, rate: float, duration: float, start_at: float,
             out: mp.Queue, deadline: float = 180.0) -> None:
    os.environ["SIGNOFF_HOME"] = home
    from signoff.core.model import Verdict
    from signoff.service.review import ReviewService
    from signoff.store.store import Store
    from tests.support.keys import signer

    store = Store(url, migrate=False)
    svc = ReviewService(store, user=user, signer=signer(user))
    queue = [q for q in svc.my_queue(request_id) if not q.done]
    while time.time() < start_at:
        time.sleep(0.01)
    acked, latencies, errors, acked_at = 0, [], [], []
    t0 = time.monotonic()
    for i, item in enumerate(queue):
        due = t0 + i / rate
        if due - t0 > duration or time.time() > start_at + deadline:   # a machine too slow: stop, say so
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        began = time.monotonic()
        try:
            svc.set_label(request_id, item.eval_set, item.sample_id,
                          verdict=Verdict(verdict_for(item.sample_id, user)), refresh=False)
            acked += 1
            acked_at.append(time.time())
        except Exception as exc:   # counted, the run goes on: the figures say what failed
            errors.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.monotonic() - began)
    elapsed = time.monotonic() - t0
    left = sum(1 for q in svc.my_queue(request_id) if not q.done)
    store.close()
    out.put({"user": user, "acked": acked, "latencies": latencies, "errors": errors[:3], "n_errors": len(errors),
             "elapsed": elapsed, "queue": len(queue), "left": left, "acked_at": acked_at})


def _watch(url: str, request_id: int, stop, polls: list, interval: float) -> None:
    """One window-equivalent client: StoreWatcher's poll, then TeamView's reload on a change."""
    from signoff.service.review import ReviewService
    from signoff.store.store import Store

    store = Store(url, migrate=False)
    svc = ReviewService(store, user="viewer@example.com")
    head = svc.change_counter()
    try:
        while not stop.is_set():
            began = time.time()
            now = svc.change_counter()
            ended = time.time()
            changed = now != head
            if changed:
                head = now
                svc.get_request(request_id)
                svc.labels_frame(request_id)
                ended = time.time()
            polls.append((began, ended, changed))
            time.sleep(max(0.0, interval - (time.time() - began)))
    finally:
        store.close()


def watchers(url: str, home: str, request_id: int, n: int, stop, out: mp.Queue) -> None:
    """`n` window-equivalent clients as threads of one process, each with its own connection."""
    import threading

    os.environ["SIGNOFF_HOME"] = home
    from signoff.ui.team_view import POLL_MS

    polls = [[] for _ in range(n)]
    threads = [threading.Thread(target=_watch, args=(url, request_id, stop, polls[i], POLL_MS / 1000))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put({"user": "watchers", "polls": polls})


def refresh_delays(writes: list[float], clients: list[list[tuple[float, float, bool]]]) -> list[float]:
    """Per write and client: end of the client's first poll (and reload) that started after the write,
    minus the write's acknowledgement."""
    import bisect

    out = []
    for polls in clients:
        starts = [p[0] for p in polls]
        for w in writes:
            i = bisect.bisect_left(starts, w)
            if i < len(polls):
                out.append(polls[i][1] - w)
    return out


def floor(url: str, ci, users: list[str], overlap: int) -> dict:
    """The same operations with no load, in this run: 20 signed labels by one reviewer, one after
    another, on a request of their own, and 10 idle polls + reloads of one client."""
    from signoff.core.model import Verdict
    from signoff.service.review import ReviewService
    from signoff.store.store import Store
    from tests.plugin_doubles import InMemorySource
    from tests.support.keys import signer

    source = InMemorySource(config=config_text(users, overlap), revisions={"floor": tables(30)})
    req = ci.create_request(source, sha="floor")   # a change of its own: nothing carries over
    store = Store(url, migrate=False)
    try:
        svc = ReviewService(store, user=users[0], signer=signer(users[0]))
        queue = [q for q in svc.my_queue(req.id)][:20]
        label_s = []
        for item in queue:
            t = time.monotonic()
            svc.set_label(req.id, item.eval_set, item.sample_id, verdict=Verdict.TIE, refresh=False)
            label_s.append(time.monotonic() - t)
        poll_s = []
        for _ in range(10):
            t = time.monotonic()
            svc.change_counter()
            svc.get_request(req.id)
            svc.labels_frame(req.id)
            poll_s.append(time.monotonic() - t)
    finally:
        store.close()
    return {"request": req.id, "label_ms": statistics.median(label_s) * 1000,
            "poll_ms": statistics.median(poll_s) * 1000}


def qa(url: str, home: str, request_id: int, start_at: float, stop, out: mp.Queue) -> None:
    os.environ["SIGNOFF_HOME"] = home
    from signoff.service.review import ReviewService
    from signoff.store.store import Store
    from tests.support.keys import signer

    store = Store(url, migrate=False)
    svc = ReviewService(store, user="quinn@example.com", signer=signer("quinn@example.com"))
    adjudicated, rounds, scan_s, errors = 0, 0, [], []
    while time.time() < start_at:
        time.sleep(0.01)
    while True:
        last = stop.is_set()   # the reviewers are done: one last round
        began = time.monotonic()
        queue = svc.disagreements(request_id)
        scan_s.append(time.monotonic() - began)
        rounds += 1
        for d in queue[:20]:
            votes = Counter(d["labels"].get("verdict", {}).values())
            if not votes:
                continue
            try:
                svc.adjudicate(request_id, d["eval_set"], d["sample_id"], verdict=votes.most_common(1)[0][0])
                adjudicated += 1
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
        if last:
            break
        time.sleep(2)
    left = len(svc.disagreements(request_id))
    store.close()
    out.put({"user": "qa", "adjudicated": adjudicated, "rounds": rounds, "scan_s": scan_s, "errors": errors[:3],
             "left": left})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviewers", type=int, default=20)
    ap.add_argument("--rate", type=float, default=5.0, help="labels per second per reviewer")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of labeling")
    ap.add_argument("--overlap", type=int, default=2)
    ap.add_argument("--clients", type=int, default=None, help="window-equivalent clients (default reviewers + 1)")
    ap.add_argument("--deadline", type=float, default=180.0,
                    help="seconds after the common start at which every reviewer stops, even with items left "
                         "(keeps a run under 5 min; such a queue counts as not drained)")
    args = ap.parse_args()
    run_began = time.monotonic()

    from tests.support.postgres import PostgresServer, find_bin_dir

    home = tempfile.mkdtemp(prefix="signoff-bench-home-")
    os.environ["SIGNOFF_HOME"] = home
    users = reviewer_names(args.reviewers)
    per_reviewer = int(args.rate * args.duration)
    n_review = math.ceil(per_reviewer * args.reviewers / args.overlap)
    server = PostgresServer(find_bin_dir())
    server.start()
    try:
        url = server.create_database("signoff_bench")
        from signoff.service.review import ReviewService
        from signoff.store.store import Store
        from tests.plugin_doubles import InMemorySource
        from tests.support.keys import signer

        store = Store(url)
        ci = ReviewService(store, user="ci@example.com", signer=signer("ci@example.com"))
        t = time.monotonic()
        req = ci.create_request(InMemorySource(tables(n_review), config=config_text(users, args.overlap)), sha="c1")
        created_s = time.monotonic() - t
        t = time.monotonic()
        dealt = ci.assignments(req.id)
        deal_s = time.monotonic() - t
        print(f"request {req.id}: {n_review:,} samples to review, {len(dealt):,} items dealt in {deal_s:.2f} s "
              f"(request made in {created_s:.1f} s)", flush=True)
        base = floor(url, ci, users, args.overlap)
        print(f"floor (no load, this run): signed label median {base['label_ms']:.0f} ms; idle poll + reload "
              f"median {base['poll_ms']:.0f} ms", flush=True)

        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        start_at = time.time() + 3 + 0.3 * args.reviewers   # every process started and its queue read
        procs = [ctx.Process(target=reviewer, args=(url, home, u, req.id, args.rate, args.duration, start_at, out,
                                                     max(args.deadline, args.duration)))
                 for u in users]
        stop = ctx.Event()
        procs.append(ctx.Process(target=qa, args=(url, home, req.id, start_at, stop, out)))
        n_clients = args.reviewers + 1 if args.clients is None else args.clients
        watch_stop = ctx.Event()
        groups = [n_clients // 4 + (1 if i < n_clients % 4 else 0) for i in range(4)]
        procs += [ctx.Process(target=watchers, args=(url, home, req.id, g, watch_stop, out)) for g in groups if g]
        for p in procs:
            p.start()
        results = [out.get(timeout=args.duration + 600) for _ in users]
        stop.set()
        results.append(out.get(timeout=600))
        time.sleep(3)      # the clients' last polls see the last writes
        watch_stop.set()
        results += [out.get(timeout=600) for g in groups if g]
        for p in procs:
            p.join(timeout=60)
        wall = time.time() - start_at

        revs = [r for r in results if r["user"] not in ("qa", "watchers")]
        clients = [c for r in results if r["user"] == "watchers" for c in r["polls"]]
        delays = sorted(refresh_delays(sorted(t for r in revs for t in r["acked_at"]), clients))
        qa_r = next(r for r in results if r["user"] == "qa")
        acked = sum(r["acked"] for r in revs)
        stored = [l for l in store.labels(req.id) if l.user != "quinn@example.com"]   # not the floor's request
        items = ci.assignments(req.id)
        per_sample = Counter((a.role, a.eval_set, a.sample_id) for a in items)
        overlap_ok = all(n == (args.overlap if role == "sme" else 1) for (role, _, _), n in per_sample.items())
        drained = [r["user"] for r in revs if r["left"]]
        lat = sorted(x for r in revs for x in r["latencies"])
        t = time.monotonic()
        figures = ci.agreement(req.id)
        agreement_s = time.monotonic() - t
        verdict_fig = next(f for f in figures if f.kind == "verdict")
        t = time.monotonic()
        verdict = ci.refresh_status(req.id)
        refresh_s = time.monotonic() - t
        store.close()

        print(f"reviewers: {args.reviewers} x {args.rate:g} labels/s for {args.duration:g} s, overlap {args.overlap}; "
              f"wall {wall:.1f} s")
        print(f"labels acknowledged {acked:,}, stored {len(stored):,}: {'EQUAL' if acked == len(stored) else 'DIFFER'}"
              f"; errors {sum(r['n_errors'] for r in revs)} {[e for r in revs for e in r['errors']][:3]}")
        print(f"achieved rate {acked / max(1e-9, statistics.mean(r['elapsed'] for r in revs)) / args.reviewers:.2f} "
              f"labels/s per reviewer; label latency median {statistics.median(lat) * 1000:.0f} ms, "
              f"p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
        print(f"no sample beyond its overlap: {overlap_ok} ({len(per_sample):,} (role, sample) pairs)")
        print(f"every queue drained: {not drained} {drained[:5]}")
        print(f"QA: {qa_r['adjudicated']} adjudicated in {qa_r['rounds']} rounds, queue scan median "
              f"{statistics.median(qa_r['scan_s']):.2f} s, max {max(qa_r['scan_s']):.2f} s, left {qa_r['left']}; "
              f"errors {qa_r['errors']}")
        print(f"agreement (verdict): alpha {verdict_fig.alpha:.3f}, kappa {verdict_fig.kappa}, AC1 {verdict_fig.ac1:.3f} "
              f"on {verdict_fig.doubly:,} doubly-labeled samples ({verdict_fig.disagreements} disagree); "
              f"computed in {agreement_s:.2f} s")
        print(f"refresh reaching {len(clients)} window-equivalent clients (poll every 1 s + reload): "
              f"median {statistics.median(delays):.2f} s, p95 {delays[int(0.95 * (len(delays) - 1))]:.2f} s, "
              f"max {delays[-1]:.2f} s over {len(delays):,} (write, client) pairs; "
              f"{'within' if statistics.median(delays) <= 2 else 'ABOVE'} 2 s (median)")
        print(f"status re-evaluated in {refresh_s:.2f} s: {verdict.status.value} — {verdict.description}")
        rate = acked / max(1e-9, statistics.mean(r['elapsed'] for r in revs)) / args.reviewers
        try:
            load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        except OSError:
            load = "n/a"
        rows = [
            ("set-up", f"{args.reviewers} reviewers x {args.rate:g} labels/s for {args.duration:g} s, overlap "
                       f"{args.overlap}; {n_review:,} samples to review; load average {load}"),
            ("labels acknowledged / stored", f"{acked:,} / {len(stored):,} "
                                             f"({'equal' if acked == len(stored) else 'DIFFER'}), "
                                             f"{sum(r['n_errors'] for r in revs)} errors"),
            ("no sample dealt beyond its overlap", f"{'yes' if overlap_ok else 'NO'} ({len(dealt):,} items dealt "
                                                   f"in {deal_s:.1f} s)"),
            ("every queue drained", "yes" if not drained else f"NO: {', '.join(drained[:5])}"),
            ("achieved rate", f"{rate:.2f} labels/s per reviewer (of {args.rate:g} asked)"),
            ("label latency (store + sign)", f"median {statistics.median(lat) * 1000:.0f} ms, p95 "
                                             f"{lat[int(0.95 * (len(lat) - 1))] * 1000:.0f} ms; floor (alone) "
                                             f"{base['label_ms']:.0f} ms"),
            ("agreement computed", f"alpha {verdict_fig.alpha:.3f} on {verdict_fig.doubly:,} doubly-labeled samples "
                                   f"in {agreement_s:.2f} s"),
            ("QA", f"{qa_r['adjudicated']} adjudicated in {qa_r['rounds']} scans, scan median "
                   f"{statistics.median(qa_r['scan_s']):.2f} s"),
            ("refresh reaching every window (median)", f"{statistics.median(delays):.2f} s (p95 "
                                                        f"{delays[int(0.95 * (len(delays) - 1))]:.2f} s, "
                                                        f"{len(clients)} clients); floor: idle poll + reload "
                                                        f"{base['poll_ms']:.0f} ms + half a poll interval"),
            ("benchmark wall time", f"{time.monotonic() - run_began:.0f} s"),
        ]
        print("\nfor docs/performance.md:\n\n| figure | result |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
        ok = acked == len(stored) and overlap_ok and not drained and statistics.median(delays) <= 2
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
