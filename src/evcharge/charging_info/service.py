"""Seed A rules: the body agrees with the path, the car is plausible, each post is a new version."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.charging_info.models import ChargingInformation
from evcharge.charging_info.schemas import (
    EvChargingInfo,
    EvChargingInformationReq,
    EvChargingModeEnumReq,
)
from evcharge.compat.dates import hundred_ns, with_hundred_ns
from evcharge.errors import Invalid, NotFound
from evcharge.plans import service as plans
from evcharge.plans.context import PlanContext
from evcharge.registry.paths import Path
from evcharge.registry.repository import Chain, page_of, resolve, resolve_for_replan


def _check_ids(body: EvChargingInformationReq, chain: Chain, path: Path) -> str:
    """Body ids must name the path's entities; returns the CustomerId to store."""
    errors: dict[str, list[str]] = {}
    for field, given, expected in (
        ("ContractId", body.contract_id, path.contract),
        ("GatewayAssetId", body.gateway_asset_id, path.gateway),
        ("DeviceAssetId", body.device_asset_id, path.device),
    ):
        if given is not None and given != expected:
            errors[f"request.{field}"] = [
                f"{field} {given} contradicts the path, which names {expected}."
            ]
    customer_ref = str(path.customer)
    given_customer = (body.customer_id or "").strip()
    if given_customer:
        # CustomerId is a string in the original. A number or a uuid is an identity
        # and must be the path's customer; other text is the client's own customer
        # reference and is kept as sent (see docs/decisions.md).
        as_uuid = _as_uuid(given_customer)
        if _WHOLE_NUMBER.fullmatch(given_customer) and int(given_customer) != path.customer:
            errors["request.CustomerId"] = [
                f"CustomerId {given_customer} contradicts the path, which names {path.customer}."
            ]
        elif as_uuid is not None and as_uuid != chain.customer.id:
            errors["request.CustomerId"] = [
                f"CustomerId {given_customer} is not the Id of customer {path.customer}."
            ]
        customer_ref = given_customer
    if errors:
        raise Invalid(errors=errors)
    return customer_ref


_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
"""A number as the invariant culture writes one (ASCII digits; `²` or `２` are text)."""


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _check_plausible(body: EvChargingInformationReq) -> None:
    net, gross = body.net_battery_size, body.gross_battery_size
    if net is not None and gross is not None and net > gross:
        problem = f"NetBatterySize {net} must not exceed GrossBatterySize {gross}."
        raise Invalid(errors={"request.NetBatterySize": [problem]})


async def create(
    session: AsyncSession, path: Path, body: EvChargingInformationReq, planning: PlanContext
) -> EvChargingInfo:
    """Store a new version of the device's charging information; it becomes current and
    the device's gateway is replanned."""
    chain = await resolve_for_replan(session, path, depth=4)
    assert chain.device is not None
    customer_ref = _check_ids(body, chain, path)
    _check_plausible(body)
    latest = await session.scalar(
        select(func.max(ChargingInformation.version)).where(
            ChargingInformation.device_id == chain.device.id
        )
    )
    row = ChargingInformation(
        device_id=chain.device.id,
        version=(latest or 0) + 1,
        charging_mode=None if body.charging_mode is None else int(body.charging_mode),
        smart_mode_is_active=body.smart_mode_is_active,
        car_info_id=body.car_info_id,
        car_manufacturer=body.car_manufacturer,
        car_model=body.car_model,
        car_generation=body.car_generation,
        gross_battery_size=body.gross_battery_size,
        net_battery_size=body.net_battery_size,
        battery_level=body.battery_level,
        fully_charged_by=body.fully_charged_by,
        fully_charged_by_100ns=hundred_ns(body.fully_charged_by),
        customer_ref=customer_ref,
        # The app's clock (tests inject one): meter readings are counted from this time.
        created=planning.now,
    )
    session.add(row)
    await session.flush()
    assert chain.gateway is not None
    await plans.replan_gateways(session, [chain.gateway.id], planning, devices=[chain.device.id])
    return to_wire(row, path)


#: The charging-information fields a PATCH may change (the ids only bind, as in the seed).
PATCHABLE = (
    "charging_mode",
    "smart_mode_is_active",
    "car_info_id",
    "car_manufacturer",
    "car_model",
    "car_generation",
    "gross_battery_size",
    "net_battery_size",
    "battery_level",
    "fully_charged_by",
)


