"""Periodic inspection (issue 13, item 3; docs/mlflow.md "Periodic inspection"): a review
request NOT tied to a commit, made from a seeded sample of production predictions.

- requests.kind: "review" (a commit's or a comparison's request) or "inspection"; an
  inspection's `sha` is "" (it is about no commit) and `signoff status --sha` never sees it
- inspections: one row per inspection request: what was sampled (subject, model, alias,
  version, experiment, files, since, sample size, seed, population) and its latest result
  (errors / labeled, the error rate and its interval, the method and confidence)

Revision ID: 0008_inspections
Revises: 0006_identity_check   (the lead re-chains it after 0007)
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_inspections"
down_revision = "0007_assignments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="review"))
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("tracking_uri", sa.Text(), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("experiment", sa.String(500), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("since", sa.String(50), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=True),
        sa.Column("labeled", sa.Integer(), nullable=True),
        sa.Column("error_rate", sa.Float(), nullable=True),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("estimated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_inspections_request_id_requests",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_inspections"),
        sa.UniqueConstraint("request_id", name="uq_inspections_request_id"),
    )
    op.create_index("ix_inspections_subject", "inspections", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_inspections_subject", table_name="inspections")
    op.drop_table("inspections")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("kind")
