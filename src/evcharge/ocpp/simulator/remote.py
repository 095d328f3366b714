"""The operator's remote commands, answered as a real charger does (mixed into
`SimulatedChargePoint`): RemoteStart/StopTransaction start and stop a session, Reset
reboots (the session ends, a BootNotification follows), UnlockConnector unlocks,
ChangeAvailability changes the connector's status, TriggerMessage sends what was asked.

The answer goes first; what follows it (a StartTransaction, a StatusNotification) is
sent by the library's `after` hooks, as tasks of their own, like a charger that answers
at once and acts next. `Charger.answering` (an Event, set by default) lets a test hold
the answers back; every command received is put on `Charger.commands`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ocpp.routing import after as _after
from ocpp.routing import on as _on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

if TYPE_CHECKING:
    from evcharge.ocpp.simulator.charger import Charger

H = TypeVar("H", bound=Callable[..., Awaitable[Any]])
CONNECTORS = (1,)
TRIGGERABLE = ("BootNotification", "Heartbeat", "StatusNotification", "MeterValues")


def on(action: Action) -> Callable[[H], H]:
    return cast(Callable[[H], H], _on(action))


def after(action: Action) -> Callable[[H], H]:
    return cast(Callable[[H], H], _after(action))


class RemoteCommands:
    charger: Charger

    async def _received(self, action: str, payload: dict[str, Any]) -> None:
        self.charger.commands.put_nowait((action, payload))
        await self.charger.answering.wait()

    # --- sessions -------------------------------------------------------------------------

    @on(Action.remote_start_transaction)
    async def on_remote_start(
        self, id_tag: str, connector_id: int | None = None, **rest: Any
    ) -> call_result.RemoteStartTransaction:
        await self._received("RemoteStartTransaction", {"id_tag": id_tag, **rest})
        free = self.charger.session is None and (connector_id or 1) in CONNECTORS
        return call_result.RemoteStartTransaction(status="Accepted" if free else "Rejected")

    @after(Action.remote_start_transaction)
    async def after_remote_start(
        self, id_tag: str, connector_id: int | None = None, **_rest: Any
    ) -> None:
        if self.charger.session is None and (connector_id or 1) in CONNECTORS:
            await self.charger.start_session(connector_id or 1, id_tag)

    @on(Action.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        await self._received("RemoteStopTransaction", {"transaction_id": transaction_id})
        running = self.charger.session is not None and self.charger.session[1] == transaction_id
        return call_result.RemoteStopTransaction(status="Accepted" if running else "Rejected")

    @after(Action.remote_stop_transaction)
    async def after_remote_stop(self, transaction_id: int) -> None:
        if self.charger.session is not None and self.charger.session[1] == transaction_id:
            await self.charger.stop_session("Remote")

    # --- the charge point -----------------------------------------------------------------

    @on(Action.reset)
    async def on_reset(self, type: str) -> call_result.Reset:
        await self._received("Reset", {"type": type})
        return call_result.Reset(status="Accepted")

    @after(Action.reset)
    async def after_reset(self, type: str) -> None:
        if self.charger.session is not None:
            await self.charger.stop_session("HardReset" if type == "Hard" else "SoftReset")
        await self.charger.boot()
        await self.charger.send(self.charger.status(CONNECTORS[0], "Available"))

    @on(Action.unlock_connector)
    async def on_unlock(self, connector_id: int) -> call_result.UnlockConnector:
        await self._received("UnlockConnector", {"connector_id": connector_id})
        status = "Unlocked" if connector_id in CONNECTORS else "NotSupported"
        return call_result.UnlockConnector(status=status)

    @on(Action.change_availability)
    async def on_change_availability(
        self, connector_id: int, type: str
    ) -> call_result.ChangeAvailability:
        await self._received("ChangeAvailability", {"connector_id": connector_id, "type": type})
        if connector_id not in (0, *CONNECTORS):
            return call_result.ChangeAvailability(status="Rejected")
        busy = self.charger.session is not None and type == "Inoperative"
        return call_result.ChangeAvailability(status="Scheduled" if busy else "Accepted")

    @after(Action.change_availability)
    async def after_change_availability(self, connector_id: int, type: str) -> None:
        if connector_id not in (0, *CONNECTORS) or self.charger.session is not None:
            return
        status = "Unavailable" if type == "Inoperative" else "Available"
        for connector in CONNECTORS if connector_id == 0 else (connector_id,):
            await self.charger.send(self.charger.status(connector, status))

    @on(Action.trigger_message)
    async def on_trigger(
        self, requested_message: str, connector_id: int | None = None
    ) -> call_result.TriggerMessage:
        await self._received(
            "TriggerMessage", {"requested_message": requested_message, "connector_id": connector_id}
        )
        known = requested_message in TRIGGERABLE
        return call_result.TriggerMessage(status="Accepted" if known else "NotImplemented")

    @after(Action.trigger_message)
    async def after_trigger(self, requested_message: str, connector_id: int | None = None) -> None:
        charger, connector = self.charger, connector_id or CONNECTORS[0]
        if requested_message == "BootNotification":
            await charger.boot()
        elif requested_message == "Heartbeat":
            await charger.send(call.Heartbeat())
        elif requested_message == "StatusNotification":
            status = "Charging" if charger.session is not None else "Available"
            await charger.send(charger.status(connector, status))
        elif requested_message == "MeterValues":
            transaction = charger.session[1] if charger.session is not None else None
            await charger.send(charger.meter_value(connector, transaction))
