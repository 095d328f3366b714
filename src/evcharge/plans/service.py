"""Replanning: the devices of a gateway are planned together (shared site limit), then
their plans are stored; reading a plan never recomputes it."""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from evcharge import metrics
from evcharge.charging_info.models import ChargingInformation
from evcharge.compat.dates import format_timespan
from evcharge.errors import NotFound
from evcharge.planning import ChargeMode, ChargeRequest, Plan, PriceSlot, energy_needed, plan_site
from evcharge.plans.context import PlanContext
from evcharge.plans.models import ChargePlan
from evcharge.plans.schemas import EvChargePlan, EvChargePlanSlot
from evcharge.prices.models import PriceArea
from evcharge.prices.repository import known_prices
from evcharge.registry.models import ChargingDevice, Gateway
from evcharge.registry.paths import Path
from evcharge.registry.repository import lock_gateway_for_replan, resolve

DEFAULT_HORIZON = timedelta(hours=48)
MAX_HORIZON = timedelta(days=8)
CHUNK = 500
MODES = {0: ChargeMode.NORMAL, 1: ChargeMode.SMART, 2: ChargeMode.OFF}


def charge_request(
    device: ChargingDevice, info: ChargingInformation, efficiency: float
) -> ChargeRequest | str:
    """The planner's request for a device, or why none can be made."""
    # .NET defaults kept: a missing ChargingMode is 0 (Normal); a missing
    # SmartModeIsActive is false, so Smart without it charges as Normal.
    mode = MODES[info.charging_mode or 0]
    size = info.net_battery_size if info.net_battery_size is not None else info.gross_battery_size
    if mode is not ChargeMode.OFF and (size is None or info.battery_level is None):
        return "No plan: NetBatterySize (or GrossBatterySize) and BatteryLevel are needed."
    energy = (
        0.0
        if size is None or info.battery_level is None
        else energy_needed(float(size), float(info.battery_level), efficiency)
    )
    return ChargeRequest(
        device=str(device.id),
        mode=mode,
        energy_kwh=energy,
        max_power_kw=float(device.max_power_kw),
        deadline=info.fully_charged_by,
        smart_active=bool(info.smart_mode_is_active),
    )


def _unplannable(now: datetime, reason: str) -> Plan:
    return Plan(now, (), 0.0, 0.0, 0.0, False, reason, None, None, timedelta(0))


def _row(device_id: uuid.UUID, plan: Plan, currency: str | None) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "created": plan.created,
        "start_time": plan.start_time,
        "end_time": plan.end_time,
        "total_charge_seconds": round(plan.total_charge_time.total_seconds()),
        "energy_kwh": plan.energy_kwh,
        "estimated_cost": plan.estimated_cost,
        "cost_if_immediate": plan.cost_if_immediate,
        "target_reached": plan.target_reached,
        "reason": plan.reason,
        "currency": currency,
        "slots": [
            {
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "power_kw": round(s.power_kw, 6),
                "energy_kwh": round(s.energy_kwh, 6),
                "price": round(s.price, 6),
            }
            for s in plan.slots
        ],
    }


async def replan_gateways(
    session: AsyncSession, gateway_ids: Sequence[uuid.UUID], context: PlanContext
) -> list[dict[str, Any]]:
    """Plan every device of these gateways that has charging information; store the plans
    (and drop those of devices that no longer have any). Returns the stored rows.
    Each chunk's gateways are locked first (`lock_gateway_for_replan`, ascending ids); a
    caller that locked them already (and then a device) does not wait again."""
    stored: list[dict[str, Any]] = []
    ordered = sorted(set(gateway_ids))
    with metrics.timed() as took:
        for first in range(0, len(ordered), CHUNK):
            chunk = ordered[first : first + CHUNK]
            await lock_gateway_for_replan(session, chunk)
            stored += await _replan_chunk(session, chunk, context)
    metrics.plans_stored(len(stored), took[0])
    return stored


