"""One connected OCPP 1.6J charge point, as the central system sees it.

Built on `ocpp.v16.ChargePoint`; what the library does not do for 1.6 is added here:
an unparsable frame is answered with a CALLERROR FormationViolation (the 1.6 spelling,
with the message id when one can be read) instead of being dropped, and the error
codes whose 1.6 spelling differs are renamed. Handlers stay short: one unit of work
each, never a call to the same charger (outbound calls go through `call`, whose lock
is the per-charger queue OCPP requires: one outstanding call at a time)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import ocpp.messages
import structlog
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult, MessageType, _validate_payload, unpack
from ocpp.routing import on as _on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action

from evcharge import metrics
from evcharge.ocpp import live_energy, service
from evcharge.ocpp.connection import ConnectionClosed
from evcharge.ocpp.repository import Identity
from evcharge.ocpp.smart.models import PLAN

if TYPE_CHECKING:
    from evcharge.ocpp.central import CentralSystem

# Validation is CPU work of microseconds with the library's cached validators: run it
# inline instead of a thread-pool round trip per message.
ocpp.messages.ASYNC_VALIDATION = False

SPELLING_1_6 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}
"""OCPP-J 1.6 §4.2.3 spells these codes this way (errata: kept, never fixed)."""

H = TypeVar("H", bound=Callable[..., Awaitable[Any]])

MALFORMED = "malformed"
"""The action label of a frame that is not a well-formed CALL."""
UNKNOWN = "unknown"
"""The action label of a CALL whose action we do not handle (bounded label values)."""


def on(action: Action) -> Callable[[H], H]:
    """The library's `@on(action)`, typed. Requests are validated in `route_message`
    (with the library's cached validators); our own responses are not validated again."""
    return cast(Callable[[H], H], _on(action, skip_schema_validation=True))


log = structlog.get_logger("evcharge.ocpp")
_QUIET = logging.getLogger("evcharge.ocpp.frames")
_QUIET.setLevel(logging.ERROR)


def call_error(unique_id: str, code: str, description: str, details: dict[str, Any]) -> str:
    return json.dumps(
        [MessageType.CallError, unique_id, SPELLING_1_6.get(code, code), description, details],
        separators=(",", ":"),
    )


def _readable_id(raw: str) -> str:
    """The message id of a frame that could not be handled, when one can be read."""
    try:
        frame = json.loads(raw)
    except (ValueError, TypeError):
        return "-1"
    if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str):
        return frame[1][:36]
    return "-1"


def _well_formed_call(frame: Any) -> bool:
    return (
        isinstance(frame, Call)
        and isinstance(frame.unique_id, str)
        and isinstance(frame.action, str)
        and isinstance(frame.payload, dict)
    )


