"""Statuses posted in order: each outbox entry carries a sequence number,
monotonic per target (assigned in the enqueueing transaction), and the time
its post started (an entry that passed the last check before posting).

Revision ID: 0004_outbox_order
Revises: 0001
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_outbox_order"
down_revision = "0003_signatures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("post_started_at", sa.DateTime(timezone=True), nullable=True))
    # Existing entries: numbered per target in the order they were written.
    op.execute("UPDATE outbox SET seq = (SELECT count(*) FROM outbox AS o "
               "WHERE o.target = outbox.target AND o.id <= outbox.id)")
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.create_unique_constraint("uq_outbox_target_seq", ["target", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_target_seq", type_="unique")
        batch.drop_column("post_started_at")
        batch.drop_column("seq")
