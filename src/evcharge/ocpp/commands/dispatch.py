"""A remote command's way to the charger, from any server process.

- The charger's row in `ocpp_chargers` names the process holding its socket (alive while
  its `ocpp_processes` row is fresh). Nobody alive holds it: `not_connected` at once.
- This process holds it: sent on the charger's own queue (`CentralChargePoint.command`,
  one outstanding CALL per charger, the others wait their turn).
- Another process holds it: the command is stored as a row of `ocpp_commands`, its id
  notified on the holder's channel (`ocpp.bus`); the holder sends it, stores the outcome
  in the row and notifies the id on the asker's reply channel.

Every wait has the command's deadline (`EVCHARGE_OCPP_COMMAND_TIMEOUT_SECONDS`). While
it waits for another process, the asker looks at the charger's row every second: when
the connection the command went to is gone (the charger reconnected elsewhere, or the
holder died and was cleared), it answers `lost` at once instead of waiting it out."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.errors import Unavailable
from evcharge.ocpp.bus import Bus, channel_name
from evcharge.ocpp.connection import ConnectionClosed
from evcharge.ocpp.models import BusMessage, Charger, Command, ServerProcess

if TYPE_CHECKING:
    from evcharge.ocpp.central import CentralSystem

log = structlog.get_logger("evcharge.ocpp.commands")

Kind = Literal["result", "call_error", "not_connected", "timeout", "lost"]
CHECK_SECONDS = 1.0
"""How often an asker looks whether the connection its command went to still exists."""
KEEP_ROWS = timedelta(hours=1)
"""Command rows left behind by an asker that died are deleted by the sweep after this."""
KEEP_BUS = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind
    payload: Any = None
    """The charger's CALLRESULT payload (result) or {code, description, details}."""


@dataclass(frozen=True, slots=True)
class Holder:
    process_id: str
    connection_id: str | None


async def holder(session: AsyncSession, charge_point_id: str, alive_after: datetime) -> Any:
    row = (
        await session.execute(
            select(Charger.process_id, Charger.connection_id)
            .join(ServerProcess, ServerProcess.id == Charger.process_id)
            .where(
                Charger.charge_point_id == charge_point_id,
                Charger.connected.is_(True),
                ServerProcess.last_seen >= alive_after,
            )
        )
    ).first()
    return None if row is None else Holder(row.process_id, row.connection_id)


def _outcome_of(row: Command) -> Outcome:
    if row.outcome in ("result", "call_error"):
        return Outcome(row.outcome, json.loads(row.reply or "{}"))  # type: ignore[arg-type]
    if row.outcome in ("not_connected", "timeout", "lost"):
        return Outcome(row.outcome)  # type: ignore[arg-type]
    return Outcome("timeout")


