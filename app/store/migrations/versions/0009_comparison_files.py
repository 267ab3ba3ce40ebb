"""Comparisons as files (issue 16, item 2): the per-sample table is a Parquet file named by
its SHA-256 (app/store/comparison_files.py); the comparison row keeps its URI and hash.

- comparisons.table_uri, comparisons.table_sha256: new, NULL for comparisons stored before
- comparisons.table_parquet: now nullable (NULL for a file comparison); the blobs stored
  before stay where they are and are read as before (not migrated: moving them would
  rewrite every old request in one upgrade, and they read fine)

Revision ID: 0009_comparison_files
Revises: 0008_inspections
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_comparison_files"
down_revision = "0008_inspections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comparisons") as batch:
        batch.add_column(sa.Column("table_uri", sa.Text(), nullable=True))
        batch.add_column(sa.Column("table_sha256", sa.String(64), nullable=True))
        batch.alter_column("table_parquet", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    # A file comparison has no blob to go back to: refuse rather than lose it.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM comparisons WHERE table_uri IS NOT NULL")).scalar():
        raise RuntimeError("comparisons are stored as files: a store before 0009 cannot hold them")
    with op.batch_alter_table("comparisons") as batch:
        batch.alter_column("table_parquet", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("table_sha256")
        batch.drop_column("table_uri")
