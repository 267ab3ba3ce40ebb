"""A local review's refs are fields, never encoded in `sha` (issue 14, item 4).

`signoff review A B` without a policy (and File ▸ New review… on two files) stored
`sha` = "local review 1a2b3c4d: cand.jsonl vs base.jsonl", and the same text as its change key
and its `candidate_ref`. Now such a review is a request of kind "comparison" (about no commit,
as a browsed MLflow comparison: 0009b_request_refs), `sha` "", its refs the two file names and
its change key its own. The rows made before become comparisons with their candidate file's
name as `candidate_ref`; their `sha` and change key stay (their decisions and kept verdicts
signed them, so they are never rewritten; `status --sha` on that text still refuses: a
comparison is no release gate). Recognised by the exact shape the old code wrote.

Revision ID: 0011_local_refs
Revises: 0010_verdict   (the lead re-chains it)
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0011_local_refs"
down_revision = "0010_verdict"
branch_labels = None
depends_on = None

OLD_SHAPE = re.compile(r"local review [0-9a-f]{8}: (.+)", re.DOTALL)


def old_candidate(sha: str, baseline_ref: str) -> str | None:
    """The candidate file's name in an old local review's `sha`, or None when it is not that shape."""
    m = OLD_SHAPE.fullmatch(sha or "")
    tail = f" vs {baseline_ref}"
    if m is None or not baseline_ref or not m.group(1).endswith(tail) or len(m.group(1)) == len(tail):
        return None
    return m.group(1)[: -len(tail)]


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, sha, baseline_ref FROM requests WHERE kind = 'review' AND source = 'files' "
                                "AND sha LIKE 'local review %' AND change_key = sha AND candidate_ref = sha")).all()
    for rid, sha, base in rows:
        cand = old_candidate(sha, base)
        if cand is not None:
            conn.execute(sa.text("UPDATE requests SET kind = 'comparison', candidate_ref = :cand WHERE id = :id"),
                         {"cand": cand, "id": rid})


def downgrade() -> None:
    op.execute(sa.text("UPDATE requests SET kind = 'review', candidate_ref = sha WHERE kind = 'comparison' "
                       "AND source = 'files' AND sha LIKE 'local review %' AND change_key = sha"))
