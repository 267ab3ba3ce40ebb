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


def entry_body(*, seq: int, at: datetime, actor: str, action: str, request_id: int | None, payload: dict,
               prev_hash: str) -> bytes:
    """The bytes the installation signs for an entry (and, with the signature, what its hash covers)."""
    return canonical_json(
        {"seq": seq, "at": _ts(at), "actor": actor, "action": action, "request_id": request_id, "payload": payload,
         "prev": prev_hash}).encode()


def entry_hash(*, seq: int, at: datetime, actor: str, action: str, request_id: int | None, payload: dict,
               prev_hash: str, signature: str | None = None, key: str | None = None) -> str:
    body = {"seq": seq, "at": _ts(at), "actor": actor, "action": action, "request_id": request_id, "payload": payload,
            "prev": prev_hash}
    if signature or key:   # entries from before 0005_audit_record have neither: their hash is unchanged
        body["signature"], body["key"] = signature or "", key or ""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


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
        h = entry_hash(seq=e.seq, at=e.at, actor=e.actor, action=e.action, request_id=e.request_id, payload=e.payload,
                       prev_hash=e.prev_hash, signature=getattr(e, "signature", None), key=getattr(e, "key", None))
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


def statement_of(payload) -> tuple[dict | None, bytes | None]:
    """An entry's signed statement as (dict, the exact signed bytes); (None, None) when it has none.
    The store keeps the statement as its canonical JSON text; a dict is accepted too."""
    import json as _json

    st = payload.get("statement") if isinstance(payload, dict) else None
    if isinstance(st, dict):
        return st, canonical_json(st).encode("utf-8")
    if isinstance(st, str) and st:
        try:
            parsed = _json.loads(st)
        except ValueError:
            return {}, st.encode("utf-8")
        return (parsed if isinstance(parsed, dict) else {}), st.encode("utf-8")
    return None, None


def key_of(payload) -> str:
    """The fingerprint an entry names for its signed statement."""
    return (payload.get("key_fingerprint") or payload.get("key") or "") if isinstance(payload, dict) else ""


def labels_of_entry(entry) -> list[tuple[tuple, dict]]:
    """((request, eval_set, sample_id, user), fields) for every label an entry sets (empty fields: deleted)."""
    p = entry.payload if isinstance(entry.payload, dict) else {}
    st, _ = statement_of(p)
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
    st = statement_of(p)[0] or {}
    return {"request_id": entry.request_id, "user": st.get("user", p.get("user", entry.actor)),
            "role": st.get("role", p.get("role")), "kind": st.get("decision", p.get("kind")),
            "content_hash": st.get("content_hash", p.get("content_hash")),
            "comment": st.get("comment", p.get("comment")) or "", "at": _ts(entry.at), "seq": entry.seq,
            "identity": p.get("identity") or ""}


IDENTITY_ACTIONS = ("identity.checked", "identity.refused")   # a waiting forge identity check was made


# What a request's 'request.create' entry fixes for good (newer entries only): compared with the
# requests table, so a policy, proposal, signers' file or keys rewritten in the database shows.
REQUEST_FACTS = ("content_hash", "reviewer_keys", "policy_sha256", "candidate_policy_sha256",
                 "allowed_signers_sha256")


# A periodic inspection's row (inspections table): what was sampled is fixed by its request's
# 'request.create' entry, the estimate by its latest 'inspection.estimate' entry.
INSPECTION_ESTIMATE = ("errors", "labeled", "error_rate", "low", "high")
INSPECTION_FACTS = ("subject", "source", "tracking_uri", "model", "alias", "version", "experiment", "files",
                    "since", "sample_size", "seed", "population", "method", "confidence")


