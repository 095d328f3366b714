"""A slow client cannot hold a connection: headers and body each have a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn

from evcharge.auth.slow_clients import HeaderTimeoutProtocol


class QuickHeaderTimeout(HeaderTimeoutProtocol):
    header_timeout = 0.3


async def hello(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    if scope["type"] != "http":
        return
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    await send(start)  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


@pytest.fixture
async def server() -> AsyncIterator[int]:
    """uvicorn with the protocol, on a socket that listens before the server starts
    (connections wait in the backlog: no polling for readiness)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    config = uvicorn.Config(
        hello, http=QuickHeaderTimeout, log_level="error", lifespan="off", timeout_keep_alive=5
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve(sockets=[listener]))
    yield listener.getsockname()[1]
    instance.should_exit = True
    await task
    listener.close()


async def read_all(reader: asyncio.StreamReader) -> bytes:
    with contextlib.suppress(ConnectionError):
        return await asyncio.wait_for(reader.read(), timeout=5)
    return b""


async def test_a_client_that_never_finishes_its_headers_is_disconnected(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    started = time.monotonic()
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    await writer.drain()
    assert await read_all(reader) == b""  # closed without an answer
    assert time.monotonic() - started < 3
    writer.close()
    await writer.wait_closed()


async def test_a_second_request_that_never_finishes_its_headers_is_disconnected(
    server: int,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\nok"), timeout=5)
    started = time.monotonic()
    writer.write(b"GET / HTTP/1.1\r\nHo")
    await writer.drain()
    assert await read_all(reader) == b""
    assert time.monotonic() - started < 3
    writer.close()
    await writer.wait_closed()


async def test_a_prompt_client_is_answered_and_may_send_another_request(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    for _ in range(2):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\nok"), timeout=5)
        assert response.startswith(b"HTTP/1.1 200")
        await asyncio.sleep(0.5)  # idle longer than the header timeout: keep-alive governs
    writer.close()
    await writer.wait_closed()
