"""The console's chargers section backed by the OCPP tables (`app.state.charger_source`):
the same reads and scoping as `GET api/chargers` (`ocpp.reads`), shaped as the console's
rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from evcharge.auth.principal import Principal
from evcharge.compat.paging import Paging
from evcharge.console.chargers import (
    SESSIONS_PER_PAGE,
    ChargerDetail,
    ChargerQuery,
    ChargerRow,
    Connector,
    MeterRow,
    ProfileRow,
    SessionRow,
)
from evcharge.ocpp import reads
from evcharge.ocpp.models import MeterValue, Transaction
from evcharge.ocpp.smart.models import PLAN
from evcharge.ocpp.smart.schedule import SmartConfig
from evcharge.ocpp.smart.wanted import UNSTEERABLE

RECENT_METER_VALUES = 30


def _row(found: reads.Found, power: dict[str, Decimal]) -> ChargerRow:
    device, state, live = found.device, found.state, found.live
    return ChargerRow(
        charge_point_id=device.charge_point_id,
        device_name=device.name,
        customer=device.customer,
        contract=device.contract,
        gateway=device.gateway,
        device=device.number,
        max_power_kw=device.max_power_kw,
        connected=live,
        connected_since=state.connected_since if live and state else None,
        last_heartbeat=state.last_heartbeat if state else None,
        power_kw=power.get(device.charge_point_id),
        held_by=state.process_id if live and state else None,
        connectors=tuple(
            Connector(c.connector_id, c.status, c.error_code) for c in found.connectors
        ),
    )


def _session(tx: Transaction) -> SessionRow:
    energy = tx.energy_kwh
    if energy is None and tx.state == "active" and tx.last_meter_wh is not None:
        energy = max(Decimal(0), tx.last_meter_wh - tx.meter_start_wh) / 1000
    return SessionRow(
        transaction_id=tx.id,
        connector=tx.connector_id,
        id_tag=tx.id_tag,
        state=tx.state,
        start=tx.start_time,
        stop=tx.stop_time,
        energy_kwh=energy,
        stop_reason=tx.stop_reason,
        flags=tuple(tx.flags),
        order_id=tx.order_id,
        order_error=tx.order_error,
    )


def _meter(value: MeterValue) -> MeterRow:
    return MeterRow(
        timestamp=value.timestamp,
        transaction_id=value.transaction_id,
        measurand=value.measurand,
        value=value.value,
        unit=value.unit,
        context=value.context,
        phase=value.phase,
        flags=tuple(value.flags),
    )


class OcppChargers:
    """Connection state, connectors, current power and heartbeats from the database, so
    every server process shows every charger whichever process holds its socket."""

    live = True

    def __init__(self, process_ttl_seconds: float, clock: Callable[[], datetime]) -> None:
        self.ttl = timedelta(seconds=process_ttl_seconds)
        self.clock = clock

    async def chargers(
        self, session: AsyncSession, principal: Principal, query: ChargerQuery
    ) -> tuple[list[ChargerRow], int]:
        filters = reads.ChargerFilter(text=query.text, connected=query.connected)
        paging = Paging(query.page, query.size)
        found, total = await reads.chargers(
            session, principal, paging, self.clock() - self.ttl, filters
        )
        power = await reads.current_power(session, [f.device.charge_point_id for f in found])
        return [_row(f, power) for f in found], total

    async def detail(
        self, session: AsyncSession, principal: Principal, charge_point_id: str, page: int
    ) -> ChargerDetail | None:
        filters = reads.ChargerFilter(charge_point_id=charge_point_id)
        found, _ = await reads.chargers(
            session, principal, Paging(1, 1), self.clock() - self.ttl, filters
        )
        if not found:
            return None
        power = await reads.current_power(session, [charge_point_id])
        sessions, total = await reads.transactions(
            session, charge_point_id, Paging(page, SESSIONS_PER_PAGE)
        )
        recent = await reads.recent_meter_values(session, charge_point_id, RECENT_METER_VALUES)
        state = found[0].state
        return ChargerDetail(
            charger=_row(found[0], power),
            boot_status=state.boot_status if state else None,
            boot=state.boot if state else None,
            profiles=[
                ProfileRow(
                    kind="plan" if p.kind == PLAN else "site default (fair share)",
                    status=p.status,
                    acknowledged=not p.pending,
                    attempts=p.attempts,
                    next_attempt=p.next_attempt,
                    error=p.error,
                )
                for p in found[0].profiles
            ],
            smart=_smart_words(state.smart_config if state else None, found[0].profiles),
            sessions=[_session(tx) for tx in sessions],
            sessions_total=total,
            meter_values=[_meter(v) for v in recent],
        )

    async def changes(self, connection: AsyncConnection, principal: Principal) -> list[Any]:
        return await reads.changes(connection, principal)


def _smart_words(stored: dict[str, Any] | None, profiles: list[Any]) -> str | None:
    if not stored:
        return None
    config = SmartConfig.of(stored)
    words = (
        f"stack levels up to {config.max_stack_level}, at most {config.max_periods} periods, "
        f"limits in {' or '.join(config.units)}"
    )
    if any(p.kind == PLAN and p.status in UNSTEERABLE for p in profiles):
        words += "; it refuses the plan's profile, so it is planned as Normal (not steerable)"
    return words
