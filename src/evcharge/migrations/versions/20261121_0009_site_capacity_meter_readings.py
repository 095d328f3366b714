"""site capacity schedules, meter readings, why a plan was computed

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evcharge.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_capacity",
        sa.Column("gateway_id", sa.Uuid(), nullable=False),
        sa.Column("start", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("power_kw", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateways.id"],
            name=op.f("fk_gateway_capacity_gateway_id_gateways"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gateway_id", "start", name=op.f("pk_gateway_capacity")),
    )
    op.create_table(
        "meter_readings",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("timestamp", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("energy_kwh", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.Column("soc", evcharge.db.Quantity(precision=18, scale=6), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["charging_devices.id"],
            name=op.f("fk_meter_readings_device_id_charging_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "timestamp", name=op.f("pk_meter_readings")),
    )
    with op.batch_alter_table("charge_plans") as batch:
        batch.add_column(sa.Column("trigger", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column(
                "energy_charged_kwh", evcharge.db.Quantity(precision=18, scale=6), nullable=True
            )
        )
        batch.add_column(
            sa.Column("deadline", evcharge.db.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("charge_plans") as batch:
        batch.drop_column("deadline")
        batch.drop_column("energy_charged_kwh")
        batch.drop_column("trigger")
    op.drop_table("meter_readings")
    op.drop_table("gateway_capacity")
