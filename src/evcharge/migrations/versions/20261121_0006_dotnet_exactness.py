"""dotnet exactness: the 7th fractional digit of dates; ElectricQuantity nullable

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import evcharge.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("charging_information", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fully_charged_by_100ns", sa.SmallInteger(), nullable=True))
    with op.batch_alter_table("charge_orders", schema=None) as batch_op:
        batch_op.alter_column(
            "electric_quantity",
            existing_type=evcharge.db.Quantity(precision=18, scale=6),
            nullable=True,
        )
        batch_op.add_column(sa.Column("start_time_100ns", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("end_time_100ns", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE charge_orders SET electric_quantity = 0 WHERE electric_quantity IS NULL")
    with op.batch_alter_table("charge_orders", schema=None) as batch_op:
        batch_op.drop_column("end_time_100ns")
        batch_op.drop_column("start_time_100ns")
        batch_op.alter_column(
            "electric_quantity",
            existing_type=evcharge.db.Quantity(precision=18, scale=6),
            nullable=False,
        )
    with op.batch_alter_table("charging_information", schema=None) as batch_op:
        batch_op.drop_column("fully_charged_by_100ns")
