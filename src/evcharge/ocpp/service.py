"""The central system's rules: connections, id tags, transactions, and sessions that
become orders. Handlers call these inside one unit of work each; order creation runs
in its own unit of work afterwards (the CreateOrder service owns that statement)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from evcharge.db import unit_of_work
from evcharge.errors import DomainError, Invalid, Unavailable
from evcharge.ocpp import energy, passwords, repository
from evcharge.ocpp.energy import CLOCK_NOT_SET, REGISTER_IMPLAUSIBLE, Reading
from evcharge.ocpp.models import Charger, ConnectorState, MeterValue, ServerProcess, Transaction
from evcharge.orders import service as orders
from evcharge.orders.models import FROM_OCPP
from evcharge.orders.schemas import ChargingOrderRequest

ENERGY = "Energy.Active.Import.Register"
CLOSED_BY_RULE = "closed_by_rule"
STOP_AFTER_RULE = "stop_after_rule"
UNKNOWN_ID_TAG = "unknown_id_tag"


def parse_time(raw: str | None, now: datetime) -> tuple[datetime, bool]:
    """The charger's timestamp, and whether it can be trusted (parsable, clock set)."""
    if raw:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            return now, False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=now.tzinfo)
        return moment, energy.clock_is_set(moment)
    return now, False


def order_id(charge_point_id: str, transaction_id: int) -> str:
    """The order's Id: derived from charger and transaction, so settling twice is one order."""
    return f"ocpp-{charge_point_id}-{transaction_id}"


# --- connections ------------------------------------------------------------------------


async def connected(
    session: AsyncSession,
    charge_point_id: str,
    device_id: uuid.UUID,
    process: ServerProcess,
    connection_id: str,
    protocol: str,
    now: datetime,
    refresh_process: bool = True,
) -> None:
    """The charger is held by `process`, whose row is written in the same unit: refreshed,
    or (`refresh_process=False`, known fresh) only recreated should it have gone."""
    await repository.touch_process(session, process, now, refresh=refresh_process)
    process_id = process.id
    found = await repository.charger(session, charge_point_id)
    if found is None:
        found = Charger(charge_point_id=charge_point_id, device_id=device_id)
        session.add(found)
    found.device_id = device_id
    found.connected = True
    found.connected_since = now
    found.process_id = process_id
    found.connection_id = connection_id
    found.protocol = protocol
    await session.flush()


async def disconnected(
    session: AsyncSession, charge_point_id: str, connection_id: str, now: datetime
) -> None:
    """Only the connection that still holds the charger marks it disconnected (a
    replacing connection has already taken over the row)."""
    found = await repository.charger(session, charge_point_id)
    if found is not None and found.connection_id == connection_id:
        found.connected = False
        found.disconnected_at = now
        found.process_id = None
        found.connection_id = None
        await session.flush()


async def booted(
    session: AsyncSession, charge_point_id: str, enabled: bool, boot: dict[str, str], now: datetime
) -> str:
    status = "Accepted" if enabled else "Rejected"
    found = await repository.charger(session, charge_point_id)
    if found is not None:
        found.boot = boot
        found.boot_status = status
        found.last_heartbeat = now
        await session.flush()
    return status


async def heartbeat(session: AsyncSession, charge_point_id: str, now: datetime) -> None:
    found = await repository.charger(session, charge_point_id)
    if found is not None:
        found.last_heartbeat = now
        await session.flush()


# --- id tags --------------------------------------------------------------------------


async def id_tag_info(session: AsyncSession, tag: str, now: datetime) -> dict[str, Any]:
    """OCPP IdTagInfo for `tag`: unknown tags are Invalid, expired ones Expired."""
    found = await repository.id_tag(session, tag)
    if found is None:
        return {"status": "Invalid"}
    info: dict[str, Any] = {"status": found.status}
    if found.expiry is not None:
        info["expiryDate"] = found.expiry.isoformat()
        if found.expiry <= now and found.status == "Accepted":
            info["status"] = "Expired"
    return info


