"""Signatures: who proved they made a decision or a batch of labels (docs/trust.md).

- decisions: the signed statement (canonical JSON), its SSHSIG and the signer key's fingerprint
- label_statements: one signed labels statement per batch (a keystroke, `signoff label`, an import);
  labels.statement_id names the batch that last set the label
- requests.reviewer_keys: the public keys the request's policy lists for each reviewer, resolved
  when the request was made (inline, the allowed-signers file, the forge's published keys)
- forge_keys: the signing keys a forge publishes for a login, with the time they were fetched

Revision ID: 0003_signatures
Revises: 0001 (0002_policy_base when merged)
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_signatures"
down_revision = "0002_policy_base"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("statement", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("signature", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("key_fingerprint", sa.String(100), nullable=False, server_default=""))
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("reviewer_keys", sa.JSON(), nullable=True))

    op.create_table(
        "label_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("key_fingerprint", sa.String(100), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_label_statements"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], ondelete="CASCADE",
                                name="fk_label_statements_request_id_requests"),
    )
    op.create_index("ix_label_statements_request_id", "label_statements", ["request_id"])
    with op.batch_alter_table("labels") as batch:
        batch.add_column(sa.Column("statement_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_labels_statement_id_label_statements", "label_statements",
                                 ["statement_id"], ["id"], ondelete="SET NULL")

    op.create_table(
        "forge_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("forge", sa.String(20), nullable=False),
        sa.Column("api_url", sa.String(500), nullable=False),
        sa.Column("login", sa.String(255), nullable=False),
        sa.Column("keys", sa.JSON(), nullable=False),
        _ts("fetched_at"),
        sa.PrimaryKeyConstraint("id", name="pk_forge_keys"),
        sa.UniqueConstraint("forge", "api_url", "login", name="uq_forge_keys_forge_api_url_login"),
    )


def downgrade() -> None:
    op.drop_table("forge_keys")
    with op.batch_alter_table("labels") as batch:
        batch.drop_constraint("fk_labels_statement_id_label_statements", type_="foreignkey")
        batch.drop_column("statement_id")
    op.drop_index("ix_label_statements_request_id", table_name="label_statements")
    op.drop_table("label_statements")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("reviewer_keys")
    with op.batch_alter_table("decisions") as batch:
        for column in ("key_fingerprint", "signature", "statement"):
            batch.drop_column(column)
