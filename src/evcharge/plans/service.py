"""Replanning: the devices of a gateway are planned together (shared site limit), then
their plans are stored; reading a plan never recomputes it."""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from evcharge import metrics
from evcharge.charging_info.models import ChargingInformation
from evcharge.compat.dates import format_timespan
from evcharge.errors import NotFound
from evcharge.ocpp.smart import wanted as charger_profiles
from evcharge.planning import ChargeMode, ChargeRequest, Plan, PriceSlot, plan_site
from evcharge.planning.model import MIN_ENERGY_KWH
from evcharge.plans.context import PlanContext
from evcharge.plans.models import ChargePlan
from evcharge.plans.progress import Progress, Reading, car_limit, progress
from evcharge.plans.schemas import EvChargePlan, EvChargePlanSlot
from evcharge.prices.models import PriceArea
from evcharge.prices.repository import known_prices
from evcharge.registry.models import ChargingDevice, Gateway
from evcharge.registry.paths import Path
from evcharge.registry.repository import lock_gateway_for_replan, resolve
from evcharge.sites.models import CapacitySlot
from evcharge.sites.repository import capacity_for_planning, readings_since

DEFAULT_HORIZON = timedelta(hours=48)
MAX_HORIZON = timedelta(days=8)
CHUNK = 500
MODES = {0: ChargeMode.NORMAL, 1: ChargeMode.SMART, 2: ChargeMode.OFF}


def charge_request(
    device: ChargingDevice,
    info: ChargingInformation,
    efficiency: float,
    readings: Sequence[Reading] = (),
) -> tuple[ChargeRequest, Progress] | str:
    """The planner's request for a device (for the energy still missing), or why none
    can be made."""
    # .NET defaults kept: a missing ChargingMode is 0 (Normal); a missing
    # SmartModeIsActive is false, so Smart without it charges as Normal.
    mode = MODES[info.charging_mode or 0]
    size = info.net_battery_size if info.net_battery_size is not None else info.gross_battery_size
    if mode is not ChargeMode.OFF and (size is None or info.battery_level is None):
        return "No plan: NetBatterySize (or GrossBatterySize) and BatteryLevel are needed."
    if size is None or info.battery_level is None:
        done = Progress(0.0, 0.0, None)
    else:
        done = progress(float(size), float(info.battery_level), info.created, readings, efficiency)
    energy = done.need_kwh
    request = ChargeRequest(
        device=str(device.id),
        mode=mode,
        energy_kwh=energy,
        max_power_kw=float(device.max_power_kw),
        deadline=info.fully_charged_by,
        smart_active=bool(info.smart_mode_is_active),
    )
    return request, done


def _unplannable(now: datetime, reason: str) -> Plan:
    return Plan(now, (), 0.0, 0.0, 0.0, False, reason, None, None, timedelta(0))


def _row(
    device_id: uuid.UUID,
    plan: Plan,
    currency: str | None,
    trigger: str,
    done: Progress | None = None,
    deadline: datetime | None = None,
    car_max_kw: float | None = None,
) -> dict[str, Any]:
    return {
        "car_max_kw": car_max_kw,
        "trigger": trigger,
        "energy_charged_kwh": None if done is None else round(done.charged_kwh, 6),
        "deadline": deadline,
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
                "price": None if s.price is None else round(s.price, 6),
            }
            for s in plan.slots
        ],
    }


async def replan_gateways(
    session: AsyncSession,
    gateway_ids: Sequence[uuid.UUID],
    context: PlanContext,
    trigger: str = "ChargingInformation",
    devices: Sequence[uuid.UUID] | None = None,
) -> list[dict[str, Any]]:
    """Plan every device of these gateways that has charging information; store the plans
    (and drop those of devices that no longer have any). Returns the stored rows.
    Each chunk's gateways are locked first (`lock_gateway_for_replan`, ascending ids); a
    caller that locked them already (and then a device) does not wait again.
    `trigger` is stored with each plan: why it was computed. `devices`: only these
    changed; on a gateway without a shared limit (no MaxPowerKw, no capacity slots) the
    other devices' plans cannot change, so only these are replanned."""
    stored: list[dict[str, Any]] = []
    ordered = sorted(set(gateway_ids))
    with metrics.timed() as took:
        for first in range(0, len(ordered), CHUNK):
            chunk = ordered[first : first + CHUNK]
            await lock_gateway_for_replan(session, chunk)
            only = None
            if (
                devices is not None
                and len(chunk) == 1
                and not await _has_shared_limit(session, chunk[0])
            ):
                only = list(devices)
            stored += await _replan_chunk(session, chunk, context, trigger, only)
    metrics.plans_stored(len(stored), took[0])
    return stored


