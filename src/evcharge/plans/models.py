"""The stored plan of a device (one row per device, replaced on every replan)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, UtcDateTime


class ChargePlan(Base):
    __tablename__ = "charge_plans"

    # A plan is derived data: it goes with its device (the only cascade in the schema).
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_devices.id", ondelete="CASCADE"), primary_key=True
    )
    created: Mapped[datetime] = mapped_column(UtcDateTime())
    start_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    total_charge_seconds: Mapped[int] = mapped_column(Integer)
    energy_kwh: Mapped[Decimal]
    estimated_cost: Mapped[Decimal]
    cost_if_immediate: Mapped[Decimal]
    target_reached: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    slots: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Why this plan was computed ("ChargingInformation", "Prices", "MeterReading",
    # "Capacity", "Schedule", …), what was charged since the charging information, and
    # the Smart deadline (the schedule looks for plans that drift or expire).
    trigger: Mapped[str | None] = mapped_column(String(32))
    energy_charged_kwh: Mapped[Decimal | None]
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime())
    car_max_kw: Mapped[Decimal | None]
    """The power the car was seen to take at most (it drew less than its plan allowed):
    later plans use it, until new charging information."""
