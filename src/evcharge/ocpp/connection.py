"""The adapter between Starlette's WebSocket and the `ocpp` library (it needs only
`recv()` and `send()`), plus the live connections of this process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Literal

from starlette.websockets import WebSocket, WebSocketDisconnect

from evcharge import metrics

Direction = Literal["in", "out"]
FrameHook = Callable[[str, Direction, str], None]
"""Called with (charge point id, direction, frame) for every frame: the message log's hook."""


class ConnectionClosed(Exception):
    """The charger's socket is gone."""


class StarletteConnection:
    """What `ocpp.ChargePoint` reads from and writes to."""

    def __init__(self, websocket: WebSocket, charge_point_id: str, hook: FrameHook | None) -> None:
        self.websocket = websocket
        self.charge_point_id = charge_point_id
        self.hook = hook
        self.closed = asyncio.Event()
        self.charge_point: Any = None
        """The protocol handler served on this socket (remote commands are sent through it)."""

    async def recv(self) -> str:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            self.closed.set()
            raise ConnectionClosed(message.get("code"))
        text = message.get("text")
        if text is None:
            raw = message.get("bytes") or b""
            text = raw.decode("utf-8", errors="replace")
        if self.hook is not None:
            self.hook(self.charge_point_id, "in", text)
        return text

    async def send(self, frame: str) -> None:
        if self.hook is not None:
            self.hook(self.charge_point_id, "out", frame)
        try:
            await self.websocket.send_text(frame)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            self.closed.set()
            raise ConnectionClosed(str(exc)) from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.websocket.close(code=code, reason=reason)


class LiveConnections:
    """The chargers whose sockets this process holds. A second connection of the same
    identity replaces the first: the old socket is closed.

    The connected-chargers gauge counts identities, not sockets: +1 when an id appears,
    -1 when its current connection is released; a replacement changes neither (the old
    socket's release finds the newer one in place and is not counted)."""

    def __init__(self) -> None:
        self._by_id: dict[str, StarletteConnection] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def all(self) -> list[StarletteConnection]:
        return list(self._by_id.values())

    def get(self, charge_point_id: str) -> StarletteConnection | None:
        return self._by_id.get(charge_point_id)

    async def replace(self, connection: StarletteConnection) -> None:
        old = self._by_id.get(connection.charge_point_id)
        self._by_id[connection.charge_point_id] = connection
        if old is None:
            metrics.charger_connected(1)
        if old is not None and old is not connection:
            await old.close(code=1000, reason="replaced by a new connection")

    def release(self, connection: StarletteConnection) -> bool:
        """Forget the connection; False when a newer one already holds the id."""
        if self._by_id.get(connection.charge_point_id) is connection:
            del self._by_id[connection.charge_point_id]
            metrics.charger_connected(-1)
            return True
        return False