async def _has_shared_limit(session: AsyncSession, gateway_id: uuid.UUID) -> bool:
    """A MaxPowerKw or any capacity slot (one round trip)."""
    slots = select(CapacitySlot.start).where(CapacitySlot.gateway_id == gateway_id).exists()
    row = (
        await session.execute(select(Gateway.max_power_kw, slots).where(Gateway.id == gateway_id))
    ).first()
    return row is not None and (row[0] is not None or bool(row[1]))


def _expired(now: datetime, request: ChargeRequest, done: Progress) -> Plan | None:
    """A Smart plan past its deadline plans nothing (the need it was made for is stale);
    a car whose need is met plans nothing either. None: plan it."""
    smart = request.mode is ChargeMode.SMART and request.smart_active
    reported = done.charged_kwh > 0.0 or done.soc is not None
    if request.mode is not ChargeMode.OFF and reported and request.energy_kwh <= MIN_ENERGY_KWH:
        how = f"{done.charged_kwh:.2f} kWh charged since the charging information"
        if done.soc is not None:
            how += f"; the car reports {done.soc:g} %"
        reason = f"Target reached: {how}."
        return Plan(now, (), 0.0, 0.0, 0.0, True, reason, None, None, timedelta(0))
    if smart and request.deadline is not None and request.deadline <= now:
        missing = request.energy_kwh
        met = missing <= MIN_ENERGY_KWH
        text = (
            f"Deadline {request.deadline.isoformat(timespec='minutes')} has passed: the plan "
            "expired and plans no charging"
        )
        text += "." if met else f" ({missing:.2f} kWh were still missing)."
        text += " Post new charging information to plan again."
        return Plan(now, (), 0.0, 0.0, 0.0, met, text, None, None, timedelta(0))
    return None


async def _replan_chunk(
    session: AsyncSession,
    gateway_ids: Sequence[uuid.UUID],
    context: PlanContext,
    trigger: str,
    only: Sequence[uuid.UUID] | None = None,
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
        .where(true() if only is None else ChargingDevice.id.in_(only))
        # Equal deadlines are served in DeviceAssetId order (docs/planner.md).
        .order_by(Gateway.id, ChargingDevice.number)
    )
    sites: dict[uuid.UUID, list[tuple[ChargingDevice, ChargingInformation]]] = defaultdict(list)
    gateways: dict[uuid.UUID, Gateway] = {}
    all_devices: list[uuid.UUID] = []
    device_rows: list[ChargingDevice] = []
    for gateway, device, info in result:
        gateways[gateway.id] = gateway
        all_devices.append(device.id)
        device_rows.append(device)
        if info is not None:
            sites[gateway.id].append((device, info))
    prices = await _prices_by_area(session, gateways.values(), sites, context.now)
    capacity = (
        await capacity_for_planning(session, list(sites), context.now, context.now + MAX_HORIZON)
        if only is None  # replanning some devices only: the gateway has no capacity slots
        else {}
    )
    meters = await readings_since(
        session, {device.id: info.created for members in sites.values() for device, info in members}
    )
    # What chargers said: refused profiles (only chargers can), cars slower than planned
    # (only devices with two readings since their charging information can tell).
    members_all = [device for members in sites.values() for device, _info in members]
    unsteerable = await charger_profiles.unsteerable(
        session, [d.id for d in members_all if d.charge_point_id is not None]
    )
    measured = [d.id for d in members_all if len(meters.get(d.id, ())) >= 2]
    previous = (
        {
            plan.device_id: plan
            for plan in await session.scalars(
                select(ChargePlan).where(ChargePlan.device_id.in_(measured))
            )
        }
        if measured
        else {}
    )
    rows: list[dict[str, Any]] = []
    for gateway_id, members in sites.items():
        gateway = gateways[gateway_id]
        area_prices, currency = prices.get(gateway.price_area or "", ([], None))
        requests: list[ChargeRequest] = []
        progress_of: dict[str, Progress] = {}
        notes: dict[str, str | None] = {}
        car_max: dict[str, float | None] = {}
        for device, info in members:
            readings = [
                Reading(r.timestamp, r.energy_kwh, r.soc) for r in meters.get(device.id, [])
            ]
            made = charge_request(device, info, context.efficiency, readings)
            if isinstance(made, str):
                rows.append(_row(device.id, _unplannable(context.now, made), currency, trigger))
                continue
            request, done = made
            finished = _expired(context.now, request, done)
            if finished is not None:
                rows.append(_row(device.id, finished, currency, trigger, done, request.deadline))
                continue
            request, notes[request.device], car_max[request.device] = _adjusted(
                request, device.id in unsteerable, previous.get(device.id), info, readings
            )
            requests.append(request)
            progress_of[request.device] = done
        if requests:
            limit = None if gateway.max_power_kw is None else float(gateway.max_power_kw)
            planned = plan_site(
                requests, area_prices, context.now, limit, capacity.get(gateway_id, ())
            )
            deadlines = {r.device: r.deadline for r in requests}
            for key, plan in planned.items():
                for note in (
                    notes.get(key),
                    None
                    if gateway.price_area is not None
                    else "The gateway has no PriceArea, so no prices are known.",
                ):
                    if note:
                        reason = f"{plan.reason} {note}" if plan.reason else note
                        plan = dataclasses.replace(plan, reason=reason)
                rows.append(
                    _row(
                        uuid.UUID(key),
                        plan,
                        currency,
                        trigger,
                        progress_of[key],
                        deadlines[key],
                        car_max.get(key),
                    )
                )

    if all_devices:
        await session.execute(delete(ChargePlan).where(ChargePlan.device_id.in_(all_devices)))
    if rows:
        await session.execute(insert(ChargePlan), rows)
    # What the chargers should have follows the plans (sent by the holding process).
    await charger_profiles.plans_stored(session, device_rows, rows, context.now)
    if trigger in SHARE_TRIGGERS:  # the limit or the number of chargers may have changed
        await charger_profiles.refresh_site_defaults(session, list(gateways), context.now)
    return rows


