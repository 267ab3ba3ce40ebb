"""A request's refs are fields, never encoded in `sha` (issue 14, item 4).

A comparison of two refs about no commit (File ▸ Browse MLflow… "v3 vs v1") was stored with
`sha` = "models:/M/3 vs models:/M/1", and the inbox told it from a commit's request with a
regex. Now such a request has `kind = "comparison"` and `sha = ""`; its refs are
`candidate_ref` / `baseline_ref` as for every request. The rows made before keep their `sha`
(it is in their signed decisions and the audit log, so it is never rewritten): only their
`kind` is set, recognised here once by the exact shape the old code wrote.

Revision ID: 0009b_request_refs
Revises: 0008_inspections   (the lead re-chains it)
"""

import sqlalchemy as sa
from alembic import op

revision = "0009b_request_refs"
down_revision = "0009_comparison_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("UPDATE requests SET kind = 'comparison' WHERE kind = 'review' AND source = 'mlflow' "
                       "AND sha = candidate_ref || ' vs ' || baseline_ref"))


def downgrade() -> None:
    op.execute(sa.text("UPDATE requests SET kind = 'review' WHERE kind = 'comparison'"))
