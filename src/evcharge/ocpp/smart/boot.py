"""What the central system learns and sets when a charger boots or reconnects: its
smart-charging limits (GetConfiguration), its default share and its plan's profile."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from ocpp.v16 import call
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.ocpp.models import Charger
from evcharge.ocpp.smart import schedule, wanted
from evcharge.ocpp.smart.models import PLAN
from evcharge.registry.models import ChargingDevice
from evcharge.registry.repository import lock_gateway_for_replan

log = structlog.get_logger("evcharge.ocpp.smart")


async def read_config(charge_point: Any) -> schedule.SmartConfig:
    """GetConfiguration of the smart-charging keys; conservative defaults when the
    charger does not answer or does not know them."""
    try:
        result = await charge_point.call(
            call.GetConfiguration(key=list(schedule.CONFIG_KEYS)), suppress=False
        )
    except Exception as exc:
        log.info("ocpp_profile_config_unread", charge_point=charge_point.id, error=repr(exc))
        return schedule.SmartConfig()
    values = {
        str(entry.get("key")): str(entry.get("value"))
        for entry in (result.configuration_key or [])
        if isinstance(entry, dict) and entry.get("value") is not None
    }
    return schedule.SmartConfig.from_keys(values)


async def stored_config(session: AsyncSession, charge_point_id: str) -> schedule.SmartConfig | None:
    charger = await session.get(Charger, charge_point_id)
    if charger is None or not charger.smart_config:
        return None
    return schedule.SmartConfig.of(charger.smart_config)


async def boot_state(
    session: AsyncSession, charge_point_id: str, config: schedule.SmartConfig, now: datetime
) -> None:
    """Keep the charger's limits; its default share and its plan's profile from what is
    stored now (a plan may have changed while it was away)."""
    from evcharge.plans.models import ChargePlan  # plans import this package's wanted state

    charger = await session.get(Charger, charge_point_id)
    if charger is not None:
        charger.smart_config = config.as_dict()
    device = await session.scalar(
        select(ChargingDevice).where(ChargingDevice.charge_point_id == charge_point_id)
    )
    if device is None:
        return
    # The gateway first, as every write that touches its plans (docs/architecture.md).
    await lock_gateway_for_replan(session, [device.gateway_id])
    await wanted.refresh_site_defaults(session, [device.gateway_id], now, only=[charge_point_id])
    plan = await session.get(ChargePlan, device.id)
    target = None if plan is None else schedule.wanted_plan(plan.slots, now)
    await wanted.set_wanted(session, charge_point_id, PLAN, target, now)
    await session.flush()