SHARE_TRIGGERS = ("Gateway", "Device")
"""Replans after which a charger's share of its gateway's limit may differ."""


UNSTEERABLE_NOTE = (
    "The charger does not accept charging profiles, so it cannot be steered: planned as "
    "Normal (it charges at full power when plugged in)."
)


def _adjusted(
    request: ChargeRequest,
    unsteerable: bool,
    previous: ChargePlan | None,
    info: ChargingInformation,
    readings: Sequence[Reading],
) -> tuple[ChargeRequest, str | None, float | None]:
    """What the chargers say about a request: a device that cannot be steered charges
    as Normal; a car that took less than its plan allowed is planned with what it took
    (until new charging information)."""
    note = None
    if unsteerable:
        request = dataclasses.replace(request, mode=ChargeMode.NORMAL)
        note = UNSTEERABLE_NOTE
    learnt = None
    if previous is not None and previous.created >= info.created:
        known = None if previous.car_max_kw is None else float(previous.car_max_kw)
        learnt = car_limit(readings, previous.slots, known)
    if learnt is not None and learnt < request.max_power_kw:
        request = dataclasses.replace(request, max_power_kw=learnt)
        taken = f"The car took at most {learnt:g} kW, so it is planned at that power."
        note = f"{note} {taken}" if note else taken
    return request, note, learnt


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
        # Every gateway of the area is held to the 8-day horizon (not only the later ones).
        until = min(until, now + MAX_HORIZON)
        horizon[gateway.price_area] = max(horizon.get(gateway.price_area, until), until)
    found: dict[str, tuple[list[PriceSlot], str | None]] = {}
    for area, until in horizon.items():
        currency = await session.scalar(select(PriceArea.currency).where(PriceArea.area == area))
        found[area] = (await known_prices(session, area, now, until), currency)
    return found


async def replan_area(session: AsyncSession, area: str, context: PlanContext) -> int:
    """New prices for `area`: replan every gateway in it."""
    ids = list(await session.scalars(select(Gateway.id).where(Gateway.price_area == area)))
    return len(await replan_gateways(session, ids, context, trigger="Prices"))


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
        trigger=plan.trigger,
        energy_charged_kwh=plan.energy_charged_kwh,
    )
