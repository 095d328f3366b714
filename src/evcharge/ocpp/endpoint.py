"""WebSocket `/ocpp/{ChargePointId}`: identity and credentials are checked before the
upgrade and refused over plain HTTP, as OCPP-J asks (404 unknown identity, 401 missing or
wrong credentials); then the subprotocol is agreed and the charge point served."""

from __future__ import annotations

import base64
import binascii
import random
import uuid

import structlog
from starlette.responses import JSONResponse, Response
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from evcharge import metrics
from evcharge.db import database_unreachable
from evcharge.ocpp import repository, service
from evcharge.ocpp.central import CentralSystem
from evcharge.ocpp.connection import ConnectionClosed, StarletteConnection
from evcharge.ocpp.repository import Identity
from evcharge.ocpp.v16.charge_point import CentralChargePoint

SUBPROTOCOL_1_6 = "ocpp1.6"
PATH = "/ocpp/{charge_point_id}"

log = structlog.get_logger("evcharge.ocpp")


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


async def _deny(websocket: WebSocket, status: int, message: str, retry_after: int = 5) -> None:
    headers = {"WWW-Authenticate": 'Basic realm="OCPP", charset="UTF-8"'} if status == 401 else {}
    if status == 503:
        headers["Retry-After"] = str(retry_after)
    response: Response = JSONResponse({"Message": message}, status_code=status, headers=headers)
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:  # a server without the denial extension: 403 is all it can say
        await websocket.close(code=1008)


async def _identify(
    central: CentralSystem, websocket: WebSocket, charge_point_id: str
) -> Identity | None:
    try:
        identity = await central.in_unit(
            lambda s, _t: repository.identity(s, charge_point_id), soft=True
        )
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        await _deny(websocket, 503, "The database is unavailable; retry shortly.")
        return None
    if identity is None:
        await _deny(websocket, 404, f"No charge point with ChargePointId {charge_point_id!r}.")
        return None
    credentials = basic_credentials(websocket.headers.get("authorization"))
    if (
        credentials is None
        or credentials[0] != charge_point_id
        or identity.password_hash is None
        or not await central.passwords.verify(credentials[1], identity.password_hash)
    ):
        await _deny(websocket, 401, "Missing or wrong credentials for this charge point.")
        return None
    return identity


async def ocpp_endpoint(websocket: WebSocket) -> None:
    central: CentralSystem = websocket.app.state.ocpp
    charge_point_id = websocket.path_params["charge_point_id"]
    if central.overloaded():
        # Spread over a minute so that those refused together do not return together.
        metrics.ocpp_connection_shed()
        await _deny(
            websocket, 503, "Too many chargers are connecting; retry later.",
            retry_after=random.randint(10, 60),
        )  # fmt: skip
        return
    identity = await _identify(central, websocket, charge_point_id)
    if identity is None:
        return
    offered = websocket.scope.get("subprotocols") or []
    if SUBPROTOCOL_1_6 not in offered:
        # OCPP-J 1.6 §3.1.2: complete the handshake without a subprotocol, then close.
        await websocket.accept()
        await websocket.close(code=1002, reason="no agreed OCPP subprotocol (ocpp1.6)")
        return
    connection_id = uuid.uuid4().hex
    touch = not central.process_row_fresh()
    try:  # recorded before the upgrade: a database that is away is still a plain 503
        await central.in_unit(
            lambda s, t: service.connected(
                s, charge_point_id, identity.device_id, central.process, connection_id,
                SUBPROTOCOL_1_6, t, refresh_process=touch,
            ),
            soft=True,
        )  # fmt: skip
        if touch:
            central.process_touched()
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        await _deny(websocket, 503, "The database is unavailable; retry shortly.")
        return
    central.ensure_sweeping()
    await websocket.accept(subprotocol=SUBPROTOCOL_1_6)
    connection = StarletteConnection(websocket, charge_point_id, central.frame_hook)
    charge_point = CentralChargePoint(
        identity, connection, central, central.settings.ocpp_response_timeout_seconds
    )
    connection.charge_point = charge_point
    await central.live.replace(connection)
    central.charge_points[charge_point_id] = charge_point
    await central.commands.listen()
    try:
        await charge_point.start()
    except ConnectionClosed:
        pass
    except Exception as exc:  # never an HTTP error after the upgrade: close, it reconnects
        log.exception("ocpp_connection_failed", charge_point=charge_point_id, error=repr(exc))
        await connection.close(code=1011, reason="internal error")
    finally:
        central.live.release(connection)
        if central.charge_points.get(charge_point_id) is charge_point:
            del central.charge_points[charge_point_id]
        try:
            await central.in_unit(
                lambda s, t: service.disconnected(s, charge_point_id, connection_id, t),
                soft=True,
            )
        except Exception as exc:  # the sweep frees the row of a process that cannot write
            log.warning(
                "ocpp_disconnect_not_recorded", charge_point=charge_point_id, error=repr(exc)
            )


route = WebSocketRoute(PATH, ocpp_endpoint, name="ocpp")
