"""registry and charging information

Revision ID: 0001
Revises:
Create Date: 2026-11-21 05:30:13.532863
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evcharge.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("number", name=op.f("uq_customers_number")),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contracts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("customer_id", "number", name=op.f("uq_contracts_customer_id_number")),
    )
    op.create_table(
        "gateways",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("max_power_kw", evcharge.db.Quantity(precision=18, scale=6), nullable=True),
        sa.Column("price_area", sa.String(length=16), nullable=True),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_gateways_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateways")),
        sa.UniqueConstraint("contract_id", "number", name=op.f("uq_gateways_contract_id_number")),
    )
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateways_price_area"), ["price_area"], unique=False)

    op.create_table(
        "charging_devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("gateway_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("max_power_kw", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.Column("charge_point_id", sa.String(length=48), nullable=True),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateways.id"], name=op.f("fk_charging_devices_gateway_id_gateways")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charging_devices")),
        sa.UniqueConstraint("charge_point_id", name=op.f("uq_charging_devices_charge_point_id")),
        sa.UniqueConstraint(
            "gateway_id", "number", name=op.f("uq_charging_devices_gateway_id_number")
        ),
    )
    op.create_table(
        "charging_information",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("charging_mode", sa.SmallInteger(), nullable=True),
        sa.Column("smart_mode_is_active", sa.Boolean(), nullable=True),
        sa.Column("car_info_id", sa.String(length=200), nullable=True),
        sa.Column("car_manufacturer", sa.String(length=200), nullable=True),
        sa.Column("car_model", sa.String(length=200), nullable=True),
        sa.Column("car_generation", sa.String(length=200), nullable=True),
        sa.Column("gross_battery_size", evcharge.db.Quantity(precision=18, scale=6), nullable=True),
        sa.Column("net_battery_size", evcharge.db.Quantity(precision=18, scale=6), nullable=True),
        sa.Column("battery_level", evcharge.db.Quantity(precision=18, scale=6), nullable=True),
        sa.Column("fully_charged_by", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("customer_ref", sa.String(length=64), nullable=False),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["charging_devices.id"],
            name=op.f("fk_charging_information_device_id_charging_devices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charging_information")),
        sa.UniqueConstraint(
            "device_id", "version", name=op.f("uq_charging_information_device_id_version")
        ),
    )


def downgrade() -> None:
    op.drop_table("charging_information")
    op.drop_table("charging_devices")
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateways_price_area"))

    op.drop_table("gateways")
    op.drop_table("contracts")
    op.drop_table("customers")
