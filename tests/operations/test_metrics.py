"""/metrics: what is counted, who may scrape, and sums over several worker processes."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import SecretStr

from evcharge import metrics
from evcharge.app import create_app
from evcharge.config import Settings
from tests.commandline import EVCHARGE, environment, run
from tests.conftest import ADMIN_HEADERS, ADMIN_KEY
from tests.factories import register_device
from tests.live_server import free_port

METRICS_KEY = "metrics-key-0123456789abcdef"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if line.startswith(name + "{") and found != labels:
            continue
        return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    route = "/api/customers/{customerId}"
    before = sample("evcharge_http_requests_total", method="GET", route=route, status="404")
    timed = sample("evcharge_http_request_duration_seconds_count", method="GET", route=route)
    for number in (7, 8, 9):
        assert (await client.get(f"/api/customers/{number}")).status_code == 404
    after = sample("evcharge_http_requests_total", method="GET", route=route, status="404")
    assert after - before == 3
    assert sample("evcharge_http_request_duration_seconds_count", method="GET", route=route) == (
        timed + 3
    )


async def test_unknown_paths_share_one_label(client: httpx.AsyncClient) -> None:
    before = sample("evcharge_http_requests_total", method="GET", route="unrouted", status="401")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=client._transport.app),  # type: ignore[attr-defined]
        base_url="http://test",
    ) as anonymous:
        for path in ("/nowhere/1", "/nowhere/2"):
            assert (await anonymous.get(path)).status_code == 401
    after = sample("evcharge_http_requests_total", method="GET", route="unrouted", status="401")
    assert after - before == 2


async def test_orders_created_repeated_and_refused_are_counted(
    client: httpx.AsyncClient,
) -> None:
    device = await register_device(client)
    customer = (await client.get("/api/customers/1")).json()["Id"]
    order = {
        "Id": "metrics-order-1",
        "ChargingDeviceId": device["Id"],
        "CustomerId": customer,
        "StartTime": "2026-01-05 10:00:00",
        "EndTime": "2026-01-05 11:00:00",
        "ElectricQuantity": 5,
        "DiscountPrice": 0,
    }
    created = sample("evcharge_orders_created_total", outcome="created")
    repeated = sample("evcharge_orders_created_total", outcome="repeated")
    invalid = sample("evcharge_orders_refused_total", reason="invalid")
    overlap = sample("evcharge_orders_refused_total", reason="overlap")
    path = "/api/ChargeOrder/CreateOrder"
    assert (await client.post(path, json=order)).status_code == 200
    assert (await client.post(path, json=order)).status_code == 200
    assert (await client.post(path, json={**order, "Id": "metrics-order-2"})).status_code == 409
    assert (await client.post(path, json={**order, "ElectricQuantity": -1})).status_code == 400
    assert sample("evcharge_orders_created_total", outcome="created") == created + 1
    assert sample("evcharge_orders_created_total", outcome="repeated") == repeated + 1
    assert sample("evcharge_orders_refused_total", reason="overlap") == overlap + 1
    assert sample("evcharge_orders_refused_total", reason="invalid") == invalid + 1


async def test_database_pool_use_returns_to_where_it_was(client: httpx.AsyncClient) -> None:
    """The request's connection goes back to the pool. Background work of the process (the
    message log's flush, settlement) checks connections out too, at any moment: the gauge
    must come back to at most where it was, not be equal at one instant."""
    before = sample("evcharge_db_pool_connections_in_use")
    assert (await client.get("/api/customers")).status_code == 200
    deadline = asyncio.get_running_loop().time() + 5
    while sample("evcharge_db_pool_connections_in_use") > before:
        assert asyncio.get_running_loop().time() < deadline, "a connection was not returned"
        await asyncio.sleep(0.02)


@pytest.fixture
async def keyed_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"metrics_key": SecretStr(METRICS_KEY)}))
    yield app
    await app.state.engine.dispose()


def from_host(app: FastAPI, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_metrics_are_open_on_loopback_and_need_the_metrics_key_elsewhere(
    app: FastAPI, keyed_app: FastAPI
) -> None:
    async with from_host(app, "127.0.0.1") as local:
        response = await local.get("/metrics")
        assert response.status_code == 200
        assert "evcharge_http_requests_total" in response.text
    async with from_host(app, "203.0.113.7") as remote:
        refused = await remote.get("/metrics", headers=ADMIN_HEADERS)
        assert refused.status_code == 403  # no metrics key set: loopback only
        assert "EVCHARGE_METRICS_KEY" in refused.text
    async with from_host(keyed_app, "203.0.113.7") as remote:
        assert (await remote.get("/metrics")).status_code == 401
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
        right = await remote.get("/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"})
        assert right.status_code == 200
        assert "evcharge_orders_created_total" in right.text


async def test_loopback_can_be_closed_too(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(
            update={"metrics_key": SecretStr(METRICS_KEY), "metrics_open_on_loopback": False}
        )
    )
    try:
        async with from_host(app, "127.0.0.1") as local:
            assert (await local.get("/metrics")).status_code == 401
    finally:
        await app.state.engine.dispose()


def test_dead_workers_live_gauges_are_forgotten_and_their_counters_kept(tmp_path: Path) -> None:
    gone = _exited_pid()
    (tmp_path / f"gauge_livesum_{gone}.db").write_bytes(b"")
    (tmp_path / f"counter_{gone}.db").write_bytes(b"")
    (tmp_path / f"gauge_livesum_{os.getpid()}.db").write_bytes(b"")
    assert metrics.forget_dead_processes(str(tmp_path)) == [gone]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{gone}.db", f"gauge_livesum_{os.getpid()}.db"]
    )


def _exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # a loaded machine starts workers slowly
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("server did not start (its output follows the test)")
        time.sleep(0.1)


@pytest.mark.slow
def test_two_workers_scrape_the_sum_of_both(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    stale = directory / "counter_999999.db"  # a previous start's file: must not be summed
    stale.write_bytes(b"\0" * 16)
    port = free_port()
    env = environment(
        tmp_path,
        EVCHARGE_PORT=str(port),
        EVCHARGE_ADMIN_KEY=ADMIN_KEY,
        EVCHARGE_WORKERS="2",
        EVCHARGE_LOG_LEVEL="warning",
        PROMETHEUS_MULTIPROC_DIR=str(directory),
    )
    assert run("db", "upgrade", env=env).returncode == 0
    server = subprocess.Popen(
        [*EVCHARGE, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )  # stderr is read after it stopped: the workers hold the pipe until then
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(port, server)
        assert not stale.exists()
        gets, bad_orders = 60, 7
        for _ in range(gets):  # a new connection each: the workers share them out
            response = httpx.get(f"{base}/api/customers", headers=ADMIN_HEADERS)
            assert response.status_code == 200
        for _ in range(bad_orders):
            response = httpx.post(
                f"{base}/api/chargeorder/createorder", json={}, headers=ADMIN_HEADERS
            )
            assert response.status_code == 400
        writers = {p.name.rsplit("_", 1)[1] for p in directory.glob("counter_*.db")}
        assert len(writers) == 2, writers  # both workers served and wrote their counters
        for _ in range(6):  # whichever worker answers the scrape, it sums both
            text = httpx.get(f"{base}/metrics").text
            assert scraped(
                text,
                "evcharge_http_requests_total",
                method="GET",
                route="/api/customers",
                status="200",
            ) == float(gets)
            assert scraped(text, "evcharge_orders_refused_total", reason="invalid") == float(
                bad_orders
            )
            assert scraped(
                text,
                "evcharge_http_request_duration_seconds_count",
                method="POST",
                route="/api/ChargeOrder/CreateOrder",
            ) == float(bad_orders)
    finally:
        server.terminate()  # uvicorn's parent stops its workers, then exits
        _, err = server.communicate(timeout=60)
        print(err.decode()[-3000:])


def test_hooks_for_ocpp_and_the_scheduler_feed_their_metrics() -> None:
    messages = sample("evcharge_ocpp_messages_total", action="Heartbeat", direction="in")
    connected = sample("evcharge_chargers_connected")
    runs = sample("evcharge_scheduler_runs_total", job="replan", outcome="failed")
    metrics.ocpp_message("Heartbeat", "in", 0.003)
    metrics.charger_connected(+1)
    metrics.charger_connected(+1)
    metrics.charger_connected(-1)
    metrics.scheduler_run("replan", 0.2, ok=False)
    metrics.scheduler_leadership(True)
    assert (
        sample("evcharge_ocpp_messages_total", action="Heartbeat", direction="in") == messages + 1
    )
    assert sample("evcharge_chargers_connected") == connected + 1
    assert sample("evcharge_scheduler_runs_total", job="replan", outcome="failed") == runs + 1
    assert sample("evcharge_scheduler_leader") == 1
    metrics.charger_connected(-1)
    metrics.scheduler_leadership(False)
