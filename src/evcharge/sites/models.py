"""A gateway's available power over time, and what devices report they have charged."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, UtcDateTime


class CapacitySlot(Base):
    """The power (kW) a gateway's devices may draw together on [start, end): the grid
    connection minus the base load. Configuration of the gateway: goes with it."""

    __tablename__ = "gateway_capacity"

    gateway_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("gateways.id", ondelete="CASCADE"), primary_key=True
    )
    start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    power_kw: Mapped[Decimal]


class MeterReading(Base):
    """A device's energy register (kWh, only ever counts up until a meter reset) and, when
    the car reports it, its state of charge (%). Telemetry of the device: goes with it."""

    __tablename__ = "meter_readings"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_devices.id", ondelete="CASCADE"), primary_key=True
    )
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    energy_kwh: Mapped[Decimal]
    soc: Mapped[Decimal | None]
    source: Mapped[str] = mapped_column(String(16))
    received: Mapped[datetime] = mapped_column(UtcDateTime())