# --- status -----------------------------------------------------------------------------


async def status_notification(
    session: AsyncSession, charge_point_id: str, payload: dict[str, Any], now: datetime
) -> list[int]:
    """Keep the connector's state. A connector that is Available again ends the session a
    lost StopTransaction left open (closed by rule). Returns transactions to settle."""
    number = int(payload["connector_id"])
    moment, trusted = parse_time(payload.get("timestamp"), now)
    found = await repository.connector(session, charge_point_id, number)
    if found is None:
        found = ConnectorState(charge_point_id=charge_point_id, connector_id=number)
        session.add(found)
    found.status = payload["status"]
    found.error_code = payload["error_code"]
    found.info = payload.get("info")
    found.vendor_id = payload.get("vendor_id")
    found.vendor_error_code = payload.get("vendor_error_code")
    found.timestamp = moment if trusted else now
    found.updated = now
    await session.flush()
    if payload["status"] != "Available" or number == 0:
        return []
    closed = []
    for tx in await repository.active_on_connector(session, charge_point_id, number):
        await _close_by_rule(session, tx, now, "connector Available without StopTransaction")
        closed.append(tx.id)
    return closed


async def _close_by_rule(session: AsyncSession, tx: Transaction, now: datetime, why: str) -> None:
    tx.state = CLOSED_BY_RULE
    tx.flags = [*tx.flags, CLOSED_BY_RULE]
    tx.stop_time = _last_moment(tx, now)
    tx.meter_stop_wh = tx.last_meter_wh if tx.last_meter_wh is not None else tx.meter_start_wh
    tx.stop_reason = why[:32]
    await session.flush()


def _last_moment(tx: Transaction, now: datetime) -> datetime:
    # The last sign of life of the session is the best end the server knows.
    return max(tx.last_activity, tx.start_time) if tx.last_activity <= now else now


# --- transactions -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    transaction_id: int
    id_tag_info: dict[str, Any]
    closed: list[int]
    state: TxState | None = None


async def start_transaction(
    session: AsyncSession,
    charge_point_id: str,
    device_id: uuid.UUID,
    payload: dict[str, Any],
    now: datetime,
) -> Started:
    """Assign the transactionId; a re-sent start (same connector, id tag, timestamp and
    meterStart) gets the id it got before. Another session still open on the connector
    lost its stop: it is closed by rule."""
    connector_id = int(payload["connector_id"])
    tag = str(payload["id_tag"])
    charger_start, trusted = parse_time(payload.get("timestamp"), now)
    meter_start = energy.register_wh(payload["meter_start"])
    info = await id_tag_info(session, tag, now)
    key = {
        "charge_point_id": charge_point_id,
        "connector_id": connector_id,
        "id_tag": tag,
        "charger_start": charger_start,
        "meter_start_wh": Decimal(0) if meter_start is None else meter_start,
        "claimed_id": 0,
    }
    same = await repository.find(session, key)
    if same is not None:
        return Started(same.id, info, [], TxState.of(same))
    closed = []
    for tx in await repository.active_on_connector(session, charge_point_id, connector_id):
        await _close_by_rule(session, tx, now, "new StartTransaction on connector")
        closed.append(tx.id)
    found = await repository.id_tag(session, tag)
    flags = [] if trusted else [CLOCK_NOT_SET]
    if found is None:
        flags.append(UNKNOWN_ID_TAG)
    if meter_start is None:
        flags.append(REGISTER_IMPLAUSIBLE)
    tx = Transaction(
        charge_point_id=charge_point_id,
        device_id=device_id,
        connector_id=connector_id,
        id_tag=tag,
        customer_id=found.customer_id if found is not None else None,
        charger_start=charger_start,
        start_time=charger_start if trusted else now,
        meter_start_wh=key["meter_start_wh"],
        last_activity=now,
        state="active",
        flags=flags,
    )
    try:
        async with session.begin_nested():
            session.add(tx)
            await session.flush()
    except IntegrityError:  # the same start arrived on a replacing connection meanwhile
        same = await repository.find(session, key)
        if same is None:
            raise
        return Started(same.id, info, closed, TxState.of(same))
    return Started(tx.id, info, closed, TxState.of(tx))


