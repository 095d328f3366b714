"""Charging information versions; the newest version of a device is its current one."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, UtcDateTime, utcnow


class ChargingInformation(Base):
    __tablename__ = "charging_information"
    __table_args__ = (UniqueConstraint("device_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("charging_devices.id"))
    version: Mapped[int] = mapped_column(Integer)
    charging_mode: Mapped[int | None] = mapped_column(SmallInteger)
    smart_mode_is_active: Mapped[bool | None]
    car_info_id: Mapped[str | None] = mapped_column(String(200))
    car_manufacturer: Mapped[str | None] = mapped_column(String(200))
    car_model: Mapped[str | None] = mapped_column(String(200))
    car_generation: Mapped[str | None] = mapped_column(String(200))
    gross_battery_size: Mapped[Decimal | None]
    net_battery_size: Mapped[Decimal | None]
    battery_level: Mapped[Decimal | None]
    fully_charged_by: Mapped[datetime | None]
    fully_charged_by_100ns: Mapped[int | None] = mapped_column(SmallInteger)
    """FullyChargedBy's 7th fractional digit (.NET ticks), beyond the column's microseconds."""
    customer_ref: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
