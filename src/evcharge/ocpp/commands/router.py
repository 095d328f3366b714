"""`POST api/chargers/{ChargePointId}/commands/{Action}`: the OCPP 1.6 request payload in,
the charger's own answer out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from evcharge.auth.principal import CustomerScoped
from evcharge.compat.body import WEB_API_JSON_TYPES, read_json
from evcharge.compat.webapi import errors_doc
from evcharge.errors import Conflict, GatewayTimeout
from evcharge.ocpp.commands import actions, service
from evcharge.ocpp.commands.dispatch import Outcome

router = APIRouter(tags=["ocpp"])

DOC = {
    "summary": "Send a remote command to a charger",
    "description": (
        "The body is the OCPP 1.6 request payload of `Action` (camelCase, as on the wire), "
        "checked against the OCPP 1.6 JSON schema. 200: the charger's CALLRESULT payload; "
        "502: the charger answered with a CALLERROR (`ErrorCode`, `ErrorDescription`, "
        "`ErrorDetails`); 504: no answer within EVCHARGE_OCPP_COMMAND_TIMEOUT_SECONDS; "
        "409: the charger is not connected (or its connection closed before it answered). "
        "Actions: " + ", ".join(actions.ACTIONS) + ". Customer keys: RemoteStartTransaction "
        "(with an id tag of their own) and RemoteStopTransaction on their own chargers."
    ),
    "openapi_extra": {
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
    "responses": {
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
        502: {"description": "The charger answered with a CALLERROR."},
        **errors_doc(400, 403, 404, 409, 415, 503, 504),
    },
}


def answer(outcome: Outcome, action: str, charge_point_id: str) -> Response:
    """The HTTP answer to what came of a command (the console shows the same)."""
    if outcome.kind == "result":
        return JSONResponse(outcome.payload)
    if outcome.kind == "call_error":
        error: dict[str, Any] = outcome.payload or {}
        return JSONResponse(
            {
                "Message": f"The charger answered {action} with a CALLERROR "
                f"{error.get('code')}: {error.get('description') or 'no description'}.",
                "ErrorCode": error.get("code"),
                "ErrorDescription": error.get("description"),
                "ErrorDetails": error.get("details") or {},
            },
            status_code=502,
        )
    if outcome.kind == "timeout":
        raise GatewayTimeout(f"{charge_point_id} did not answer {action} in time.")
    if outcome.kind == "lost":
        raise Conflict(f"{charge_point_id}'s connection closed before it answered {action}.")
    raise Conflict(f"{charge_point_id} is not connected.")


@router.post("/api/chargers/{chargePointId}/commands/{action}", **DOC)  # type: ignore[arg-type]
async def send_command(
    request: Request, principal: CustomerScoped, chargePointId: str, action: str
) -> Response:
    payload = await read_json(request, WEB_API_JSON_TYPES) if await request.body() else None
    name, outcome = await service.send(
        request.app.state.ocpp, principal, chargePointId, action, payload
    )
    return answer(outcome, name, chargePointId)
