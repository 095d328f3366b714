"""ocpp remote commands, the message log, the SQLite bus

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evcharge.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocpp_frames",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("charge_point_id", sa.String(length=48), nullable=False),
        sa.Column("at", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("frame", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_frames")),
    )
    op.create_index("ix_ocpp_frames_charger", "ocpp_frames", ["charge_point_id", "id"])
    op.create_index(op.f("ix_ocpp_frames_at"), "ocpp_frames", ["at"])
    op.create_table(
        "ocpp_commands",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("charge_point_id", sa.String(length=48), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("reply_to", sa.String(length=64), nullable=False),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("deadline", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_commands")),
    )
    op.create_index(op.f("ix_ocpp_commands_created"), "ocpp_commands", ["created"])
    op.create_table(
        "ocpp_bus",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_bus")),
    )
    op.create_index(op.f("ix_ocpp_bus_created"), "ocpp_bus", ["created"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ocpp_bus_created"), table_name="ocpp_bus")
    op.drop_table("ocpp_bus")
    op.drop_index(op.f("ix_ocpp_commands_created"), table_name="ocpp_commands")
    op.drop_table("ocpp_commands")
    op.drop_index(op.f("ix_ocpp_frames_at"), table_name="ocpp_frames")
    op.drop_index("ix_ocpp_frames_charger", table_name="ocpp_frames")
    op.drop_table("ocpp_frames")
