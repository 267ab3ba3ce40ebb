"""Keeping a request's verdict current (app/core/kept_verdict.py; docs/trust.md "The kept verdict").

The service hands `keeper(service, req)` to the store's transactions that evaluate the policy
(a decision, a status refresh after labels, a forge identity check): the store keeps what the
verdict says at that transaction's audit head, signed by the installation. `status` and `wait`
evaluate with `live_status` when the kept verdict cannot be used, and keep the result for the
next time (best effort: a store they may not write to still gets its answer).
"""

from __future__ import annotations

import logging

from signoff.core.kept_verdict import status_document

log = logging.getLogger(__name__)


def refusal_of(service, req) -> str:
    """Why `status`, `wait` and `verify` refuse to gate on `req`, else "": only a request for a commit
    (kind "review") gates one. A comparison about no commit never does (a local review, two refs
    compared: sha "", refs as fields; rows migrated from before keep their old sha text), and
    neither does a review under the implicit local policy, whatever its kind says."""
    from signoff.core.local_review import LOCAL_REVIEW_NOTE, is_local_review

    local = is_local_review(service.config(req.id))
    if req.kind == "review" and not local:
        return ""
    what = LOCAL_REVIEW_NOTE if local else f"{req.kind} about no commit, not a release gate"
    return (f"request {req.id} is {'an' if what[0] in 'aeiou' else 'a'} {what}: make a request for the commit with "
            f"`signoff review … --policy FILE --sha SHA` (or `signoff request`)")


def keeper(service, req):
    """The store's `keep` callback for `req`: verdict -> (status document, refusal)."""
    def keep(verdict) -> tuple[dict, str]:
        return status_document(req.id, req.sha, verdict), refusal_of(service, req)
    return keep


def live_status(service, sha: str):
    """(request, status document, refusal) of the commit's latest request, the policy evaluated now,
    or (None, None, "") when there is none. The audit head is read before anything the verdict is
    computed from, so a write in between leaves an entry after the kept head and it is not read."""
    req = service.latest_for_sha(sha)
    if req is None:
        return None, None, ""
    head = service.store.audit_head()
    document, refusal = keeper(service, req)(service.verdict(req.id))
    if head is not None:
        try:
            service.store.keep_verdict(req.id, req.sha, head, document, refusal)
        except Exception:   # noqa: BLE001 - a read-only store or home: the answer stands, kept next time
            log.debug("the verdict of request %s was not kept", req.id, exc_info=True)
    return req, document, refusal
