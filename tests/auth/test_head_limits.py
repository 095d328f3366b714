"""The request line and headers are bounded (EVCHARGE_MAX_HEADER_BYTES, 16 KiB): a larger
head is answered 431 at once, in the family's shape, and the server's memory stays flat.
Against a real `evcharge serve` process on each database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.live_server import free_port

LIMIT = 16 * 1024


@dataclass(frozen=True)
class Server:
    port: int
    pid: int

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[Server]:
    """`evcharge serve` on the test database, waited for without blocking the event
    loop (on SQLite the in-process app's background work may hold the write lock the
    server's start-up check needs, and must be able to finish)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVCHARGE_")}
    env.update(
        EVCHARGE_DATABASE_URL=database_url,
        EVCHARGE_PORT=str(port),
        EVCHARGE_ADMIN_KEY=ADMIN_KEY,
        EVCHARGE_LOG_LEVEL="warning",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "evcharge", "serve",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=1) as probe:
            while True:
                try:
                    await probe.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.TransportError:
                    assert process.returncode is None, "server exited"
                    assert time.monotonic() < deadline, "server did not start"
                    await asyncio.sleep(0.1)
        yield Server(port, process.pid)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


def exchange(port: int, head: bytes, *, stream: int = 0) -> tuple[bytes, float]:
    """Send `head` (then `stream` more bytes of the same header, 64 KiB at a time, until
    the server stops reading); return what came back and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(head)
            chunk = b"a" * 65536
            for _ in range(stream // len(chunk)):
                sock.sendall(chunk)
        answer = b""
        with contextlib.suppress(OSError):
            while part := sock.recv(65536):
                answer += part
    return answer, time.monotonic() - started


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_head_over_the_limit_is_431_in_each_familys_shape(server: Server) -> None:
    big = b"X-Big: " + b"a" * LIMIT + b"\r\n"
    answer, _ = exchange(server.port, b"GET /api/customers HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    status, body = status_and_body(answer)
    assert status == 431
    assert "16384 bytes" in str(body["Message"])
    answer, _ = exchange(
        server.port, b"GET /api/ChargeOrder/GetOrders HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n"
    )
    status, body = status_and_body(answer)
    assert status == 431
    assert body["status"] == 0
    assert "16384 bytes" in str(body["message"])


def test_a_request_line_over_the_limit_is_431(server: Server) -> None:
    path = b"/api/customers?x=" + b"a" * LIMIT
    answer, _ = exchange(server.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_and_body(answer)[0] == 431


def test_a_head_within_the_limit_is_served(server: Server) -> None:
    filler = b"X-Fill: " + b"a" * (LIMIT - 1024) + b"\r\n"
    head = (
        b"GET /api/customers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + f"X-Api-Key: {ADMIN_KEY}\r\n".encode()
        + filler
        + b"\r\n"
    )
    answer, _ = exchange(server.port, head)
    assert status_and_body(answer)[0] == 200


def test_huge_headers_are_refused_at_once_and_memory_stays_flat(server: Server) -> None:
    start = b"GET /api/customers HTTP/1.1\r\nHost: x\r\nX-Big: "
    exchange(server.port, start, stream=1 << 20)  # warm up whatever a first refusal allocates
    before = server.rss_kib()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: exchange(server.port, start, stream=64 << 20), range(4)))
    grown_kib = server.rss_kib() - before
    for answer, seconds in results:
        assert seconds < 5
        # The 431 is written before the server closes; a client still sending may see the
        # connection reset instead of reading it — but never anything else.
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")
    assert grown_kib < 4 * 1024, f"server grew by {grown_kib} KiB"
    healthy = httpx.get(
        f"http://127.0.0.1:{server.port}/api/customers", headers={"X-Api-Key": ADMIN_KEY}
    )
    assert healthy.status_code == 200
