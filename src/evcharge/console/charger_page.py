"""A charger's page: state, connectors, sessions, recent meter values, the remote
commands form (the charger's reply shown) and the OCPP message log.

Commands go through `ocpp.commands.service.send`, the API's own rules: the same
actions, the same scoping (a customer key: start and stop on its own chargers), the
payload checked against the OCPP 1.6 schema. The page is rendered after the command,
in a unit of work of its own: nothing is held while the charger is asked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from evcharge.compat.body import BodyError, parse_json
from evcharge.compat.paging import Paging
from evcharge.console.chargers import SESSIONS_PER_PAGE, ChargerSource
from evcharge.console.web import Caller, check_csrf, local_time, render
from evcharge.db import unit_of_work
from evcharge.errors import DomainError, NotFound
from evcharge.ocpp import frame_log, reads
from evcharge.ocpp.commands import actions
from evcharge.ocpp.commands import service as commands

router = APIRouter()

ChargePointId = Annotated[str, Path(min_length=1, max_length=48)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
LOG_PAGE_SIZE = 25
EXAMPLES = {
    "RemoteStartTransaction": {"idTag": "CARD-0001", "connectorId": 1},
    "RemoteStopTransaction": {"transactionId": 1},
    "Reset": {"type": "Soft"},
    "UnlockConnector": {"connectorId": 1},
    "ChangeAvailability": {"connectorId": 0, "type": "Operative"},
    "GetConfiguration": {"key": ["HeartbeatInterval"]},
    "ChangeConfiguration": {"key": "HeartbeatInterval", "value": "300"},
    "TriggerMessage": {"requestedMessage": "StatusNotification", "connectorId": 1},
    "GetCompositeSchedule": {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
    "ClearChargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"},
}
"""Shown next to the form: the OCPP 1.6 payload of each action."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What came of a command, as the page shows it (the HTTP status the API answers)."""

    action: str
    status: int
    summary: str
    body: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogRow:
    id: int
    at: Any
    direction: str
    message_type: str | None
    action: str | None
    message_id: str | None
    frame: str
    size: int
    truncated: bool


def _pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


def allowed_actions(caller: Caller) -> list[str]:
    if caller.principal.is_admin:
        return list(actions.ACTIONS)
    return [a for a in actions.ACTIONS if a in actions.CUSTOMER_ACTIONS]


async def _page(
    request: Request,
    caller: Caller,
    session: AsyncSession,
    charge_point_id: str,
    page: int,
    log_page: int,
    result: CommandResult | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    source: ChargerSource = request.app.state.charger_source
    detail = await source.detail(session, caller.principal, charge_point_id, page)
    if detail is None:
        raise NotFound(f"No charge point with ChargePointId {charge_point_id!r} exists.")
    log_rows: list[LogRow] = []
    log_total = 0
    if source.live:
        frames, log_total = await reads.frames(
            session, charge_point_id, Paging(log_page, LOG_PAGE_SIZE)
        )
        for f in frames:
            kind, message_id, action = frame_log.describe(f.frame)
            log_rows.append(
                LogRow(f.id, f.at, f.direction, kind, action, message_id, f.frame, f.size,
                       f.size > len(f.frame))
            )  # fmt: skip
    choices = allowed_actions(caller)
    chosen = (form or {}).get("action") or choices[0]
    return render(
        request,
        "charger.html",
        {
            "detail": detail,
            "c": detail.charger,
            "page": page,
            "pages": _pages(detail.sessions_total, SESSIONS_PER_PAGE),
            "base_query": f"log={log_page}&",
            "live": source.live,
            "when": local_time(request),
            "title": f"Charger {charge_point_id}",
            "actions": choices,
            "chosen": chosen,
            "payload": (form or {}).get("payload")
            or json.dumps(EXAMPLES.get(chosen, {}), indent=None),
            "examples": {a: json.dumps(EXAMPLES[a]) for a in choices},
            "result": result,
            "log": log_rows,
            "log_page": log_page,
            "log_pages": _pages(log_total, LOG_PAGE_SIZE),
            "log_total": log_total,
        },
        status_code=result.status if result is not None and result.status >= 400 else 200,
        caller=caller,
    )


@router.get("/ui/chargers/{charge_point_id}")
async def charger(
    request: Request,
    caller: Caller,
    charge_point_id: ChargePointId,
    page: PageNo = 1,
    log: PageNo = 1,
) -> Response:
    """One charger: state, connectors, power, its sessions with energy, recent meter
    values, commands and its message log. Another customer's charger is the same 404 as
    one that does not exist."""
    async with unit_of_work(request.app.state.sessions) as session:
        return await _page(request, caller, session, charge_point_id, page, log)


def _result(action: str, outcome: Any) -> CommandResult:
    if outcome.kind == "result":
        return CommandResult(
            action, 200, "The charger answered.", json.dumps(outcome.payload, indent=2)
        )
    if outcome.kind == "call_error":
        error = outcome.payload or {}
        summary = f"The charger answered with a CALLERROR {error.get('code')}."
        return CommandResult(action, 502, summary, json.dumps(error, indent=2))
    if outcome.kind == "timeout":
        return CommandResult(action, 504, "The charger did not answer in time.")
    if outcome.kind == "lost":
        return CommandResult(action, 409, "The charger's connection closed before it answered.")
    return CommandResult(action, 409, "The charger is not connected.")


@router.post("/ui/chargers/{charge_point_id}/commands")
async def send_command(
    request: Request, caller: Caller, charge_point_id: ChargePointId
) -> Response:
    """The commands form: the API's rules (`ocpp.commands.service`), the reply shown."""
    form = await check_csrf(request, caller)
    action = form.get("action", "")
    try:
        payload = parse_json(form.get("payload", ""))
        name, outcome = await commands.send(
            request.app.state.ocpp, caller.principal, charge_point_id, action, payload
        )
        result = _result(name, outcome)
    except BodyError as exc:
        result = CommandResult(action, 400, str(exc), fields={"payload": [str(exc)]})
    except NotFound:
        raise
    except DomainError as exc:
        result = CommandResult(action, exc.status, exc.message, fields=exc.errors)
    # The page's log then shows the command's frames (when this process held the socket).
    await request.app.state.ocpp.frames.flush()
    async with unit_of_work(request.app.state.sessions) as session:
        return await _page(request, caller, session, charge_point_id, 1, 1, result, form)
