"""Anchors: the audit chain's head (count, hash) written outside the database each time a
status is posted, where the team already looks (docs/trust.md "Anchors"):

- the commit status's target_url gets a `#signoff-audit=COUNT-HASH` fragment (GitHub's API
  takes any string there; no URL configured: a `signoff:COUNT-HASH16` note ends the description);
- a git note on the commit (refs/notes/signoff) in the request's repository (git and demo
  sources): the head and the commit's whole record (app/service/record.py);
- an MLflow model-version tag `signoff.audit_head` on the tags write-back of MLflow requests.

`check_anchors` reads back the ones it can reach and reports an anchor whose (count, hash) is
not in the log: the log was cut, rewritten or reset after it was anchored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from app.core.policy import DESCRIPTION_LIMIT

log = logging.getLogger(__name__)

FRAGMENT = "signoff-audit"
MLFLOW_TAG = "signoff.audit_head"
ANCHOR_RE = re.compile(r"signoff(?:-audit=|:)(\d+)-([0-9a-f]{16,64})")
SHORT = 16   # hex digits of the hash in a description note (the URL fragment and the note carry all 64)
GIT_SOURCES = ("git", "demo")


def _is_status(payload: dict) -> bool:
    return "state" in payload and "sha" in payload and "kind" not in payload


def anchor_text(count: int, digest: str) -> str:
    return f"{count}-{digest}"


def anchor_payload(store, item) -> dict:
    """The outbox item's payload with the current head written into it (a copy)."""
    payload = dict(item.payload)
    try:
        head = store.audit_head()
    except Exception:   # noqa: BLE001 - an anchor must never stop a status from being posted
        log.warning("audit head not readable; posting without an anchor", exc_info=True)
        return payload
    if not head:
        return payload
    count, digest = head
    if _is_status(payload):
        url = str(payload.get("target_url") or "")
        if url:
            payload["target_url"] = url.split("#", 1)[0] + f"#{FRAGMENT}={anchor_text(count, digest)}"
        else:
            note = f" · signoff:{anchor_text(count, digest[:SHORT])}"
            text = str(payload.get("description") or "")
            room = DESCRIPTION_LIMIT - len(note)
            payload["description"] = (text if len(text) <= room else text[:room - 1].rstrip() + "…") + note
    elif payload.get("kind") == "tags" and isinstance(payload.get("tags"), dict):
        payload["tags"] = {**payload["tags"], MLFLOW_TAG: anchor_text(count, digest)}
    payload["_anchor"] = {"count": count, "hash": digest}
    return payload


def after_delivery(store, item, payload: dict) -> None:
    """Once a status is posted: the git note on the commit (git/demo requests), and an audited
    'status.posted' entry saying which head went where."""
    anchor = payload.get("_anchor")
    if not anchor or not (_is_status(payload) or payload.get("kind") == "tags"):
        return
    where = [f"{item.sink} target_url" if payload.get("target_url") else f"{item.sink} description"] \
        if _is_status(payload) else [f"mlflow tag {MLFLOW_TAG}"]
    try:
        if _is_status(payload) and item.request_id is not None:
            note_repo = _write_note(store, item.request_id, anchor)
            if note_repo:
                where.append(f"git note {note_repo}")
        store.append_audit(actor="signoff", action="status.posted", request_id=item.request_id, payload={
            "outbox": item.id, "sink": item.sink, "target": item.target, "state": payload.get("state", ""),
            "anchor": anchor, "anchored_in": where})
    except Exception:   # noqa: BLE001 - the status is posted; a missing anchor is reported by audit verify
        log.warning("anchoring the audit head failed", exc_info=True)


def _write_note(store, request_id: int, anchor: dict) -> str:
    from .record import build_record, write_note
    from .review import ReviewService

    req = store.get_request(request_id)
    repo = (req.locator or {}).get("repo")
    if req.source not in GIT_SOURCES or not repo:
        return ""
    record = build_record(ReviewService(store, user="signoff"), req.sha)
    write_note(repo, req.sha, {"signoff_audit": anchor, "record": record})
    return repo


# -- reading them back -------------------------------------------------------------

@dataclass
class AnchorCheck:
    checked: list[str] = field(default_factory=list)     # "git note on 1a2b3c4 in /repo: entry 17 ok"
    problems: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def _check(found: list[tuple[str, int, str]], hashes: dict[int, str], result: AnchorCheck) -> None:
    for where, count, digest in found:
        have = hashes.get(count)
        if have is not None and have.startswith(digest):
            result.checked.append(f"{where}: entry {count} matches")
        elif have is None:
            result.problems.append(f"{where} anchors entry {count} ({digest[:12]}…), which the log does not hold "
                                   f"(entries removed or the log reset)")
        else:
            result.problems.append(f"{where} anchors entry {count} as {digest[:12]}…, the log has {have[:12]}… "
                                   f"there (rewritten)")


def check_anchors(store, entries) -> AnchorCheck:
    """Every anchor this installation can reach: local statuses, git notes of the requests'
    repositories, the anchors the log says it posted to a forge or MLflow (read back where a
    reader exists; else listed as not reachable)."""
    from .record import read_note

    result = AnchorCheck()
    hashes = {e.seq: e.hash for e in entries}
    found: list[tuple[str, int, str]] = []
    try:
        requests = store.list_requests()
    except Exception:   # noqa: BLE001
        requests = []
    for st in store.local_statuses(None):   # all of them: the requests table may have been emptied too
        for text in (st["target_url"], st["description"]):
            for m in ANCHOR_RE.finditer(text or ""):
                found.append((f"local status on {st['sha'][:10]} ({st['state']})", int(m.group(1)), m.group(2)))
    seen_shas = set()
    for req in requests:
        if req.sha in seen_shas:
            continue
        seen_shas.add(req.sha)
        repo = (req.locator or {}).get("repo")
        if req.source in GIT_SOURCES and repo:
            try:
                note = read_note(repo, req.sha, fetch=False)
            except Exception:   # noqa: BLE001
                note = None
            if note and isinstance(note.get("signoff_audit"), dict):
                a = note["signoff_audit"]
                found.append((f"git note on {req.sha[:10]} in {repo}", int(a.get("count", -1)), str(a.get("hash", ""))))
            elif note is None:
                result.unreachable.append(f"git note on {req.sha[:10]} in {repo}: none there")
    # What the log says it anchored elsewhere: an anchor the log itself lists must still be in it.
    for e in entries:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.action == "status.posted" and isinstance(p.get("anchor"), dict):
            a = p["anchor"]
            for where in p.get("anchored_in") or []:
                if not (where.startswith("git note") or where.startswith("local ")):
                    result.unreachable.append(f"{where} (posted at entry {e.seq}): not read back here")
            found.append((f"status.posted entry {e.seq}", int(a.get("count", -1)), str(a.get("hash", ""))))
    _check(found, hashes, result)
    return result