class CentralChargePoint(ChargePoint):  # type: ignore[misc]  # the library is untyped
    def __init__(
        self, identity: Identity, connection: Any, central: CentralSystem, timeout: float
    ) -> None:
        super().__init__(identity.charge_point_id, connection, timeout, logger=_QUIET)
        self.identity = identity
        self.central = central
        self._transactions: dict[int, service.TxState] = {}
        """This connection's view of its open transactions (MeterValues read none)."""
        self.ready = False
        """The connection's first message is handled (and its boot not rejected): from
        now on commands may go out (charging profiles, ocpp.smart)."""
        self.configured = asyncio.Event()
        """Its smart-charging limits are read (GetConfiguration): profiles may be sent."""
        self._boot_rejected = False

    async def route_message(self, raw_msg: str) -> None:
        """Handle one frame; every CALL from the charger is counted and timed (metrics:
        action and direction "in", from the frame's arrival to our answer sent)."""
        started = time.perf_counter()
        try:
            msg = unpack(raw_msg)
        except OCPPError as error:
            await self._send(
                call_error(_readable_id(raw_msg), "FormatViolation", error.description, {})
            )
            metrics.ocpp_message(MALFORMED, "in", time.perf_counter() - started)
            return
        if msg.message_type_id != MessageType.Call:
            if msg.message_type_id in (MessageType.CallResult, MessageType.CallError):
                self._response_queue.put_nowait(msg)
            return
        if not _well_formed_call(msg):
            details = {"cause": "a CALL is [2, messageId, action, {payload}]"}
            await self._send(
                call_error(_readable_id(raw_msg), "FormatViolation", "Malformed CALL", details)
            )
            metrics.ocpp_message(MALFORMED, "in", time.perf_counter() - started)
            return
        known = msg.action in self.route_map
        try:
            if known:
                _validate_payload(msg, self._ocpp_version)
            await self._handle_call(msg)
            if not self.ready and not self._boot_rejected:
                self.ready = True
                booted = msg.action == Action.boot_notification
                self.central.smart.connection_ready(self, booted)
        except OCPPError as error:
            await self._send(
                call_error(msg.unique_id, error.code, error.description, _plain(error.details))
            )
        finally:
            action = msg.action if known else UNKNOWN
            metrics.ocpp_message(action, "in", time.perf_counter() - started)

    async def call(self, payload: Any, *args: Any, **kwargs: Any) -> Any:
        """A call of our own to the charger (its smart-charging configuration, charging
        profiles): counted and timed with direction "out", until the charger's reply, the
        timeout, or the socket closing (ConnectionClosed at once: the library alone would
        wait out its whole timeout for an answer that can no longer come)."""
        started = time.perf_counter()
        closed = asyncio.ensure_future(self._connection.closed.wait())
        answer = asyncio.ensure_future(super().call(payload, *args, **kwargs))
        try:
            done, _ = await asyncio.wait({answer, closed}, return_when="FIRST_COMPLETED")
            if answer not in done:
                raise ConnectionClosed("the charger's socket closed before it answered")
            return answer.result()
        finally:
            closed.cancel()
            answer.cancel()
            action = type(payload).__name__.removesuffix("Payload")
            metrics.ocpp_message(action, "out", time.perf_counter() - started)

    async def command(
        self, action: str, payload_json: str, seconds: float
    ) -> CallResult | CallError:
        """A remote command (payload already checked, as JSON text): queued behind the
        charger's other outbound calls on the library's call lock (one outstanding CALL,
        as OCPP requires), then sent; the charger's CALLRESULT or CALLERROR comes back.
        `seconds` covers the queue and the answer (TimeoutError); a socket that closes
        meanwhile raises ConnectionClosed at once. Incoming messages are never held up:
        they are read and handled by `start()`, which only hands answers over."""
        started = time.perf_counter()
        unique_id = str(uuid.uuid4())
        frame = f"[2,{json.dumps(unique_id)},{json.dumps(action)},{payload_json}]"
        try:
            async with asyncio.timeout(seconds), self._call_lock:
                await self._send(frame)
                return await self._answer_to(unique_id)
        finally:
            metrics.ocpp_message(action, "out", time.perf_counter() - started)

    async def _answer_to(self, unique_id: str) -> CallResult | CallError:
        closed = asyncio.ensure_future(self._connection.closed.wait())
        answer: asyncio.Future[Any] | None = None
        try:
            while True:
                answer = asyncio.ensure_future(self._response_queue.get())
                done, _ = await asyncio.wait({answer, closed}, return_when="FIRST_COMPLETED")
                if answer not in done:
                    raise ConnectionClosed("the charger's socket closed before it answered")
                message = answer.result()
                if message.unique_id == unique_id:
                    return cast(CallResult | CallError, message)
                # else: the late answer to an earlier call that timed out: dropped
        finally:
            closed.cancel()
            if answer is not None:
                answer.cancel()

    async def _send(self, message: str) -> None:
        # The library formats its own CALLERRORs (a handler that raised): 1.6 spelling too.
        if message.startswith("[4,"):
            frame = json.loads(message)
            frame[2] = SPELLING_1_6.get(frame[2], frame[2])
            message = json.dumps(frame, separators=(",", ":"))
        await self._connection.send(message)

    # --- handlers ------------------------------------------------------------------------

    async def _unit(
        self, work: Callable[[Any, datetime], Awaitable[Any]], *, soft: bool = False
    ) -> Any:
        return await self.central.in_unit(work, soft=soft)

    @on(Action.boot_notification)
    async def on_boot_notification(self, **payload: Any) -> call_result.BootNotification:
        boot = {k: str(v) for k, v in payload.items()}
        now = self.central.now()
        status = await self._unit(
            lambda s, t: service.booted(s, self.id, self.identity.enabled, boot, t), soft=True
        )
        self._boot_rejected = status != "Accepted"
        if self.ready and not self._boot_rejected:  # a reboot on an open connection
            self.central.smart.connection_ready(self, True)
        return call_result.BootNotification(
            current_time=now.isoformat(), interval=self.central.heartbeat_seconds, status=status
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        now = self.central.now()
        await self._unit(lambda s, t: service.heartbeat(s, self.id, t), soft=True)
        return call_result.Heartbeat(current_time=now.isoformat())

    @on(Action.status_notification)
    async def on_status_notification(self, **payload: Any) -> call_result.StatusNotification:
        closed = await self._unit(
            lambda s, t: service.status_notification(s, self.id, payload, t), soft=True
        )
        self.central.settlement.soon(closed)
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str) -> call_result.Authorize:
        info = await self._unit(lambda s, t: service.id_tag_info(s, id_tag, t))
        return call_result.Authorize(id_tag_info=info)

    @on(Action.start_transaction)
    async def on_start_transaction(self, **payload: Any) -> call_result.StartTransaction:
        started = await self._unit(
            lambda s, t: service.start_transaction(s, self.id, self.identity.device_id, payload, t)
        )
        self.central.settlement.soon(started.closed)
        if started.state is not None:
            self._transactions[started.transaction_id] = started.state
        self.central.smart.resend(self.id, (PLAN,))  # the plan becomes this session's TxProfile
        return call_result.StartTransaction(
            transaction_id=started.transaction_id, id_tag_info=started.id_tag_info
        )

    @on(Action.meter_values)
    async def on_meter_values(
        self,
        connector_id: int,
        meter_value: list[dict[str, Any]],
        transaction_id: int | None = None,
    ) -> call_result.MeterValues:
        now = self.central.now()
        device = self.identity.device_id
        if transaction_id is None:  # not part of a session: not billed, only the planner's
            await self.central.meters.write_readings(live_energy.raw(device, meter_value, now))
            return call_result.MeterValues()
        state = self._transactions.get(transaction_id)
        if state is None:
            state = await self.central.meters.state(self.id, transaction_id)
            if state is None:
                return call_result.MeterValues()
        rows = service.sampled_rows(state, self.identity.max_power_kw, meter_value, now)
        readings = live_energy.from_rows(device, rows, now)
        await self.central.meters.write(rows, state, now, readings)
        self._transactions[transaction_id] = state
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop_transaction(self, **payload: Any) -> call_result.StopTransaction:
        self._transactions.pop(int(payload["transaction_id"]), None)
        stopped = await self._unit(
            lambda s, t: service.stop_transaction(
                s, self.id, self.identity.device_id, self.identity.max_power_kw, payload, t
            )
        )
        self.central.settlement.soon(stopped.settle)  # answered once stored; billed next
        self.central.smart.resend(self.id, (PLAN,))  # back to the TxDefaultProfile
        await self._final_reading(payload)
        return call_result.StopTransaction(id_tag_info=stopped.id_tag_info)

    async def _final_reading(self, payload: dict[str, Any]) -> None:
        """The stop's register is the planner's last reading of the session (best effort:
        the stop itself is stored; a lost reading only delays what the plan knows)."""
        sample = {
            "timestamp": payload.get("timestamp"),
            "sampled_value": [{"value": str(payload["meter_stop"]), "unit": "Wh"}],
        }
        now = self.central.now()
        try:
            found = live_energy.raw(self.identity.device_id, [sample], now)
            await self.central.meters.write_readings(found)
        except Exception as exc:
            log.warning("ocpp_stop_reading_not_stored", charge_point=self.id, error=repr(exc))

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, **_payload: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status(
        self, **_payload: Any
    ) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()


def _plain(details: Any) -> dict[str, Any]:
    """CALLERROR details must be a JSON object of plain values."""
    if not isinstance(details, dict):
        return {}
    return {str(k): v for k, v in details.items() if isinstance(v, (str, int, float, bool))}


__all__ = ["CallError", "CentralChargePoint"]
