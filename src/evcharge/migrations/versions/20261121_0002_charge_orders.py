"""charge orders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 05:37:12.628325
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evcharge.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A zero-length order (EndTime = StartTime) occupies its instant ('[]'); every other
# order occupies [StartTime, EndTime) — the same rule as orders.repository.overlaps().
NO_OVERLAP = """
ALTER TABLE charge_orders ADD CONSTRAINT ex_charge_orders_device_time
EXCLUDE USING gist (
    device_id WITH =,
    tstzrange(start_time, end_time, CASE WHEN start_time = end_time THEN '[]' ELSE '[)' END)
    WITH &&
)
"""


def upgrade() -> None:
    op.create_table(
        "charge_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("start_time", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end_time", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("electric_quantity", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.Column("discount_price", evcharge.db.Quantity(precision=18, scale=6), nullable=False),
        sa.Column("remark", sa.String(length=100), nullable=True),
        sa.Column("created", evcharge.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_time >= start_time", name=op.f("ck_charge_orders_time_order")),
        sa.CheckConstraint(
            "electric_quantity >= 0", name=op.f("ck_charge_orders_quantity_not_negative")
        ),
        sa.CheckConstraint(
            "discount_price >= 0", name=op.f("ck_charge_orders_discount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_charge_orders_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["charging_devices.id"],
            name=op.f("fk_charge_orders_device_id_charging_devices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charge_orders")),
        sa.UniqueConstraint("client_id", name=op.f("uq_charge_orders_client_id")),
    )
    op.create_index(
        "ix_charge_orders_customer_start", "charge_orders", ["customer_id", "start_time"]
    )
    op.create_index("ix_charge_orders_device_start", "charge_orders", ["device_id", "start_time"])
    op.create_index("ix_charge_orders_start", "charge_orders", ["start_time"])
    if op.get_context().dialect.name == "postgresql":
        # btree_gist lets a GiST index compare the uuid with `=` next to the range's `&&`.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(NO_OVERLAP)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE charge_orders DROP CONSTRAINT ex_charge_orders_device_time")
    op.drop_index("ix_charge_orders_start", table_name="charge_orders")
    op.drop_index("ix_charge_orders_device_start", table_name="charge_orders")
    op.drop_index("ix_charge_orders_customer_start", table_name="charge_orders")
    op.drop_table("charge_orders")
