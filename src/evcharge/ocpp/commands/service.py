"""The rules of a remote command, shared by the API and the console: which action, who
may send it to which charger, a payload the OCPP 1.6 schema accepts — then dispatch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.auth.principal import Principal
from evcharge.compat.numbers import json_text
from evcharge.compat.paging import Paging
from evcharge.errors import Forbidden, Invalid, NotFound
from evcharge.ocpp import reads, repository
from evcharge.ocpp.central import CentralSystem
from evcharge.ocpp.commands import actions
from evcharge.ocpp.commands.dispatch import Outcome

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
"""Visibility does not depend on the connection: any `alive_after` will do."""


async def _check(
    session: AsyncSession, principal: Principal, charge_point_id: str, action: str, payload: Any
) -> None:
    filters = reads.ChargerFilter(charge_point_id=charge_point_id)
    found, _ = await reads.chargers(session, principal, Paging(1, 1), _EPOCH, filters)
    if not found:
        raise NotFound(f"No charge point with ChargePointId {charge_point_id!r} exists.")
    if not principal.is_admin and action not in actions.CUSTOMER_ACTIONS:
        raise Forbidden(
            "A customer API key may send only RemoteStartTransaction and "
            "RemoteStopTransaction, to its own chargers."
        )
    actions.check(action, payload)
    if not principal.is_admin and action == "RemoteStartTransaction":
        tag = await repository.id_tag(session, str(payload["idTag"]))
        if tag is None or tag.customer_id != principal.customer_uuid:
            raise Invalid(
                errors={
                    "request.idTag": [f"No id tag {payload['idTag']!r} exists for your customer."]
                }
            )


async def send(
    central: CentralSystem,
    principal: Principal,
    charge_point_id: str,
    raw_action: str,
    payload: Any,
) -> tuple[str, Outcome]:
    """(the action's OCPP name, what came of it). Checks run in a short unit of work of
    their own: nothing is held (no pool connection, no SQLite write lock) while the
    command waits for the charger."""
    action = actions.canonical(raw_action)
    if action is None:
        raise NotFound(f"No command {raw_action!r} exists. Commands: {', '.join(actions.ACTIONS)}.")
    if payload is None:
        payload = {}
    await central.in_unit(lambda s, _t: _check(s, principal, charge_point_id, action, payload))
    outcome = await central.commands.send(charge_point_id, action, json_text(payload))
    return action, outcome
