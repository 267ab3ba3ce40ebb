"""The audit log is the record: each entry carries the signature of the installation
that wrote it and its key's fingerprint (docs/trust.md "The record").

Revision ID: 0005_audit_record
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_audit_record"
down_revision = "0004_outbox_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("signature", sa.Text(), nullable=True))
        batch.add_column(sa.Column("key", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("key")
        batch.drop_column("signature")
