"""Limits, each answered in the family's own shape: body size, JSON depth, page size,
per-key rate, slow bodies; and server-owned fields a client cannot set."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from evcharge.auth.limits import BodyLimits
from evcharge.config import Settings
from tests.conftest import ClientFor
from tests.factories import create_key, device_path, rate_limited, register_device

MIB = 1024 * 1024


async def test_a_declared_body_over_1_mib_is_413_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(4):
            sent += 1
            yield b" " * (MIB // 2)

    response = await client.put(
        "/api/customers/1",
        content=body(),
        headers={"Content-Type": "application/json", "Content-Length": str(2 * MIB)},
    )
    assert response.status_code == 413
    assert response.json() == {"Message": f"The request body is larger than {MIB} bytes."}
    assert sent <= 1  # nothing past what the transport had already taken


async def test_a_streamed_body_is_cut_off_as_soon_as_it_passes_1_mib(
    client: httpx.AsyncClient,
) -> None:
    chunks_sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for _ in range(64):  # 8 MiB if it were all read
            chunks_sent += 1
            yield b" " * (128 * 1024)

    response = await client.put(
        "/api/customers/1", content=body(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert set(response.json()) == {"Message"}
    assert chunks_sent <= 10  # 1 MiB is 8 chunks; the rest was never pulled
    assert (await client.get("/api/customers/1")).status_code == 404


async def test_a_body_just_under_the_limit_is_read(client: httpx.AsyncClient) -> None:
    name = "x" * 100
    padding = " " * (MIB - 200)
    body = f'{{"Name": "{name}"{padding}}}'.encode()
    assert len(body) < MIB
    response = await client.put(
        "/api/customers/1", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_json_nested_deeper_than_32_levels_is_400_at_once(client: httpx.AsyncClient) -> None:
    await register_device(client)
    deep = '{"Name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = await client.put(
        "/api/customers/1", content=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["ModelState"] == {"request": ["JSON nested deeper than 32 levels."]}
    nested_32 = '{"Name": "ok", "X": ' + "[" * 31 + "]" * 31 + "}"
    ok = await client.put(
        "/api/customers/1", content=nested_32, headers={"Content-Type": "application/json"}
    )
    assert ok.status_code == 200, ok.text


async def test_page_size_is_capped(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.get("/api/customers", params={"pageSize": 1_000_000})
    assert response.status_code == 200
    assert response.json()["PageSize"] == settings.max_page_size


async def test_a_key_over_its_rate_gets_429_with_retry_after_until_the_bucket_refills(
    app: FastAPI, client_for: ClientFor
) -> None:
    _a, key_a = await create_key(app, customer=1)
    _b, key_b = await create_key(app, customer=2)
    a, b = client_for(key_a), client_for(key_b)
    clock = [1_000_000.0]
    with rate_limited(app, rate=0.5, burst=3, clock=clock):
        for _ in range(3):
            assert (await a.get("/api/customers")).status_code == 200
        refused = await a.get("/api/customers")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "2"  # one token at 0.5/s
        assert set(refused.json()) == {"Message"}
        # Refused requests do not dig the hole deeper.
        assert (await a.get("/api/customers")).status_code == 429
        # Another key has its own bucket.
        assert (await b.get("/api/customers")).status_code == 200
        clock[0] += 1.0
        half = await a.get("/api/customers")
        assert half.status_code == 429
        assert half.headers["Retry-After"] == "1"
        clock[0] += 1.0
        assert (await a.get("/api/customers")).status_code == 200
        assert (await a.get("/api/customers")).status_code == 429
        clock[0] += 3600
        for _ in range(3):  # refilled to the burst, not beyond
            assert (await a.get("/api/customers")).status_code == 200
        assert (await a.get("/api/customers")).status_code == 429


async def test_a_body_that_does_not_arrive_in_time_is_408_in_the_family_shape() -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # a handler reading its body
        raise AssertionError("the body never arrived")

    limits = BodyLimits(inner, max_bytes=MIB, timeout_seconds=0.05)
    sent: list[dict[str, Any]] = []

    async def slow_receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/api/customers/1",
        "raw_path": b"/api/customers/1",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "server": ("test", 80),
        "scheme": "http",
    }
    await asyncio.wait_for(limits(scope, slow_receive, send), timeout=5)
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"]) == {
        "Message": "The request body did not arrive within 0.05 seconds."
    }


async def test_server_owned_fields_cannot_be_set_by_a_client(client: httpx.AsyncClient) -> None:
    created = await client.put(
        "/api/customers/1", json={"Name": "A", "Created": "2000-01-01T00:00:00Z"}
    )
    assert created.status_code == 201
    body = created.json()
    assert not body["Created"].startswith("2000")
    changed_id = await client.put(
        "/api/customers/1", json={"Name": "A", "Id": "00000000-0000-0000-0000-000000000001"}
    )
    assert changed_id.status_code == 409  # conflicts with the stored Id
    assert "request.Id" in changed_id.json()["ModelState"]
    await register_device(client)
    info = await client.post(
        device_path(),
        json={"Id": "00000000-0000-0000-0000-000000000002", "Created": "2000-01-01T00:00:00Z"},
    )
    assert info.status_code == 201
    assert info.json()["Id"] != "00000000-0000-0000-0000-000000000002"
    assert not info.json()["Created"].startswith("2000")


async def test_a_nul_character_in_a_json_string_is_400_on_both_databases(
    client: httpx.AsyncClient,
) -> None:
    """Found by schemathesis: PostgreSQL text cannot hold U+0000 (was a 500)."""
    response = await client.put("/api/customers/1", json={"Name": "a\u0000b"})
    assert response.status_code == 400
    assert "NUL" in response.json()["ModelState"]["request.Name"][0]
    assert (await client.get("/api/customers/1")).status_code == 404
    # Unknown properties are ignored whatever they hold, as Json.NET ignores them.
    ignored = await client.put("/api/customers/1", json={"Name": "a", "x\u0000": ["\u0000"]})
    assert ignored.status_code == 201, ignored.text


async def test_the_bucket_is_shared_by_every_process_over_the_same_database(
    app: FastAPI, settings: Settings, client_for: ClientFor
) -> None:
    """Two app instances (as two workers or hosts) draw from one bucket per key, and
    a revocation through either is seen by both."""
    from evcharge.app import create_app
    from tests.factories import revoke_key

    second = create_app(settings)
    try:
        key_id, key = await create_key(app, customer=1)
        clock = [2_000_000.0]
        headers = {"X-Api-Key": key}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=second), base_url="http://test", headers=headers
        ) as other:
            first = client_for(key)
            with (
                rate_limited(app, rate=0.1, burst=3, clock=clock),
                rate_limited(second, rate=0.1, burst=3, clock=clock),
            ):
                assert (await first.get("/api/customers")).status_code == 200
                assert (await other.get("/api/customers")).status_code == 200
                assert (await first.get("/api/customers")).status_code == 200
                assert (await other.get("/api/customers")).status_code == 429
                assert (await first.get("/api/customers")).status_code == 429
                clock[0] += 3600
                assert (await other.get("/api/customers")).status_code == 200
                await revoke_key(app, key_id)
                assert (await other.get("/api/customers")).status_code == 401
                assert (await first.get("/api/customers")).status_code == 401
    finally:
        await second.state.authenticator.close()
        await second.state.engine.dispose()


async def test_deep_json_is_refused_without_memory_growing_with_the_depth(
    client: httpx.AsyncClient,
) -> None:
    import tracemalloc

    deep = "[" * 500_000 + "]" * 500_000  # 1 MB minus a little: within the size limit
    tracemalloc.start()
    try:
        response = await client.put(
            "/api/customers/1", content=deep, headers={"Content-Type": "application/json"}
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 400
    assert peak < 8 * len(deep)  # a few copies of the text, never a parsed tree
