"""Team review (issue 12, item 1): the samples dealt to each reviewer of each required role.

- assignments: one row per (request, role, eval set, sample, reviewer); `position` is the
  item's place in the dealing order (a queue is read in it); `seed` the request's dealing seed.
  A reassignment changes `user_name` of open rows (audited: assign.move).

Revision ID: 0007_assignments
Revises: 0006_identity_check
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_assignments"
down_revision = "0006_identity_check"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("eval_set", sa.String(255), nullable=False),
        sa.Column("sample_id", sa.String(500), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_assignments_request_id_requests",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
        sa.UniqueConstraint("request_id", "role", "eval_set", "sample_id", "user_name",
                            name="uq_assignments_request_id_role_eval_set_sample_id_user_name"),
    )
    op.create_index("ix_assignments_request_id", "assignments", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_assignments_request_id", table_name="assignments")
    op.drop_table("assignments")
