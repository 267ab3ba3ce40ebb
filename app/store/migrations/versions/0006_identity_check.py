"""The forge identity check fails closed (issue 10, item 3; docs/trust.md "Forge identity check"):
a decision made while the forge holding the configured token could not be reached is recorded
as `unchecked` and does not count until the check is made (`checked`) or finds another
account (`refused`).

- decisions.identity_check: "" (no token, no check) / unchecked / checked / refused / skipped
- decisions.identity_forge: the forge whose token the check is against
- decisions.identity_note: what the check found
- decisions.identity_token: a tag of the token the decision was made with (sha256-based,
  never the token): a later check uses only that same token

Revision ID: 0006_identity_check
Revises: 0005_audit_record
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_identity_check"
down_revision = "0005_audit_record"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("identity_check", sa.String(20), nullable=False, server_default=""))
        batch.add_column(sa.Column("identity_forge", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("identity_note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("identity_token", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("identity_token")
        batch.drop_column("identity_note")
        batch.drop_column("identity_forge")
        batch.drop_column("identity_check")
