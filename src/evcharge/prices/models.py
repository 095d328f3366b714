"""Price areas (with their currency) and their price slots."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, UtcDateTime, utcnow


class PriceArea(Base):
    __tablename__ = "price_areas"

    area: Mapped[str] = mapped_column(String(16), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    updated: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class PriceSlotRow(Base):
    """A price per kWh valid on [start, end)."""

    __tablename__ = "price_slots"

    area: Mapped[str] = mapped_column(ForeignKey("price_areas.area"), primary_key=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    price: Mapped[Decimal]
