"""Where the policy comes from (docs/trust.md): a request keeps the candidate's own
signoff.toml when it differs from the protected base's (shown as a diff, never
applied), the identities tied to the candidate's commits (no self-approval) and the
allowed-signers file read at the base.

Revision ID: 0002_policy_base
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_policy_base"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("candidate_config_toml", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("authors", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("allowed_signers", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("allowed_signers")
        batch.drop_column("authors")
        batch.drop_column("candidate_config_toml")