class Commands:
    """One per process (`CentralSystem.commands`)."""

    def __init__(self, central: CentralSystem, bus: Bus) -> None:
        self.central = central
        self.bus = bus
        me = central.process.id
        self.command_channel = channel_name("cmd", me)
        self.reply_channel = channel_name("reply", me)
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._listening = False
        self._replies = False
        self._subscribe_lock = asyncio.Lock()
        self._reply_lock = asyncio.Lock()

    @property
    def timeout(self) -> float:
        return float(self.central.settings.ocpp_command_timeout_seconds)

    def _alive_after(self) -> datetime:
        ttl = timedelta(seconds=self.central.settings.ocpp_process_ttl_seconds)
        return self.central.now() - ttl

    # --- asking -------------------------------------------------------------------------

    async def send(self, charge_point_id: str, action: str, payload_json: str) -> Outcome:
        """Send `action` with its (checked) payload and wait for the charger's answer."""
        deadline = time.monotonic() + self.timeout
        found = await self.central.in_unit(
            lambda s, _t: holder(s, charge_point_id, self._alive_after())
        )
        if found is None:
            return Outcome("not_connected")
        if found.process_id == self.central.process.id:
            return await self.run_here(charge_point_id, action, payload_json, self.timeout)
        return await self._ask(charge_point_id, found, action, payload_json, deadline)

    async def _ask(
        self, charge_point_id: str, found: Holder, action: str, payload_json: str, deadline: float
    ) -> Outcome:
        try:
            await self._listen_for_replies()
        except Exception as exc:
            log.warning("ocpp_command_bus_unavailable", error=repr(exc))
            raise Unavailable(
                "The server processes cannot reach each other; retry shortly."
            ) from exc
        command_id = uuid.uuid4().hex
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = answered
        seconds = max(0.0, deadline - time.monotonic())

        async def store(session: AsyncSession, now: datetime) -> None:
            session.add(
                Command(
                    id=command_id,
                    charge_point_id=charge_point_id,
                    action=action,
                    payload=payload_json,
                    holder=found.process_id,
                    reply_to=self.central.process.id,
                    created=now,
                    deadline=now + timedelta(seconds=seconds),
                    outcome="pending",
                )
            )

        try:
            await self.central.in_unit(store)
            try:
                await self.bus.notify(channel_name("cmd", found.process_id), command_id)
            except Exception as exc:  # the bus's own connection failed: nothing was sent
                log.warning("ocpp_command_not_routed", command=command_id, error=repr(exc))
                raise Unavailable(
                    "The server processes cannot reach each other; retry shortly."
                ) from exc
            kind = await self._wait(answered, charge_point_id, found, deadline)
            if kind is not None:
                return Outcome(kind)
            row = await self.central.in_unit(lambda s, _t: s.get(Command, command_id))
            return Outcome("timeout") if row is None else _outcome_of(row)
        finally:
            self._waiting.pop(command_id, None)
            try:
                await self.central.in_unit(
                    lambda s, _t: s.execute(delete(Command).where(Command.id == command_id))
                )
            except Exception as exc:  # the sweep deletes it later
                log.warning("ocpp_command_row_kept", command=command_id, error=repr(exc))

    async def _wait(
        self, answered: asyncio.Future[None], charge_point_id: str, found: Holder, deadline: float
    ) -> Kind | None:
        """None once the holder answered; else why not (timeout, the connection lost)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            try:
                await asyncio.wait_for(asyncio.shield(answered), min(remaining, CHECK_SECONDS))
                return None
            except TimeoutError:
                pass
            now_held = await self.central.in_unit(
                lambda s, _t: holder(s, charge_point_id, self._alive_after())
            )
            if now_held != found:
                return "lost"

    async def _listen_for_replies(self) -> None:
        async with self._reply_lock:
            if not self._replies:
                await self.bus.subscribe(self.reply_channel, self._on_reply)
                self._replies = True

    def _on_reply(self, command_id: str) -> None:
        answered = self._waiting.get(command_id)
        if answered is not None and not answered.done():
            answered.set_result(None)

    # --- holding ------------------------------------------------------------------------

    async def listen(self) -> None:
        """Take commands for the chargers this process holds; called on every connection,
        subscribes once. Only the connection that starts the subscription waits for it
        (others meanwhile go on: a storm never queues behind the bus). A bus that cannot
        be reached is logged and tried again with the next connection: the charger is
        served all the same, commands to it from other processes time out (504)."""
        if self._listening or self._subscribe_lock.locked():
            return
        async with self._subscribe_lock:
            if self._listening:
                return
            try:
                await self.bus.subscribe(self.command_channel, self._on_command)
                self._listening = True
            except Exception as exc:
                log.warning("ocpp_command_bus_unavailable", error=repr(exc))

    async def _on_command(self, command_id: str) -> None:
        row = await self.central.in_unit(lambda s, _t: s.get(Command, command_id))
        if row is None or row.outcome != "pending" or row.holder != self.central.process.id:
            return
        remaining = (row.deadline - self.central.now()).total_seconds()
        if remaining <= 0:
            return
        outcome = await self.run_here(
            row.charge_point_id, row.action, row.payload, min(remaining, self.timeout)
        )

        async def answer(session: AsyncSession, _now: datetime) -> None:
            found = await session.get(Command, command_id)
            if found is not None:
                found.outcome = outcome.kind
                found.reply = None if outcome.payload is None else json.dumps(outcome.payload)

        await self.central.in_unit(answer)
        await self.bus.notify(channel_name("reply", row.reply_to), command_id)

    async def run_here(
        self, charge_point_id: str, action: str, payload_json: str, seconds: float
    ) -> Outcome:
        """Send on this process's own socket to the charger, waiting `seconds` at most."""
        connection = self.central.live.get(charge_point_id)
        charge_point = None if connection is None else connection.charge_point
        if charge_point is None:
            return Outcome("not_connected")
        try:
            reply = await charge_point.command(action, payload_json, seconds)
        except TimeoutError:
            return Outcome("timeout")
        except ConnectionClosed:
            return Outcome("lost")
        if reply.message_type_id == 4:  # CALLERROR
            details = reply.error_details if isinstance(reply.error_details, dict) else {}
            return Outcome(
                "call_error",
                {
                    "code": str(reply.error_code),
                    "description": str(reply.error_description),
                    "details": details,
                },
            )
        return Outcome("result", reply.payload if isinstance(reply.payload, dict) else {})


async def purge(session: AsyncSession, now: datetime) -> None:
    """Rows of askers that died, and old bus rows (SQLite)."""
    await session.execute(delete(Command).where(Command.created < now - KEEP_ROWS))
    await session.execute(delete(BusMessage).where(BusMessage.created < now - KEEP_BUS))
