"""The kept verdict (issue 16 item 3; docs/trust.md "The kept verdict"): what `signoff status`
says about a request, computed by the service, signed by the installation, and stored with the
audit head it was computed at. Pure: no I/O, no imports beyond the standard library, because
`status` reads it before anything heavy is imported (app/store/kept_read.py).

A kept verdict holds while nothing that can change the request's verdict was recorded after the
head it names. What can, is read from the audit log's entries after that head (`concerns`):
every audited write says its action and request. Posting a status (`status.posted`, appended
after every write that queued one) and the other entries below change no verdict.
"""

from __future__ import annotations

import json

STATEMENT_TYPE = "signoff/verdict/v1"
STATUS_EXIT = {"approved": 0, "rejected": 1, "pending": 3}

# Entries that change no request's verdict wherever they are: the status a verdict produced, its
# posting and anchoring, the outbox, the forge key cache (a request's keys change only through
# its own keys.update), an inspection's estimate, an installation announcing its key.
NEUTRAL_ACTIONS = frozenset({"status.change", "status.posted", "outbox.requeue", "keys.fetch",
                             "inspection.estimate", "installation.key"})
# Entries about one request that change only the verdicts of that request's change (its decisions
# count on every request of the change; labels, dealing and keys are the request's own).
PER_REQUEST_ACTIONS = frozenset({"request.create", "decision", "identity.checked", "identity.refused",
                                 "label.set", "label.import", "label.copy", "assign.deal", "assign.move",
                                 "keys.update"})
MAX_ENTRIES_AFTER = 2000   # more entries since the kept head than this: evaluate instead of reading them


def status_document(request_id: int, sha: str, verdict) -> dict:
    """What `signoff status --sha SHA --json` prints for `verdict` (a PolicyVerdict)."""
    return {"sha": sha, "request": request_id, "status": _value(verdict.status),
            "description": verdict.description, "missing": verdict.missing, "approvals": verdict.approvals,
            "checklist": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in verdict.checklist],
            "blocking": [{"user": d.user, "role": d.role, "decision": _value(d.kind), "comment": d.comment}
                         for d in verdict.blocking]}


def _value(enum_or_text) -> str:
    return str(getattr(enum_or_text, "value", enum_or_text))


def statement(*, request_id: int, sha: str, head: tuple[int, str], version: str, document: dict,
              refusal: str = "") -> dict:
    """The signed statement: the request and its commit, the audit head the verdict was computed at,
    the Signoff version that computed it (another version evaluates again), the status document
    (as JSON text: its keys keep the order `status --json` prints them in), and `refusal`: why
    `status` refuses to gate on this request (a local review), else ""."""
    return {"type": STATEMENT_TYPE, "request": int(request_id), "sha": sha,
            "audit": {"count": int(head[0]), "hash": str(head[1])}, "signoff": version,
            "document": json.dumps(document, ensure_ascii=False, default=str), "refusal": refusal}


def document_of(statement: dict) -> dict | None:
    """The status document of a verdict statement, or None when it is not one."""
    try:
        document = json.loads(statement.get("document"))
    except (TypeError, ValueError):
        return None
    return document if isinstance(document, dict) and document.get("status") in STATUS_EXIT else None


def concerns(action: str, request_id: int | None, change_requests: set[int]) -> bool:
    """Whether an audit entry may change the verdict of a request whose change's requests are
    `change_requests`. Anything not known to leave it alone does (a new kind of entry included)."""
    if action in NEUTRAL_ACTIONS:
        return False
    if action in PER_REQUEST_ACTIONS and request_id is not None:
        return int(request_id) in change_requests
    return True