async def patch(
    session: AsyncSession, path: Path, body: EvChargingInformationReq, planning: PlanContext
) -> EvChargingInfo:
    """JSON merge-patch of the current charging information: the fields sent replace the
    current ones (null clears one), the others are kept; the result is a new version
    (same binding rules as the seed endpoint) and the gateway is replanned."""
    chain = await resolve_for_replan(session, path, depth=4)
    assert chain.device is not None and chain.gateway is not None
    current = await session.scalar(
        select(ChargingInformation)
        .where(ChargingInformation.device_id == chain.device.id)
        .order_by(ChargingInformation.version.desc())
        .limit(1)
    )
    if current is None:
        raise NotFound(
            f"No charging information exists for {path.name(4)}: POST it first "
            "(a PATCH changes the current one)."
        )
    sent = body.model_fields_set
    checked_ref = _check_ids(body, chain, path)  # ids in the body must name the path
    customer_ref = checked_ref if "customer_id" in sent else current.customer_ref
    values = {name: getattr(current, name) for name in PATCHABLE}
    for name in sent & set(PATCHABLE):
        values[name] = getattr(body, name)
    if values["charging_mode"] is not None:
        values["charging_mode"] = int(values["charging_mode"])
    _check_plausible(EvChargingInformationReq.model_validate(values))
    row = ChargingInformation(
        device_id=chain.device.id,
        version=current.version + 1,
        customer_ref=customer_ref,
        created=planning.now,
        **values,
    )
    session.add(row)
    await session.flush()
    await plans.replan_gateways(session, [chain.gateway.id], planning, devices=[chain.device.id])
    return to_wire(row, path)


def to_wire(row: ChargingInformation, path: Path) -> EvChargingInfo:
    assert path.contract is not None and path.gateway is not None and path.device is not None
    return EvChargingInfo(
        id=row.id,
        version=row.version,
        # Non-nullable in the original DTO: not sent reads back as the .NET default.
        charging_mode=row.charging_mode or EvChargingModeEnumReq.Normal,
        smart_mode_is_active=bool(row.smart_mode_is_active),
        car_info_id=row.car_info_id,
        car_manufacturer=row.car_manufacturer,
        car_model=row.car_model,
        car_generation=row.car_generation,
        gross_battery_size=row.gross_battery_size,
        net_battery_size=row.net_battery_size,
        battery_level=row.battery_level,
        fully_charged_by=_exact(row.fully_charged_by, row.fully_charged_by_100ns),
        customer_id=row.customer_ref,
        contract_id=path.contract,
        gateway_asset_id=path.gateway,
        device_asset_id=path.device,
        created=row.created,
    )


def _exact(value: datetime | None, extra: int | None) -> datetime | None:
    return None if value is None else with_hundred_ns(value, extra or 0)


async def current(session: AsyncSession, device_id: uuid.UUID, path: Path) -> EvChargingInfo | None:
    """The device's current (newest) version, or None."""
    row = await session.scalar(
        select(ChargingInformation)
        .where(ChargingInformation.device_id == device_id)
        .order_by(ChargingInformation.version.desc())
        .limit(1)
    )
    return None if row is None else to_wire(row, path)


async def history(
    session: AsyncSession, path: Path, *, page: int, size: int
) -> tuple[list[EvChargingInfo], int]:
    """All versions, newest first."""
    chain = await resolve(session, path, depth=4)
    assert chain.device is not None
    query = (
        select(ChargingInformation)
        .where(ChargingInformation.device_id == chain.device.id)
        .order_by(ChargingInformation.version.desc())
    )
    rows, total = await page_of(session, query, page=page, size=size)
    return [to_wire(row, path) for row in rows], total


async def one(session: AsyncSession, path: Path, info_id: uuid.UUID) -> EvChargingInfo:
    chain = await resolve(session, path, depth=4)
    assert chain.device is not None
    row = await session.scalar(
        select(ChargingInformation).where(
            ChargingInformation.device_id == chain.device.id, ChargingInformation.id == info_id
        )
    )
    if row is None:
        raise NotFound(f"No charging information {info_id} exists for {path.name(4)}.")
    return to_wire(row, path)


async def clear(session: AsyncSession, path: Path, planning: PlanContext) -> int:
    """Delete every version (an explicit request, never a cascade) and so the device's
    plan; returns how many versions went."""
    chain = await resolve_for_replan(session, path, depth=4)
    assert chain.device is not None
    result = await session.execute(
        delete(ChargingInformation).where(ChargingInformation.device_id == chain.device.id)
    )
    assert chain.gateway is not None
    await plans.replan_gateways(session, [chain.gateway.id], planning)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
