"""The charging profiles a charger should have, and what it has acknowledged.

Durable state, so that any server process may change what a charger should have (a plan
changes anywhere) and the process holding its socket sends what is missing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, UtcDateTime, utcnow

SITE_DEFAULT = "default"
"""The gateway's fair-share profile: the site limit holds while evcharge is away."""
PLAN = "plan"
"""The device's plan as a profile."""


class ChargingProfileState(Base):
    """One profile slot of a charger (`kind`: default or plan).

    `wanted` is the schedule the charger should follow (None: it should have none, i.e.
    clear it), `version` counts its changes; `acked_version` is the version the charger
    accepted (or cleared), `acked` what was sent then. `pending` is true while they differ
    (or a resend is due after a reconnect): the holding process's poll reads only those."""

    __tablename__ = "ocpp_charging_profiles"
    __table_args__ = (Index("ix_ocpp_charging_profiles_pending", "pending", "charge_point_id"),)

    charge_point_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    wanted: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=0)
    acked_version: Mapped[int] = mapped_column(Integer, default=0)
    acked: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str | None] = mapped_column(String(16))
    """Accepted, Rejected, NotSupported, Failed (no answer, CALLERROR), Cleared, Pending."""
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
