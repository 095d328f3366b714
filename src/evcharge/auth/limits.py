"""Request-body limits as pure ASGI middleware: size (413) and arrival time (408),
enforced while the body streams in, never after buffering it."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evcharge.compat.errors import render
from evcharge.errors import DomainError, PayloadTooLarge, RequestTimeout


class BodyLimits:
    """Refuse a declared Content-Length over `max_bytes` at once; count the bytes of a
    body as they arrive and stop reading the moment the limit is passed; give the
    whole body `timeout_seconds` to arrive (a slow client cannot hold a worker).

    The error is raised into the handler's `receive()` so it stops reading, and
    whatever the handler then answers is replaced by the error in the family's shape."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._respond(scope, receive, send, self._too_large())
            return

        deadline = asyncio.get_running_loop().time() + self.timeout_seconds
        received = 0
        body_done = False
        failure: DomainError | None = None
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done, failure
            if failure is not None:
                raise failure
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                failure = RequestTimeout(
                    f"The request body did not arrive within {self.timeout_seconds:g} seconds."
                )
                raise failure from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    failure = self._too_large()
                    raise failure
                body_done = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if failure is not None:
                if not started:
                    started = True
                    await self._respond(scope, receive, send, failure)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if failure is None:
                raise
            if not started:
                started = True
                await self._respond(scope, receive, send, failure)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes.")

    @staticmethod
    async def _respond(scope: Scope, receive: Receive, send: Send, error: DomainError) -> None:
        # The rest of the body is not read: the connection is closed after the answer.
        error.headers.setdefault("Connection", "close")
        await render(Request(scope), error)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
