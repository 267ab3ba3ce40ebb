"""A kept verdict per request (issue 16 item 3; docs/trust.md "The kept verdict"): what the
policy said at a point of the audit log, signed by the installation that computed it, so that
`signoff status` / `wait` can answer without re-evaluating the policy.

- kept_verdicts: one row per (request, installation key): `statement` is the canonical JSON the
  installation signed (the request, its commit, the audit head it was computed at, the Signoff
  version, the status document `status --json` prints); `signature` its SSHSIG; `audit_count` /
  `audit_hash` the head again, so a newer row is never replaced by an older one. A cache: not
  audited, never an input of anything; a row that does not verify is ignored.

Revision ID: 0010_verdict
Revises: 0008_inspections   (the lead re-chains it)
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_verdict"
down_revision = "0009b_request_refs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_verdicts",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("audit_count", sa.BigInteger(), nullable=False),
        sa.Column("audit_hash", sa.String(64), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_kept_verdicts_request_id_requests",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "key", name="pk_kept_verdicts"),
    )


def downgrade() -> None:
    op.drop_table("kept_verdicts")
