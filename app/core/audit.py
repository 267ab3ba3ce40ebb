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


# -- replay: the log is the record -------------------------------------------------
#
# Every write that changes what a review says is in the log with everything needed to
# redo it. `replay` redoes the log and returns what the tables must hold; `compare_state`
# reports, by table and row, where the tables differ. Entries written by reviewers carry
# their signed statement (payload["statement"], ["signature"], ["key"]); older entries
# (and unsigned ones) carry the same fields in the payload itself. Both are read.

LABEL_FIELDS = ("verdict", "correct", "error", "comment")
STATUS_ACTIONS = ("request.create", "status.change", "decision")


def label_row(request_id, eval_set, sample_id, user, verdict=None, correct=None, error=None, comment=None) -> list:
    """The compact form of one label in the log: [request, eval_set, sample_id, user, verdict, correct, error, comment]."""
    return [request_id, eval_set, str(sample_id), user, verdict, correct, error or None, comment or None]


def _label_is_empty(fields: dict) -> bool:
    return fields.get("verdict") is None and fields.get("correct") is None and not fields.get("error") \
        and not fields.get("comment")


def _norm_label(fields: dict) -> dict:
    return {"verdict": fields.get("verdict") or None, "correct": fields.get("correct"),
            "error": fields.get("error") or None, "comment": fields.get("comment") or None}


def labels_of_entry(entry) -> list[tuple[tuple, dict]]:
    """((request, eval_set, sample_id, user), fields) for every label an entry sets (empty fields: deleted)."""
    p = entry.payload if isinstance(entry.payload, dict) else {}
    st = p.get("statement") if isinstance(p.get("statement"), dict) else None
    out = []
    if st is not None and isinstance(st.get("labels"), list):       # a signed batch (signoff/labels/v1)
        rid, user = st.get("request", entry.request_id), st.get("user", entry.actor)
        for lab in st["labels"]:
            if isinstance(lab, dict):
                out.append(((rid, lab.get("eval_set"), str(lab.get("sample_id")), user), _norm_label(lab)))
        return out
    if isinstance(p.get("labels"), list):                            # label.import / label.copy: compact rows
        for row in p["labels"]:
            if isinstance(row, list) and len(row) == 8:
                rid, es, sid, user, *vals = row
                out.append(((rid, es, str(sid), user), _norm_label(dict(zip(LABEL_FIELDS, vals)))))
        return out
    if entry.action == "label.set" and "eval_set" in p:              # one label, fields in the payload
        out.append(((entry.request_id, p.get("eval_set"), str(p.get("sample_id")), entry.actor), _norm_label(p)))
    return out


def decision_of_entry(entry) -> dict:
    """The decision row an entry 'decision' records (the statement's fields win when signed)."""
    p = entry.payload if isinstance(entry.payload, dict) else {}
    st = p.get("statement") if isinstance(p.get("statement"), dict) else {}
    return {"request_id": entry.request_id, "user": st.get("user", p.get("user", entry.actor)),
            "role": st.get("role", p.get("role")), "kind": st.get("decision", p.get("kind")),
            "content_hash": st.get("content_hash", p.get("content_hash")),
            "comment": st.get("comment", p.get("comment")) or "", "at": _ts(entry.at), "seq": entry.seq}


def replay(entries) -> dict:
    """What the tables must hold after the log's entries (ordered by seq):
    {"requests": {id: {"status", "description", "seq"}}, "decisions": [dict...],
     "labels": {(request, eval_set, sample_id, user): fields}}."""
    requests: dict[int, dict] = {}
    decisions: list[dict] = []
    labels: dict[tuple, dict] = {}
    for e in entries:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.action == "decision":
            decisions.append(decision_of_entry(e))
        for key, fields in labels_of_entry(e):
            if _label_is_empty(fields):
                labels.pop(key, None)
            else:
                labels[key] = fields
        if e.action in STATUS_ACTIONS and e.request_id is not None and "status" in p:
            if e.action == "request.create" or e.request_id in requests:
                requests[e.request_id] = {"status": p.get("status"), "description": p.get("description"),
                                          "seq": e.seq}
            else:
                requests[e.request_id] = {"status": p.get("status"), "description": p.get("description"),
                                          "seq": e.seq, "uncreated": True}
    return {"requests": requests, "decisions": decisions, "labels": labels}


def _fmt_key(key: tuple) -> str:
    rid, es, sid, user = key
    return f"(req {rid}, {es}, {sid}, {user})"


def compare_state(expected: dict, *, requests: dict, decisions: list[dict], labels: dict) -> list[str]:
    """Where the tables differ from the replayed log, one line per difference, by table and row.
    `requests`: {id: {"status","description"}}; `decisions`: dicts with row id, request_id, user, role,
    kind, content_hash, comment, at (ISO, as _ts); `labels`: {(request, eval_set, sample_id, user): fields}."""
    problems: list[str] = []
    for rid in sorted(set(requests) | set(expected["requests"])):
        have, want = requests.get(rid), expected["requests"].get(rid)
        if want is None:
            problems.append(f"requests row {rid}: in the store, not in the log")
        elif have is None:
            problems.append(f"requests row {rid}: in the log (entry {want['seq']}), not in the store (deleted)")
        else:
            if want.get("uncreated"):
                problems.append(f"requests row {rid}: its creation is not in the log")
            for f in ("status", "description"):
                if have[f] != want[f]:
                    problems.append(f"requests row {rid}: {f} is {have[f]!r} in the store, "
                                    f"{want[f]!r} in the log (entry {want['seq']})")
    # Decisions are matched on (request, user, time): the store writes the row with the entry's time.
    logged: dict[tuple, list[dict]] = {}
    for d in expected["decisions"]:
        logged.setdefault((d["request_id"], d["user"], d["at"]), []).append(d)
    for row in sorted(decisions, key=lambda r: r["id"]):
        key = (row["request_id"], row["user"], row["at"])
        match = logged.get(key)
        if not match:
            problems.append(f"decisions row {row['id']}: {row['kind']} by {row['user']} on request "
                            f"{row['request_id']} is in the store, not in the log")
            continue
        want = match.pop(0)
        for f in ("role", "kind", "content_hash", "comment"):
            if (row[f] or "") != (want[f] or ""):
                problems.append(f"decisions row {row['id']}: {f} is {row[f]} in the store, "
                                f"{want[f]} in the log (entry {want['seq']})")
    for rest in logged.values():
        for want in rest:
            problems.append(f"decisions: {want['kind']} by {want['user']} on request {want['request_id']} "
                            f"(entry {want['seq']}) is in the log, not in the store (deleted)")
    want_labels = expected["labels"]
    for key in sorted(set(labels) | set(want_labels), key=lambda k: tuple(str(x) for x in k)):
        have, want = labels.get(key), want_labels.get(key)
        if want is None:
            problems.append(f"labels: {_fmt_key(key)} in the store, not in the log")
        elif have is None:
            problems.append(f"labels: {_fmt_key(key)} in the log, not in the store (deleted)")
        else:
            for f in LABEL_FIELDS:
                if _norm_label(have)[f] != want[f]:
                    problems.append(f"labels: {_fmt_key(key)}: {f} is {_norm_label(have)[f]!r} in the store, "
                                    f"{want[f]!r} in the log")
    return problems