@dataclass(slots=True)
class TxState:
    """What storing a transaction's meter values needs to know about it (kept per
    connection, so a MeterValues costs no read)."""

    id: int
    start_time: datetime
    meter_start_wh: Decimal
    last_meter_wh: Decimal | None
    flags: list[str]

    @classmethod
    def of(cls, tx: Any) -> TxState:
        return cls(tx.id, tx.start_time, tx.meter_start_wh, tx.last_meter_wh, list(tx.flags))


def sampled_rows(
    state: TxState, max_power_kw: Decimal, values: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The meter_values rows of a MeterValues (or a stop's transactionData): energy
    registers normalised to Wh (unit mix-ups corrected, resets flagged), other measurands
    as sent. Updates `state` (last register, flags)."""
    rows: list[dict[str, Any]] = []
    for entry in values:
        moment, trusted = parse_time(entry.get("timestamp"), now)
        for sampled in entry.get("sampled_value", []):
            value = energy.sampled_number(sampled)
            if value is None:
                continue
            measurand = sampled.get("measurand") or ENERGY
            unit = sampled.get("unit")
            phase = sampled.get("phase")
            flags = [] if trusted else [CLOCK_NOT_SET]
            if measurand == ENERGY and phase is None:
                wh = energy.to_wh(value, unit)
                if wh is not None:
                    reading = _register(state, max_power_kw, wh, moment if trusted else now)
                    value, unit = reading.wh, "Wh"
                    if reading.flag is not None:
                        flags.append(reading.flag)
                        if reading.flag not in state.flags:
                            state.flags = [*state.flags, reading.flag]
                    state.last_meter_wh = reading.wh
            rows.append(
                {
                    "transaction_id": state.id,
                    "timestamp": moment if trusted else now,
                    "measurand": measurand[:64],
                    "value": value,
                    "unit": unit,
                    "context": sampled.get("context"),
                    "phase": phase,
                    "location": sampled.get("location"),
                    "flags": flags,
                }
            )
    return rows


def _register(tx: TxState, max_power_kw: Decimal, wh: Decimal, moment: datetime) -> Reading:
    previous = tx.last_meter_wh if tx.last_meter_wh is not None else tx.meter_start_wh
    limit = energy.max_increase_wh(max_power_kw, moment - tx.start_time)
    return energy.normalise(wh, previous, limit)


@dataclass(frozen=True, slots=True)
class Stopped:
    id_tag_info: dict[str, Any] | None
    settle: list[int]


async def stop_transaction(
    session: AsyncSession,
    charge_point_id: str,
    device_id: uuid.UUID,
    max_power_kw: Decimal,
    payload: dict[str, Any],
    now: datetime,
) -> Stopped:
    """Record the stop (with its transactionData) whatever it refers to; a stop of an
    unknown transaction (or −1) is kept for the operator as an orphan."""
    tag = payload.get("id_tag")
    info = await id_tag_info(session, tag, now) if tag else None
    moment, trusted = parse_time(payload.get("timestamp"), now)
    meter_stop = energy.register_wh(payload["meter_stop"])
    transaction_id = int(payload["transaction_id"])
    tx = (
        None
        if transaction_id <= 0
        else await repository.transaction(session, charge_point_id, transaction_id, lock=True)
    )
    if tx is None:
        await _orphan_stop(session, charge_point_id, device_id, payload, now)
        return Stopped(info, [])
    tx.last_activity = now
    state = TxState.of(tx)
    rows = sampled_rows(state, max_power_kw, payload.get("transaction_data") or [], now)
    if rows:
        await session.execute(insert(MeterValue), rows)
    tx.last_meter_wh, tx.flags = state.last_meter_wh, state.flags
    if tx.state != "active":
        if STOP_AFTER_RULE not in tx.flags and tx.state == CLOSED_BY_RULE:
            tx.flags = [*tx.flags, STOP_AFTER_RULE]
        await session.flush()
        return Stopped(info, [])
    if not trusted and CLOCK_NOT_SET not in tx.flags:
        tx.flags = [*tx.flags, CLOCK_NOT_SET]
    if meter_stop is None:  # billed up to the last plausible register
        meter_stop = tx.last_meter_wh if tx.last_meter_wh is not None else tx.meter_start_wh
        if REGISTER_IMPLAUSIBLE not in tx.flags:
            tx.flags = [*tx.flags, REGISTER_IMPLAUSIBLE]
    reading = _register(TxState.of(tx), max_power_kw, meter_stop, moment if trusted else now)
    if reading.flag is not None and reading.flag not in tx.flags:
        tx.flags = [*tx.flags, reading.flag]
    tx.meter_stop_wh = reading.wh
    tx.stop_time = moment if trusted else now
    tx.stop_reason = payload.get("reason")
    tx.state = "stopped"
    await session.flush()
    return Stopped(info, [tx.id])


async def _orphan_stop(
    session: AsyncSession,
    charge_point_id: str,
    device_id: uuid.UUID,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """Keep a stop that names no known session for the operator (once, however often the
    charger re-sends it)."""
    moment, trusted = parse_time(payload.get("timestamp"), now)
    meter_stop = energy.register_wh(payload["meter_stop"])
    claimed = int(payload["transaction_id"])
    tag = str(payload.get("id_tag") or "")[:20]
    key = {
        "charge_point_id": charge_point_id,
        "connector_id": 0,
        "id_tag": tag,
        "charger_start": moment,
        "meter_start_wh": Decimal(0) if meter_stop is None else meter_stop,
        "claimed_id": claimed,
    }
    if await repository.find(session, key) is not None:
        return
    orphan = Transaction(
        **key,
        device_id=device_id,
        start_time=moment if trusted else now,
        stop_time=moment if trusted else now,
        meter_stop_wh=key["meter_start_wh"],
        stop_reason=payload.get("reason"),
        last_activity=now,
        state="orphan_stop",
        flags=["unknown_transaction"]
        + ([] if trusted else [CLOCK_NOT_SET])
        + ([] if meter_stop is not None else [REGISTER_IMPLAUSIBLE]),
        order_error=f"StopTransaction for unknown transactionId {claimed}; no start to bill from.",
    )
    try:
        async with session.begin_nested():
            session.add(orphan)
            await session.flush()
    except IntegrityError:  # the same stop, re-sent on a replacing connection meanwhile
        pass


async def close_stale(session: AsyncSession, now: datetime, silence: timedelta) -> list[int]:
    """Sessions silent for longer than `silence` lost their stop: closed by rule."""
    closed = []
    for tx in await repository.stale_active(session, now - silence):
        await _close_by_rule(session, tx, now, "no meter value in time")
        closed.append(tx.id)
    return closed


# --- settlement -------------------------------------------------------------------------


async def prepare_order(session: AsyncSession, transaction_id: int) -> ChargingOrderRequest | None:
    """The order an ended session becomes (its energy and flags recorded on the way), or
    None when there is nothing (more) to bill; a session without a customer is kept
    with the reason."""
    tx = await session.get(Transaction, transaction_id)
    if tx is None or tx.order_id is not None or tx.order_error is not None:
        return None
    if tx.stop_time is None or tx.meter_stop_wh is None:
        return None
    readings = [
        Reading(v.value, energy.METER_RESET if energy.METER_RESET in v.flags else None)
        for v in await repository.energy_values(session, tx.id)
        if v.unit == "Wh"
    ]
    last = readings[-1].wh if readings else tx.meter_start_wh
    final_flag = energy.METER_RESET if tx.meter_stop_wh < last else None
    readings.append(Reading(tx.meter_stop_wh, final_flag))
    if any(r.flag == energy.METER_RESET for r in readings) and energy.METER_RESET not in tx.flags:
        tx.flags = [*tx.flags, energy.METER_RESET]
    quantity = energy.kwh(energy.delivered_wh(tx.meter_start_wh, readings))
    tx.energy_kwh = quantity
    end = tx.stop_time if tx.stop_time >= tx.start_time else tx.start_time
    if tx.customer_id is None:
        tx.order_error = f"IdTag {tx.id_tag!r} belongs to no customer; the session is not billed."
        await session.flush()
        return None
    await session.flush()
    return ChargingOrderRequest.model_validate(
        {
            "ChargingDeviceId": str(tx.device_id),
            "CustomerId": str(tx.customer_id),
            "StartTime": tx.start_time,
            "EndTime": end,
            "ElectricQuantity": quantity,
            "Id": order_id(tx.charge_point_id, tx.id),
            "Remark": f"OCPP {tx.charge_point_id} connector {tx.connector_id} transaction {tx.id}"[
                :100
            ],
        }
    )


async def record_order(
    session: AsyncSession, transaction_id: int, client_id: str | None, refusal: str | None
) -> None:
    tx = await session.get(Transaction, transaction_id)
    if tx is not None:
        tx.order_id = client_id
        tx.order_error = refusal
        await session.flush()


async def settle(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, transaction_id: int
) -> None:
    """Turn an ended session into a ChargeOrder through CreateOrder's own service, or
    record why an order rule refused it — three short units of work, so no write lock is
    held across another connection (SQLite has one writer)."""
    async with unit_of_work(sessions) as session:
        body = await prepare_order(session, transaction_id)
    if body is None:
        return
    assert body.id is not None
    try:
        await create_order(engine, body)
    except DomainError as refused:
        if isinstance(refused, Unavailable):
            raise
        outcome: tuple[str | None, str | None] = (None, _reason(refused))
    else:
        outcome = (body.id, None)
    async with unit_of_work(sessions) as session:
        await record_order(session, transaction_id, *outcome)


async def create_order(engine: AsyncEngine, body: ChargingOrderRequest) -> None:
    """CreateOrder's service, as an admin's order from OCPP: one statement on PostgreSQL
    when it is stored at once, else on a connection of its own that says why not."""
    first = await orders.create_at_once(engine, body, None, source=FROM_OCPP)
    if isinstance(first, orders.Created):
        return
    async with engine.connect() as connection:
        await orders.create(connection, body, source=FROM_OCPP, tried=first)
        if connection.in_transaction():
            await connection.commit()


def _reason(error: DomainError) -> str:
    details = "; ".join(
        f"{field}: {' '.join(problems)}" for field, problems in error.errors.items()
    )
    return f"{error.message} {details}".strip()


# --- credentials ------------------------------------------------------------------------


async def set_password(
    session: AsyncSession,
    device_id: uuid.UUID,
    password: str,
    scrypt_n: int = passwords.SCRYPT_N,
) -> None:
    """Store the charger's password as a salted scrypt hash (the password itself never)."""
    problem = passwords.check_length(password)
    if problem is not None:
        raise Invalid(errors={"request.Password": [f"Password {problem}."]})
    found = await repository.credential(session, device_id)
    found.password_hash = await asyncio.to_thread(passwords.hash_password, password, n=scrypt_n)
    found.updated = datetime.now(UTC)
    await session.flush()


async def set_enabled(session: AsyncSession, device_id: uuid.UUID, enabled: bool) -> None:
    found = await repository.credential(session, device_id)
    found.enabled = enabled
    found.updated = datetime.now(UTC)
    await session.flush()