async def _replan_chunk(
    session: AsyncSession, gateway_ids: Sequence[uuid.UUID], context: PlanContext
) -> list[dict[str, Any]]:
    version = aliased(ChargingInformation)
    newest = (
        select(version.version)
        .where(version.device_id == ChargingDevice.id)
        .order_by(version.version.desc())
        .limit(1)
        .correlate(ChargingDevice)
        .scalar_subquery()
    )
    result = await session.execute(
        select(Gateway, ChargingDevice, ChargingInformation)
        .join(ChargingDevice, ChargingDevice.gateway_id == Gateway.id)
        .outerjoin(
            ChargingInformation,
            and_(
                ChargingInformation.device_id == ChargingDevice.id,
                ChargingInformation.version == newest,
            ),
        )
        .where(Gateway.id.in_(gateway_ids))
    )
    sites: dict[uuid.UUID, list[tuple[ChargingDevice, ChargingInformation]]] = defaultdict(list)
    gateways: dict[uuid.UUID, Gateway] = {}
    all_devices: list[uuid.UUID] = []
    for gateway, device, info in result:
        gateways[gateway.id] = gateway
        all_devices.append(device.id)
        if info is not None:
            sites[gateway.id].append((device, info))

    prices = await _prices_by_area(session, gateways.values(), sites, context.now)
    rows: list[dict[str, Any]] = []
    for gateway_id, members in sites.items():
        gateway = gateways[gateway_id]
        area_prices, currency = prices.get(gateway.price_area or "", ([], None))
        requests: list[ChargeRequest] = []
        for device, info in members:
            request = charge_request(device, info, context.efficiency)
            if isinstance(request, str):
                rows.append(_row(device.id, _unplannable(context.now, request), currency))
            else:
                requests.append(request)
        if requests:
            limit = None if gateway.max_power_kw is None else float(gateway.max_power_kw)
            for key, plan in plan_site(requests, area_prices, context.now, limit).items():
                if gateway.price_area is None:
                    note = "The gateway has no PriceArea, so no prices are known."
                    reason = f"{plan.reason} {note}" if plan.reason else note
                    plan = dataclasses.replace(plan, reason=reason)
                rows.append(_row(uuid.UUID(key), plan, currency))

    if all_devices:
        await session.execute(delete(ChargePlan).where(ChargePlan.device_id.in_(all_devices)))
    if rows:
        await session.execute(insert(ChargePlan), rows)
    return rows


async def _prices_by_area(
    session: AsyncSession,
    gateways: Any,
    sites: dict[uuid.UUID, list[tuple[ChargingDevice, ChargingInformation]]],
    now: datetime,
) -> dict[str, tuple[list[PriceSlot], str | None]]:
    """Each area's known prices once, up to the latest deadline of its devices."""
    horizon: dict[str, datetime] = {}
    for gateway in gateways:
        if gateway.price_area is None:
            continue
        until = now + DEFAULT_HORIZON
        for _device, info in sites.get(gateway.id, []):
            if info.fully_charged_by is not None and info.fully_charged_by > until:
                until = info.fully_charged_by
        horizon[gateway.price_area] = max(
            horizon.get(gateway.price_area, until), min(until, now + MAX_HORIZON)
        )
    found: dict[str, tuple[list[PriceSlot], str | None]] = {}
    for area, until in horizon.items():
        currency = await session.scalar(select(PriceArea.currency).where(PriceArea.area == area))
        found[area] = (await known_prices(session, area, now, until), currency)
    return found


async def replan_area(session: AsyncSession, area: str, context: PlanContext) -> int:
    ids = list(await session.scalars(select(Gateway.id).where(Gateway.price_area == area)))
    return len(await replan_gateways(session, ids, context))


async def all_gateway_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Gateways with at least one device that has charging information."""
    query = (
        select(Gateway.id)
        .join(ChargingDevice, ChargingDevice.gateway_id == Gateway.id)
        .join(ChargingInformation, ChargingInformation.device_id == ChargingDevice.id)
        .distinct()
    )
    return list(await session.scalars(query))


async def read(session: AsyncSession, path: Path) -> EvChargePlan:
    """The stored plan of the device at `path`."""
    chain = await resolve(session, path, depth=4)
    assert chain.device is not None
    plan = await session.get(ChargePlan, chain.device.id)
    if plan is None:
        raise NotFound(
            f"No charge plan exists for {path.name(4)}: post its charging information first."
        )
    return to_wire(plan)


def to_wire(plan: ChargePlan) -> EvChargePlan:
    return EvChargePlan(
        start_time=plan.start_time,
        end_time=plan.end_time,
        created=plan.created,
        total_charge_time=format_timespan(plan.total_charge_seconds),
        slots=[
            EvChargePlanSlot(
                start=datetime.fromisoformat(s["start"]),
                end=datetime.fromisoformat(s["end"]),
                power_kw=s["power_kw"],
                energy_kwh=s["energy_kwh"],
                price=s["price"],
            )
            for s in plan.slots
        ],
        energy_kwh=plan.energy_kwh,
        estimated_cost=plan.estimated_cost,
        cost_if_immediate=plan.cost_if_immediate,
        target_reached=plan.target_reached,
        reason=plan.reason,
        currency=plan.currency,
    )
