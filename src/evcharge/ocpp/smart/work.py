"""One charger's profiles to send, read in one unit of work with all that rendering
them needs (its limits, the device's phases and voltage, its running transaction)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.ocpp.models import Charger, Transaction
from evcharge.ocpp.smart import schedule
from evcharge.ocpp.smart.models import PLAN, SITE_DEFAULT, ChargingProfileState
from evcharge.registry.models import ChargingDevice

ORDER = {SITE_DEFAULT: 0, PLAN: 1}
"""The default first: a charger that boots is within the site limit before it is steered."""


@dataclass(frozen=True, slots=True)
class Work:
    """One profile to send, with all the rendering needs (read in one unit of work)."""

    charge_point_id: str
    device_id: uuid.UUID | None
    kind: str
    version: int
    wanted: dict[str, Any] | None
    acked: dict[str, Any] | None
    resend_clear: bool
    config: schedule.SmartConfig
    electrical: schedule.Electrical
    transaction: schedule.Transaction | None

    def render(self, now: datetime, *, with_transaction: bool = True) -> dict[str, Any] | None:
        if self.wanted is None:
            return None
        if self.kind == SITE_DEFAULT:
            return schedule.render_share(self.wanted, now, self.config, self.electrical)
        transaction = self.transaction if with_transaction else None
        return schedule.render_plan(self.wanted, now, self.config, self.electrical, transaction)


async def load_work(
    session: AsyncSession, charge_point_id: str, now: datetime, resend: set[str]
) -> list[Work]:
    rows = list(
        await session.scalars(
            select(ChargingProfileState).where(
                ChargingProfileState.charge_point_id == charge_point_id
            )
        )
    )
    if resend:
        for row in rows:  # what the charger has is no longer known
            if row.kind in resend and (row.wanted is not None or row.acked is not None):
                row.pending = True
                row.next_attempt = None
        await session.flush()
    due = [
        r
        for r in rows
        if r.pending and (r.kind in resend or r.next_attempt is None or r.next_attempt <= now)
    ]
    if not due:
        return []
    charger = await session.get(Charger, charge_point_id)
    device = await session.scalar(
        select(ChargingDevice).where(ChargingDevice.charge_point_id == charge_point_id)
    )
    active = await session.scalar(
        select(Transaction)
        .where(Transaction.charge_point_id == charge_point_id, Transaction.state == "active")
        .order_by(Transaction.id.desc())
        .limit(1)
    )
    config = schedule.SmartConfig.of(charger.smart_config if charger is not None else None)
    electrical = schedule.Electrical(
        int(device.phases) if device is not None else 3,
        int(device.voltage) if device is not None else 230,
    )
    tx = None if active is None else schedule.Transaction(active.connector_id, active.id)
    return [
        Work(
            charge_point_id,
            device.id if device is not None else None,
            r.kind,
            r.version,
            r.wanted,
            r.acked,
            r.kind in resend and r.wanted is None,
            config,
            electrical,
            tx,
        )
        for r in sorted(due, key=lambda r: ORDER.get(r.kind, 9))
    ]
