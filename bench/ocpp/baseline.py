"""The baseline: a bare ASGI WebSocket app that answers every CALL with an empty
CALLRESULT — no authentication, no validation, no database. The floor (uvicorn's
WebSocket transport and JSON) that the central system is measured against
(`uvicorn bench.ocpp.baseline:app`)."""

from __future__ import annotations

import json
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept", "subprotocol": "ocpp1.6"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        frame = json.loads(message.get("text") or "[]")
        if frame[:1] == [2]:
            reply: dict[str, Any] = {}
            if frame[2] == "BootNotification":
                reply = {"status": "Accepted", "currentTime": "2030-01-01T00:00:00Z",
                         "interval": 300}  # fmt: skip
            elif frame[2] == "StartTransaction":
                reply = {"transactionId": 1, "idTagInfo": {"status": "Accepted"}}
            elif frame[2] in ("Authorize", "StopTransaction"):
                reply = {"idTagInfo": {"status": "Accepted"}}
            text = json.dumps([3, frame[1], reply])
            await send({"type": "websocket.send", "text": text})
