"""ocpp central system

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 22:33:40.333731
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evcharge.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "ocpp_connectors",
        sa.Column("charge_point_id", sa.String(length=48), nullable=False),
        sa.Column("connector_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=False),
        sa.Column("info", sa.String(length=50), nullable=True),
        sa.Column("vendor_id", sa.String(length=255), nullable=True),
        sa.Column("vendor_error_code", sa.String(length=50), nullable=True),
        sa.Column("timestamp", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("charge_point_id", "connector_id", name=op.f("pk_ocpp_connectors")),
    )
    op.create_table(
        "ocpp_processes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_processes")),
    )
    with op.batch_alter_table("ocpp_processes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ocpp_processes_last_seen"), ["last_seen"], unique=False
        )

    op.create_table(
        "ocpp_id_tags",
        sa.Column("id_tag", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expiry", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_ocpp_id_tags_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_tag", name=op.f("pk_ocpp_id_tags")),
    )
    with op.batch_alter_table("ocpp_id_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ocpp_id_tags_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "ocpp_chargers",
        sa.Column("charge_point_id", sa.String(length=48), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("connected_since", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("disconnected_at", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_heartbeat", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("process_id", sa.String(length=64), nullable=True),
        sa.Column("connection_id", sa.String(length=32), nullable=True),
        sa.Column("protocol", sa.String(length=16), nullable=True),
        sa.Column("boot_status", sa.String(length=16), nullable=True),
        sa.Column("boot", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["charging_devices.id"],
            name=op.f("fk_ocpp_chargers_device_id_charging_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("charge_point_id", name=op.f("pk_ocpp_chargers")),
    )
    with op.batch_alter_table("ocpp_chargers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ocpp_chargers_device_id"), ["device_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ocpp_chargers_process_id"), ["process_id"], unique=False
        )

    op.create_table(
        "ocpp_credentials",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["charging_devices.id"],
            name=op.f("fk_ocpp_credentials_device_id_charging_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_ocpp_credentials")),
    )
    op.create_table(
        "ocpp_transactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("charge_point_id", sa.String(length=48), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("claimed_id", sa.Integer(), nullable=False),
        sa.Column("id_tag", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("charger_start", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("start_time", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("meter_start_wh", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.Column("stop_time", evcharge.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("meter_stop_wh", evcharge.db.Quantity(precision=18, scale=6), nullable=True),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.Column("last_meter_wh", evcharge.db.Quantity(precision=18, scale=6), nullable=True),
        sa.Column("last_activity", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("energy_kwh", evcharge.db.Quantity(precision=18, scale=6), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("order_error", sa.Text(), nullable=True),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_ocpp_transactions_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["charging_devices.id"],
            name=op.f("fk_ocpp_transactions_device_id_charging_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_transactions")),
        sa.UniqueConstraint(
            "charge_point_id",
            "connector_id",
            "id_tag",
            "charger_start",
            "meter_start_wh",
            "claimed_id",
            name="uq_ocpp_transactions_start",
        ),
    )
    with op.batch_alter_table("ocpp_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ocpp_transactions_charger_state", ["charge_point_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ocpp_transactions_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(
            "ix_ocpp_transactions_state_activity", ["state", "last_activity"], unique=False
        )

    op.create_table(
        "ocpp_meter_values",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("measurand", sa.String(length=64), nullable=False),
        sa.Column("value", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("context", sa.String(length=32), nullable=True),
        sa.Column("phase", sa.String(length=8), nullable=True),
        sa.Column("location", sa.String(length=8), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ocpp_transactions.id"],
            name=op.f("fk_ocpp_meter_values_transaction_id_ocpp_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpp_meter_values")),
    )
    with op.batch_alter_table("ocpp_meter_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ocpp_meter_values_transaction", ["transaction_id", "timestamp"], unique=False
        )

    with op.batch_alter_table("charge_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="api", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("charge_orders", schema=None) as batch_op:
        batch_op.drop_column("source")

    with op.batch_alter_table("ocpp_meter_values", schema=None) as batch_op:
        batch_op.drop_index("ix_ocpp_meter_values_transaction")

    op.drop_table("ocpp_meter_values")
    with op.batch_alter_table("ocpp_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_ocpp_transactions_state_activity")
        batch_op.drop_index(batch_op.f("ix_ocpp_transactions_device_id"))
        batch_op.drop_index("ix_ocpp_transactions_charger_state")

    op.drop_table("ocpp_transactions")
    op.drop_table("ocpp_credentials")
    with op.batch_alter_table("ocpp_chargers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ocpp_chargers_process_id"))
        batch_op.drop_index(batch_op.f("ix_ocpp_chargers_device_id"))

    op.drop_table("ocpp_chargers")
    with op.batch_alter_table("ocpp_id_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ocpp_id_tags_customer_id"))

    op.drop_table("ocpp_id_tags")
    with op.batch_alter_table("ocpp_processes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ocpp_processes_last_seen"))

    op.drop_table("ocpp_processes")
    op.drop_table("ocpp_connectors")
