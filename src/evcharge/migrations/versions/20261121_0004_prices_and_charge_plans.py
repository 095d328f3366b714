"""prices and charge plans

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 05:40:43.368654
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evcharge.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_areas",
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("area", name=op.f("pk_price_areas")),
    )
    op.create_table(
        "price_slots",
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("start", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("price", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["area"], ["price_areas.area"], name=op.f("fk_price_slots_area_price_areas")
        ),
        sa.PrimaryKeyConstraint("area", "start", name=op.f("pk_price_slots")),
    )
    op.create_table(
        "charge_plans",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("start_time", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("end_time", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("total_charge_seconds", sa.Integer(), nullable=False),
        sa.Column("energy_kwh", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.Column("estimated_cost", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.Column("cost_if_immediate", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.Column("target_reached", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["charging_devices.id"],
            name=op.f("fk_charge_plans_device_id_charging_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_charge_plans")),
    )


def downgrade() -> None:
    op.drop_table("charge_plans")
    op.drop_table("price_slots")
    op.drop_table("price_areas")
