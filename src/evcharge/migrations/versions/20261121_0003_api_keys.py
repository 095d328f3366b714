"""api keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 05:39:11.402625
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evcharge.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("customer_number", sa.Integer(), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_used", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "(role = 'admin' AND customer_number IS NULL)"
            " OR (role = 'customer' AND customer_number IS NOT NULL)",
            name=op.f("ck_api_keys_role"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_customer_number"), ["customer_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_customer_number"))

    op.drop_table("api_keys")
