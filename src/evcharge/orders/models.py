"""The order ledger: one row per charging session; a device takes one session at a time."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, UtcDateTime, utcnow

CLIENT_ID_LENGTH = 64
REMARK_LENGTH = 100

NO_OVERLAP = "ex_charge_orders_device_time"
"""PostgreSQL exclusion constraint (migration 0002): no two orders of one device overlap."""


FROM_API = "api"
FROM_OCPP = "ocpp"
"""The values of ChargeOrder.source."""


class ChargeOrder(Base):
    __tablename__ = "charge_orders"
    __table_args__ = (
        CheckConstraint("end_time >= start_time", name="time_order"),
        CheckConstraint("electric_quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("discount_price >= 0", name="discount_not_negative"),
        Index("ix_charge_orders_device_start", "device_id", "start_time"),
        Index("ix_charge_orders_customer_start", "customer_id", "start_time"),
        Index("ix_charge_orders_start", "start_time"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_LENGTH), unique=True)
    """The seed's `Id`: the client's order id and idempotency key (server-assigned if absent)."""
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("charging_devices.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    start_time_100ns: Mapped[int | None] = mapped_column(SmallInteger)
    end_time_100ns: Mapped[int | None] = mapped_column(SmallInteger)
    """The 7th fractional digit of each time (.NET ticks) beyond the columns' microseconds;
    read back exactly, while overlaps are decided to the microsecond."""
    electric_quantity: Mapped[Decimal]
    discount_price: Mapped[Decimal]
    remark: Mapped[str | None] = mapped_column(String(REMARK_LENGTH))
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(16), server_default=FROM_API)
    """Where the order came from: `api` (CreateOrder) or `ocpp` (a charger's transaction)."""
