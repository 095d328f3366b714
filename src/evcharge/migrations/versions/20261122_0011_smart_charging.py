"""smart charging: device phases and voltage, charging profiles wanted and acknowledged

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evcharge.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("charging_devices") as batch:
        batch.add_column(sa.Column("phases", sa.Integer(), nullable=False, server_default="3"))
        batch.add_column(sa.Column("voltage", sa.Integer(), nullable=False, server_default="230"))
    with op.batch_alter_table("ocpp_chargers") as batch:
        batch.add_column(sa.Column("smart_config", sa.JSON(), nullable=True))
    with op.batch_alter_table("charge_plans") as batch:
        batch.add_column(
            sa.Column("car_max_kw", evcharge.db.Quantity(precision=18, scale=6), nullable=True)
        )
    op.create_table(
        "ocpp_charging_profiles",
        sa.Column("charge_point_id", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("wanted", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("acked_version", sa.Integer(), nullable=False),
        sa.Column("acked", sa.JSON(), nullable=True),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("charge_point_id", "kind", name=op.f("pk_ocpp_charging_profiles")),
    )
    op.create_index(
        op.f("ix_ocpp_charging_profiles_pending"),
        "ocpp_charging_profiles",
        ["pending", "charge_point_id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ocpp_charging_profiles_pending"), table_name="ocpp_charging_profiles")
    op.drop_table("ocpp_charging_profiles")
    with op.batch_alter_table("charge_plans") as batch:
        batch.drop_column("car_max_kw")
    with op.batch_alter_table("ocpp_chargers") as batch:
        batch.drop_column("smart_config")
    with op.batch_alter_table("charging_devices") as batch:
        batch.drop_column("voltage")
        batch.drop_column("phases")