def replay(entries) -> dict:
    """What the tables must hold after the log's entries (ordered by seq):
    {"requests": {id: {"status", "description", "seq"}}, "decisions": [dict...],
     "labels": {(request, eval_set, sample_id, user): fields},
     "inspections": {request id: {facts..., estimate..., "seq", "fact_seq"}}}."""
    requests: dict[int, dict] = {}
    decisions: list[dict] = []
    labels: dict[tuple, dict] = {}
    inspections: dict[int, dict] = {}
    for e in entries:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.action == "request.create" and isinstance(p.get("inspection"), dict):
            facts = p["inspection"]
            inspections[e.request_id] = {**{f: facts.get(f) for f in INSPECTION_FACTS if f in facts},
                                         **{f: None for f in INSPECTION_ESTIMATE}, "seq": e.seq, "fact_seq": e.seq}
        elif e.action == "inspection.estimate":
            known = inspections.setdefault(e.request_id, {"uncreated": True})
            known.update({f: p.get(f) for f in INSPECTION_ESTIMATE}, seq=e.seq)
        if e.action == "decision":
            decisions.append(decision_of_entry(e))
        elif e.action in IDENTITY_ACTIONS:   # the decision it names (request, user, time) was checked
            for d in reversed(decisions):
                if (d["request_id"], d["user"], d["at"]) == (e.request_id, p.get("decision_user"),
                                                             p.get("decision_at")):
                    d["identity"], d["seq"] = p.get("identity") or "", e.seq
                    break
        for key, fields in labels_of_entry(e):
            if _label_is_empty(fields):
                labels.pop(key, None)
            else:
                labels[key] = fields
        if e.action in STATUS_ACTIONS and e.request_id is not None and "status" in p:
            known = requests.get(e.request_id) or {}
            if e.action == "request.create":
                known = {f: p[f] for f in REQUEST_FACTS if f in p}
                known["fact_seq"] = e.seq
            elif e.request_id not in requests:
                known = {"uncreated": True}
            requests[e.request_id] = {**known, "status": p.get("status"), "description": p.get("description"),
                                      "seq": e.seq}
        if e.action == "keys.update" and e.request_id in requests and "reviewer_keys" in requests[e.request_id]:
            keys = dict(requests[e.request_id]["reviewer_keys"] or {})
            keys[p.get("user")] = list(p.get("keys") or [])
            requests[e.request_id]["reviewer_keys"] = keys
    return {"requests": requests, "decisions": decisions, "labels": labels, "inspections": inspections}


def _facts(value):
    """Compare key lists as sets per user (order is not a fact), everything else as it is."""
    if isinstance(value, dict):
        return {str(k).lower(): sorted(v) if isinstance(v, list) else v for k, v in value.items()}
    return value


def _fmt_key(key: tuple) -> str:
    rid, es, sid, user = key
    return f"(req {rid}, {es}, {sid}, {user})"


