"""Registry tables: every entity has a server-side uuid and its integer number from the paths."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, Timestamped


class Customer(Timestamped, Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Contract(Timestamped, Base):
    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("customer_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200))


class Gateway(Timestamped, Base):
    __tablename__ = "gateways"
    __table_args__ = (UniqueConstraint("contract_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    max_power_kw: Mapped[Decimal | None]
    price_area: Mapped[str | None] = mapped_column(String(16), index=True)


class ChargingDevice(Timestamped, Base):
    __tablename__ = "charging_devices"
    __table_args__ = (UniqueConstraint("gateway_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    gateway_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gateways.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    max_power_kw: Mapped[Decimal]
    charge_point_id: Mapped[str | None] = mapped_column(String(48), unique=True)
    phases: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    """Phases the charger uses (1 or 3): a charging profile in A limits each phase."""
    voltage: Mapped[int] = mapped_column(Integer, default=230, server_default="230")
    """Phase-to-neutral voltage (V): converts the plan's kW to a per-phase current."""
