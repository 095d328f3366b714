"""What each charger should have: written in the unit of work that changed a plan or a
gateway (any server process); the process holding the charger's socket sends it
(`reconciler.py`). Chargers to wake are collected on the session and woken after commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from evcharge.ocpp.smart import schedule
from evcharge.ocpp.smart.models import PLAN, SITE_DEFAULT, ChargingProfileState
from evcharge.registry.models import ChargingDevice, Gateway

UNSTEERABLE = ("Rejected", "NotSupported")
"""A plan profile answered so: the device cannot be steered (planned as Normal)."""
WAKE_KEY = "ocpp_smart_wake"

_wakers: list[Any] = []
"""This process's reconcilers (`Reconciler.wake`): told after a commit that changed what
a charger should have. Another process learns it by polling (and, later, a NOTIFY)."""


def register_waker(waker: Any) -> None:
    _wakers.append(waker)


def unregister_waker(waker: Any) -> None:
    if waker in _wakers:
        _wakers.remove(waker)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    charge_points = session.info.pop(WAKE_KEY, None)
    if not charge_points:
        return
    for waker in list(_wakers):
        for charge_point_id in charge_points:
            waker(charge_point_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(WAKE_KEY, None)


async def set_wanted(
    session: AsyncSession,
    charge_point_id: str,
    kind: str,
    wanted: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Store what the charger should have; True when that changed (it is then pending)."""
    return bool(await set_many(session, kind, {charge_point_id: wanted}, now))


async def set_many(
    session: AsyncSession, kind: str, wanted: dict[str, dict[str, Any] | None], now: datetime
) -> set[str]:
    """`set_wanted` for many chargers with one read (a replan of thousands of devices);
    returns the chargers whose wanted state changed. Rows are locked in id order."""
    if not wanted:
        return set()
    ids = sorted(wanted)
    existing = {
        row.charge_point_id: row
        for row in await session.scalars(
            select(ChargingProfileState)
            .where(
                ChargingProfileState.kind == kind,
                ChargingProfileState.charge_point_id.in_(ids),
            )
            .order_by(ChargingProfileState.charge_point_id)
            .with_for_update()
        )
    }
    changed: set[str] = set()
    for charge_point_id in ids:
        target = wanted[charge_point_id]
        row = existing.get(charge_point_id)
        if row is None:
            if target is None:
                continue
            row = ChargingProfileState(
                charge_point_id=charge_point_id,
                kind=kind,
                version=0,
                acked_version=0,
                attempts=0,
                pending=True,
            )
            session.add(row)
        elif schedule.same_from(row.wanted, target, now):
            continue
        row.wanted = target
        row.version = (row.version or 0) + 1
        row.pending = True
        if row.status not in UNSTEERABLE:  # a refusal stands until the charger accepts
            row.status = "Pending"
        row.error = None
        row.attempts = 0
        row.next_attempt = None
        row.updated = now
        changed.add(charge_point_id)
    if changed:
        await session.flush()
        session.sync_session.info.setdefault(WAKE_KEY, set()).update(changed)
    return changed


async def plans_stored(
    session: AsyncSession,
    devices: Iterable[ChargingDevice],
    rows: Sequence[dict[str, Any]],
    now: datetime,
) -> None:
    """The plans of these devices were just replaced (`rows`; a device without a row has
    no plan any more): what their chargers should have follows."""
    by_device = {row["device_id"]: row for row in rows}
    wanted: dict[str, dict[str, Any] | None] = {}
    for device in devices:
        if device.charge_point_id is None:
            continue
        row = by_device.get(device.id)
        wanted[device.charge_point_id] = (
            None if row is None else schedule.wanted_plan(row["slots"], now)
        )
    await set_many(session, PLAN, wanted, now)


async def refresh_site_defaults(
    session: AsyncSession,
    gateway_ids: Sequence[uuid.UUID],
    now: datetime,
    only: Sequence[str] | None = None,
) -> None:
    """Each charger of these gateways gets its fair share of the gateway's MaxPowerKw
    (capped by its own MaxPowerKw) as its default profile; none without a site limit.
    `only`: just these chargers (one that boots: the others' shares did not change, and
    a depot's thousand chargers booting must not rewrite each other's a thousand times)."""
    if not gateway_ids:
        return
    counts = dict(
        (
            await session.execute(
                select(ChargingDevice.gateway_id, func.count())
                .where(
                    ChargingDevice.gateway_id.in_(gateway_ids),
                    ChargingDevice.charge_point_id.is_not(None),
                )
                .group_by(ChargingDevice.gateway_id)
            )
        ).all()
    )
    rows = await session.execute(
        select(
            ChargingDevice.charge_point_id,
            ChargingDevice.max_power_kw,
            Gateway.max_power_kw,
            Gateway.id,
        )
        .join(Gateway, Gateway.id == ChargingDevice.gateway_id)
        .where(
            Gateway.id.in_(gateway_ids),
            ChargingDevice.charge_point_id.is_not(None),
            true() if only is None else ChargingDevice.charge_point_id.in_(only),
        )
        .order_by(ChargingDevice.charge_point_id)
    )
    wanted: dict[str, dict[str, Any] | None] = {}
    for charge_point_id, device_kw, site_kw, gateway_id in rows.all():
        assert charge_point_id is not None  # the query asks for chargers only
        share = None
        if site_kw is not None:
            share = min(float(site_kw) / max(int(counts.get(gateway_id, 1)), 1), float(device_kw))
        wanted[charge_point_id] = schedule.wanted_share(share)
    await set_many(session, SITE_DEFAULT, wanted, now)


async def unsteerable(session: AsyncSession, device_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Devices whose charger refused the plan's profile (Rejected, NotSupported)."""
    if not device_ids:
        return set()
    found = await session.scalars(
        select(ChargingDevice.id)
        .join(
            ChargingProfileState,
            ChargingProfileState.charge_point_id == ChargingDevice.charge_point_id,
        )
        .where(
            ChargingDevice.id.in_(device_ids),
            ChargingProfileState.kind == PLAN,
            ChargingProfileState.status.in_(UNSTEERABLE),
        )
    )
    return set(found)