def _same(a, b) -> bool:
    """Equal, numbers to the last bits of a double (a float column may round the 17th digit)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)), abs(float(b)))
    return a == b


def _compare_inspections(expected: dict, have_all: dict) -> list[str]:
    problems = []
    for rid in sorted(set(have_all) | set(expected), key=lambda r: (r is None, r)):
        have, want = have_all.get(rid), expected.get(rid)
        if want is None:
            problems.append(f"inspections row {rid}: in the store, not in the log")
            continue
        if have is None:
            if not want.get("uncreated"):
                problems.append(f"inspections row {rid}: in the log (entry {want['fact_seq']}), "
                                f"not in the store (deleted)")
            continue
        if want.get("uncreated"):
            problems.append(f"inspections row {rid}: its creation is not in the log")
        for f in INSPECTION_FACTS:
            if f in want and not _same(have.get(f), want[f]):
                problems.append(f"inspections row {rid}: {f} is {have.get(f)!r} in the store, {want[f]!r} in the "
                                f"log (entry {want['fact_seq']}): what was sampled changed since")
        for f in INSPECTION_ESTIMATE:
            if f in want and not _same(have.get(f), want[f]):
                problems.append(f"inspections row {rid}: estimate {f} is {have.get(f)!r} in the store, "
                                f"{want[f]!r} in the log (entry {want['seq']})")
    return problems


def compare_state(expected: dict, *, requests: dict, decisions: list[dict], labels: dict,
                  inspections: dict | None = None) -> list[str]:
    """Where the tables differ from the replayed log, one line per difference, by table and row.
    `requests`: {id: {"status","description"}}; `decisions`: dicts with row id, request_id, user, role,
    kind, content_hash, comment, at (ISO, as _ts); `labels`: {(request, eval_set, sample_id, user): fields};
    `inspections`: {request id: the inspections row's fields} (None: not compared)."""
    problems: list[str] = []
    if inspections is not None:
        problems += _compare_inspections(expected.get("inspections", {}), inspections)
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
            for f in REQUEST_FACTS:
                if f in want and f in have and _facts(have[f]) != _facts(want[f]):
                    what = {"policy_sha256": "its policy (signoff.toml)", "reviewer_keys": "its reviewers' keys",
                            "candidate_policy_sha256": "the candidate's proposed signoff.toml",
                            "allowed_signers_sha256": "its allowed-signers file",
                            "content_hash": "its content hash"}[f]
                    problems.append(f"requests row {rid}: {what} changed since the log recorded it "
                                    f"(entry {want.get('fact_seq', want['seq'])})")
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
        for f in ("role", "kind", "content_hash", "comment", "identity"):
            if (row.get(f) or "") != (want.get(f) or ""):
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


# -- signatures in the log ---------------------------------------------------------

INSTALLATION_KEY_ACTION = "installation.key"


def reviewer_keys(config_toml: str, allowed_signers_text: str = "", stored: dict | None = None) -> "callable":
    """user -> the OpenSSH key lines the policy lists for them (signers.keys inline lines, the
    allowed-signers file's entries, and `stored`: the keys stored with the request, {user: [lines]},
    which include the forge-published ones such as 'github:bob' resolved when the request was made)."""
    from .config import parse_config
    from .signing import SignatureError, keys_for, parse_allowed_signers

    try:
        cfg = parse_config(config_toml or "")
        inline = {u.lower(): [k for k in ks if k.startswith(("ssh-", "ecdsa-", "sk-"))]
                  for u, ks in cfg.signers.keys.items()}
    except Exception:  # an unreadable policy lists no keys; the caller says so
        inline = {}
    try:
        listed = parse_allowed_signers(allowed_signers_text or "")
    except SignatureError:
        listed = []

    stored_keys = {str(u).lower(): [k for k in ks if isinstance(k, str)] for u, ks in (stored or {}).items()
                   if isinstance(ks, list)}

    def keys(user: str) -> list[str]:
        return [*inline.get(user.lower(), []), *keys_for(user, listed), *stored_keys.get(user.lower(), [])]

    return keys


def check_signatures(entries, keys_of_request=None) -> tuple[list[str], list[str]]:
    """(problems, notes) about the signatures in the log.

    Installation signatures: every entry after the first 'installation.key' entry must be signed
    by an installation key announced earlier in the log (or, for the announcement itself, by
    the key it announces). Actor signatures: an entry whose payload carries a signed statement
    must verify, with the key the entry names, and that key must be one the request's policy
    lists for the statement's user (`keys_of_request(request_id)` -> user -> keys, or None)."""
    from .signing import SignatureError, fingerprint, signature_key, verify_bytes

    problems: list[str] = []
    notes: list[str] = []
    installations: dict[str, str] = {}
    unsigned_before = 0
    for e in entries:
        where = f"entry {e.seq} ({e.action} by {e.actor})"
        sig, key = getattr(e, "signature", None), getattr(e, "key", None)
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.action == INSTALLATION_KEY_ACTION and isinstance(p.get("public_key"), str):
            try:
                fp = fingerprint(p["public_key"])
            except SignatureError:
                fp = ""
            if fp and fp == key:
                installations.setdefault(fp, p["public_key"])
        if not sig:
            if installations:
                problems.append(f"{where}: not signed by an installation (forged or edited in the database)")
            else:
                unsigned_before += 1
        elif key not in installations:
            problems.append(f"{where}: signed by {key}, which no installation.key entry before it announces")
        else:
            body = entry_body(seq=e.seq, at=e.at, actor=e.actor, action=e.action, request_id=e.request_id,
                              payload=e.payload, prev_hash=e.prev_hash)
            try:
                verify_bytes(body, sig, [installations[key]])
            except SignatureError as exc:
                problems.append(f"{where}: the installation's signature does not verify ({exc})")
        statement, signed_bytes = statement_of(p)
        if statement is not None and e.action != INSTALLATION_KEY_ACTION:
            user = statement.get("user", e.actor)
            actor_sig = p.get("signature") or ""
            if not actor_sig:
                problems.append(f"{where}: carries a statement but no signature")
                continue
            embedded = signature_key(actor_sig)
            try:
                fp = verify_bytes(signed_bytes, actor_sig, [embedded] if embedded else [])
            except SignatureError as exc:
                problems.append(f"{where}: {user}'s signature does not verify ({exc})")
                continue
            if key_of(p) and key_of(p) != fp:
                problems.append(f"{where}: names key {key_of(p)} but was signed with {fp}")
            if statement.get("request", e.request_id) != e.request_id or (
                    e.action != "label.import" and user != e.actor):
                problems.append(f"{where}: its signed statement is about request {statement.get('request')} by "
                                f"{user}, not this entry's")
            listed = keys_of_request(e.request_id) if keys_of_request else None
            if listed is not None:
                allowed = listed(user)
                if allowed and fp not in {_fp_or_none(k) for k in allowed}:
                    problems.append(f"{where}: signed with {fp}, a key the request's policy does not list for {user}")
        elif e.action == "decision" and keys_of_request:
            listed = keys_of_request(e.request_id)
            user = p.get("user", e.actor)
            if listed is not None and listed(user):
                problems.append(f"{where}: unsigned, though the request's policy lists keys for {user}")
    if unsigned_before:
        notes.append(f"{unsigned_before} entr{'y' if unsigned_before == 1 else 'ies'} written before this log's "
                     f"first installation key carry no signature")
    return problems, notes


def _fp_or_none(key: str):
    from .signing import SignatureError, fingerprint

    try:
        return fingerprint(key)
    except SignatureError:
        return None
