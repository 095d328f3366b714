"""OCPP 1.6J: N connected simulated chargers on ONE server process.

    .venv/bin/python -m bench.ocpp [--chargers 1000 5000 10000] [--seconds 60]

For each N: a fresh PostgreSQL database (EVCHARGE_BENCH_POSTGRES_URL's server), N
registered chargers with their own salted password hashes, then one `evcharge` server
process (uvicorn, the app factory) and, in this process, N simulated chargers built on
the `ocpp` library's client side. Measured per N:

* time to connect (and boot) all N;
* MeterValues round trip p50/p99 at the realistic rate (every charger every 30 s);
* the highest rate the process sustains (closed loop), with p50/p99 and the server's
  CPU per message, next to a bare WebSocket echo of OCPP (bench/ocpp/baseline.py) on the
  same machine in the same run: the ratio says what validation and storage cost;
* server memory per connection (RSS after connecting all, minus before, over N);
* a reconnect storm: every charger drops and reconnects within 10 s, re-sends its
  StartTransaction (same id back) and sends its StopTransaction; every stop must be
  answered, and every session must have become an order (how long after the storm the
  last one did is reported: stops are answered before their orders are made).

The simulator shares the machine's cores with the server: its CPU is part of what
limits the figures (it is reported)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import resource
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import ocpp.messages

from bench.cpu import cpu_seconds, own_cpu, rss_kb
from evcharge.migrations import upgrade
from evcharge.ocpp import passwords
from evcharge.ocpp.simulator.charger import Charger

ocpp.messages.ASYNC_VALIDATION = False
logging.getLogger("ocpp").setLevel(logging.ERROR)  # CALLERRORs are counted, not printed

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "bench" / "results"
PASSWORD = "bench-charger-password-0001"  # noqa: S105  (the bench's own chargers)
TAG = "BENCHTAG"
STORM_PATIENCE = 900.0
"""Seconds a charger keeps retrying its stop in the storm (a real one never stops: a
transaction message is retried until answered) before the bench calls it unanswered."""
STORM_MARK = 300.0
"""The storm's figure of merit: stops answered within this many seconds of the drop."""
SCRYPT_N = 2**10
"""Hash cost of the bench's passwords: the production default (2^14) would spend the run
hashing 10,000 passwords at set-up; its per-connection cost is measured separately."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def create_database(server: str) -> str:
    name = f"evcharge_bench_ocpp_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server.replace("postgresql://", "postgres://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.rsplit("/", 1)[0] + "/" + name


async def drop_database(url: str) -> None:
    server, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(server + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def register(url: str, n: int) -> list[str]:
    """One customer with one id tag; N devices (gateways of 10) with their own hashes."""
    connection = await asyncpg.connect(url)
    now = datetime.now(UTC)
    customer, contract = uuid.uuid4(), uuid.uuid4()
    try:
        await connection.execute(
            "INSERT INTO customers (id, number, name, created, updated) VALUES ($1,1,'c',$2,$2)",
            customer,
            now,
        )
        await connection.execute(
            "INSERT INTO contracts (id, customer_id, number, name, created, updated)"
            " VALUES ($1,$2,1,'c',$3,$3)",
            contract,
            customer,
            now,
        )
        await connection.execute(
            "INSERT INTO ocpp_id_tags (id_tag, customer_id, status, created, updated)"
            " VALUES ($1,$2,'Accepted',$3,$3)",
            TAG,
            customer,
            now,
        )
        gateways = [(uuid.uuid4(), contract, g + 1, f"g{g}", now) for g in range((n + 9) // 10)]
        await connection.executemany(
            "INSERT INTO gateways (id, contract_id, number, name, created, updated)"
            " VALUES ($1,$2,$3,$4,$5,$5)",
            gateways,
        )
        ids = [f"BENCH-{i}" for i in range(n)]
        devices = [
            (uuid.uuid4(), gateways[i // 10][0], i % 10 + 1, f"d{i}", ids[i], now) for i in range(n)
        ]
        await connection.executemany(
            "INSERT INTO charging_devices (id, gateway_id, number, name, max_power_kw,"
            " charge_point_id, created, updated) VALUES ($1,$2,$3,$4,22,$5,$6,$6)",
            devices,
        )
        hashes = [passwords.hash_password(PASSWORD, n=SCRYPT_N) for _ in range(n)]
        await connection.executemany(
            "INSERT INTO ocpp_credentials (device_id, password_hash, enabled, updated)"
            " VALUES ($1,$2,true,$3)",
            [(devices[i][0], hashes[i], now) for i in range(n)],
        )
    finally:
        await connection.close()
    return ids


def start_server(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", app, "--port", str(port), "--host", "127.0.0.1",
        "--log-level", "warning", "--no-access-log", "--ws-per-message-deflate", "false",
        "--ws-ping-interval", "30", "--ws-ping-timeout", "30", "--backlog", "4096",
        "--timeout-graceful-shutdown", "2",
    ]  # fmt: skip
    if app.startswith("evcharge"):
        command.append("--factory")
    handle = log.open("ab")
    return subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=handle, stderr=handle
    )


async def wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _r, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass
class Result:
    n: int
    connect_seconds: float = 0.0
    connected: int = 0
    realistic: list[float] = field(default_factory=list)
    realistic_rate: float = 0.0
    max_rate: float = 0.0
    max_latencies: list[float] = field(default_factory=list)
    cpu_ms_per_message: float = 0.0
    kb_per_connection: float = 0.0
    baseline_rate: float = 0.0
    storm_seconds: float = 0.0
    stops_answered: int = 0
    storm_answers: list[float] = field(default_factory=list)
    """Seconds after the drop at which each answered stop was answered, in order."""
    sessions: int = 0
    orders: int = 0
    settle_seconds: float = 0.0
    sim_cpu_share: float = 0.0
    errors: list[str] = field(default_factory=list)


async def gather_limited(coroutines: list[Any], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(coroutine: Any) -> Any:
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines), return_exceptions=True)


async def connect_all(chargers: list[Charger], result: Result) -> None:
    async def up(charger: Charger) -> None:
        for attempt in range(1, 8):  # as a real charger: retry with back-off
            try:
                await charger.connect()
                await charger.boot()
                return
            except Exception:
                await charger.drop()
                if attempt == 7:
                    raise
                await asyncio.sleep(min(30, 2**attempt) * random.uniform(0.5, 1))

    started = time.perf_counter()
    outcomes = await gather_limited([up(c) for c in chargers], 100)
    result.connect_seconds = time.perf_counter() - started
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    result.connected = len(chargers) - len(failures)
    result.errors += [f"connect: {type(f).__name__}: {f}" for f in failures[:5]]


async def persist(charger: Charger, message: Any) -> Any:
    """Send until answered, as a charger does with a transaction message."""
    for attempt in range(1, 10):
        try:
            return await charger.send(message)
        except Exception:
            if attempt == 9:
                raise
            await asyncio.sleep(min(30, 2**attempt) * random.uniform(0.5, 1))
    return None


async def realistic(chargers: list[Charger], tx: dict[str, int], seconds: float) -> list[float]:
    """Every charger sends MeterValues every 30 s, phases spread evenly."""
    latencies: list[float] = []
    failures: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop(charger: Charger, offset: float) -> None:
        await asyncio.sleep(offset)
        while time.perf_counter() < deadline:
            charger.advance(timedelta(seconds=30), power_w=11000)
            started = time.perf_counter()
            try:
                _r, took = await charger.timed(charger.meter_value(1, tx[charger.id]))
                latencies.append(took)
            except Exception:
                failures.append(time.perf_counter() - started)
            await asyncio.sleep(max(0.0, 30 - (time.perf_counter() - started)))

    await asyncio.gather(*(loop(c, 30 * i / len(chargers)) for i, c in enumerate(chargers)))
    if failures:
        print(f"  ({len(failures)} MeterValues answered with a CALLERROR at the realistic rate)")
    return latencies


async def closed_loop(
    chargers: list[Charger], seconds: float, make: Any
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    errors: list[int] = []
    deadline = time.perf_counter() + seconds

    async def loop(charger: Charger) -> None:
        while time.perf_counter() < deadline:
            try:
                _r, took = await charger.timed(make(charger))
            except Exception:
                errors.append(1)
                continue
            latencies.append(took)

    await asyncio.gather(*(loop(c) for c in chargers))
    return len(latencies), latencies


async def storm(chargers: list[Charger], starts: dict[str, Any], tx: dict[str, int]) -> list[float]:
    """All drop; each reconnects at a random moment within 10 s, re-sends its start
    (its answer "was lost"), then stops. Returns when each stop was answered (seconds
    after the drop), for the stops that were."""
    dropped = time.perf_counter()
    for charger in chargers:
        await charger.drop()

    async def back(charger: Charger) -> float | None:
        await asyncio.sleep(random.uniform(0, 10))
        deadline = time.monotonic() + STORM_PATIENCE
        attempt = 0
        while time.monotonic() < deadline:  # a real charger retries until it is answered
            attempt += 1
            try:
                await charger.connect()
                await charger.boot()
                again = await charger.send(starts[charger.id])
                if int(again.transaction_id) != tx[charger.id]:
                    raise RuntimeError("re-sent start got another transaction")
                charger.advance(timedelta(minutes=5), power_w=11000)
                await charger.send(charger.stop(tx[charger.id], TAG))
                return time.perf_counter() - dropped
            except Exception:
                await charger.drop()
                await asyncio.sleep(min(30, 2**attempt) * random.uniform(0.5, 1))
        return None

    answered = await asyncio.gather(*(back(c) for c in chargers))
    return sorted(t for t in answered if t is not None)


async def count_settled(url: str) -> tuple[int, int]:
    """(orders made from sessions, stopped sessions settled: an order or the reason why not)."""
    connection = await asyncpg.connect(url)
    try:
        orders = await connection.fetchval("SELECT count(*) FROM charge_orders WHERE source='ocpp'")
        settled = await connection.fetchval(
            "SELECT count(*) FROM ocpp_transactions WHERE state='stopped'"
            " AND (order_id IS NOT NULL OR order_error IS NOT NULL)"
        )
    finally:
        await connection.close()
    return int(orders), int(settled)


async def await_settlement(url: str, stops: int, result: Result) -> None:
    """Wait while settlement makes progress (the stops were answered before their orders)
    until every answered stop is settled."""
    started = time.perf_counter()
    last, quiet_since = -1, time.perf_counter()
    while time.perf_counter() - quiet_since < 60:
        result.orders, settled = await count_settled(url)
        if settled >= stops:
            break
        if settled != last:
            last, quiet_since = settled, time.perf_counter()
        await asyncio.sleep(1)
    result.settle_seconds = time.perf_counter() - started


async def baseline_rate(n: int, seconds: float, log: Path) -> float:
    port = free_port()
    server = start_server("bench.ocpp.baseline:app", port, {}, log)
    chargers = [Charger(f"ws://127.0.0.1:{port}/ocpp", f"B-{i}", None) for i in range(n)]
    try:
        await wait_port(port)
        await gather_limited([c.connect() for c in chargers], 200)
        live = [c for c in chargers if c.cp is not None]
        count, _ = await closed_loop(live, seconds, lambda c: c.meter_value(1, 1))
        return count / seconds
    finally:
        for charger in chargers:
            await charger.drop()
        server.terminate()
        server.wait(10)


async def bench_n(server_url: str, n: int, seconds: float, log: Path) -> Result:
    result = Result(n)
    url = await create_database(server_url)
    server: subprocess.Popen[bytes] | None = None
    chargers: list[Charger] = []
    try:
        await asyncio.to_thread(upgrade, url)
        ids = await register(url, n)
        port = free_port()
        env = {
            "EVCHARGE_DATABASE_URL": url,
            "EVCHARGE_ADMIN_KEY": "bench-admin-key-" + uuid.uuid4().hex,
            "EVCHARGE_LOG_LEVEL": "warning",
            "EVCHARGE_DB_POOL_SIZE": "20",
        }
        server = start_server("evcharge.app:create_app", port, env, log)
        await wait_port(port)
        await asyncio.sleep(1)
        before = rss_kb(server.pid)
        base = f"ws://127.0.0.1:{port}/ocpp"
        chargers = [Charger(base, cpid, PASSWORD, timeout=60) for cpid in ids]
        await connect_all(chargers, result)
        await asyncio.sleep(2)
        result.kb_per_connection = (rss_kb(server.pid) - before) / max(1, result.connected)
        live = [c for c in chargers if c.cp is not None]
        starts = {c.id: c.start(1, TAG) for c in live}
        answers = await gather_limited([persist(c, starts[c.id]) for c in live], 100)
        tx = {c.id: int(a.transaction_id) for c, a in zip(live, answers, strict=True)
              if not isinstance(a, BaseException)}  # fmt: skip
        live = [c for c in live if c.id in tx]
        result.sessions = len(live)
        sim_before, server_before = own_cpu(), cpu_seconds(server.pid)
        result.realistic = await realistic(live, tx, seconds)
        result.realistic_rate = len(result.realistic) / seconds
        window = min(len(live), 50)
        server_cpu = cpu_seconds(server.pid)
        count, result.max_latencies = await closed_loop(
            live[:window], seconds / 2, lambda c: c.meter_value(1, tx[c.id])
        )
        result.max_rate = count / (seconds / 2)
        result.cpu_ms_per_message = (cpu_seconds(server.pid) - server_cpu) * 1000 / max(1, count)
        result.sim_cpu_share = (own_cpu() - sim_before) / max(
            1e-9, (own_cpu() - sim_before) + cpu_seconds(server.pid) - server_before
        )
        storm_started = time.perf_counter()
        result.storm_answers = await storm(live, starts, tx)
        result.stops_answered = len(result.storm_answers)
        result.storm_seconds = time.perf_counter() - storm_started
        await await_settlement(url, result.stops_answered, result)
        result.baseline_rate = await baseline_rate(window, seconds / 2, log)
    finally:
        for charger in chargers:
            with contextlib.suppress(Exception):
                await charger.drop()
        if server is not None:
            server.terminate()
            server.wait(30)
        await drop_database(url)
    return result


def scrypt_default_ms() -> float:
    stored = passwords.hash_password(PASSWORD)
    started = time.perf_counter()
    for _ in range(5):
        passwords.verify(PASSWORD, stored)
    return (time.perf_counter() - started) / 5 * 1000


def report(result: Result) -> str:
    lines = [
        f"N = {result.n}: connected {result.connected} in {result.connect_seconds:.1f} s",
        f"  MeterValues every 30 s ({result.realistic_rate:.0f}/s): "
        f"p50 {pct(result.realistic, 0.5):.1f} ms, p99 {pct(result.realistic, 0.99):.1f} ms",
        f"  highest sustained rate: {result.max_rate:.0f} msg/s (p50 "
        f"{pct(result.max_latencies, 0.5):.1f} ms, p99 {pct(result.max_latencies, 0.99):.1f} ms); "
        f"bare WebSocket baseline {result.baseline_rate:.0f} msg/s "
        f"(ratio {result.max_rate / max(1, result.baseline_rate):.2f})",
        f"  server CPU per message: {result.cpu_ms_per_message:.2f} ms "
        f"(= {1000 / max(1e-9, result.cpu_ms_per_message):.0f} validated msg/s per core)",
        f"  server memory per connection: {result.kb_per_connection:.1f} KB",
        f"  reconnect storm: {result.stops_answered}/{result.sessions} stops answered, the "
        f"last {result.storm_answers[-1] if result.storm_answers else 0:.1f} s after the drop "
        f"({sum(t <= STORM_MARK for t in result.storm_answers)} within {STORM_MARK:.0f} s, "
        f"half by {pct(result.storm_answers, 0.5) / 1000:.1f} s); {result.orders} orders, the last "
        f"{result.settle_seconds:.1f} s after the storm",
        f"  simulator's share of the CPU used: {result.sim_cpu_share:.0%}",
    ]
    lines += [f"  error: {e}" for e in result.errors]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    server = os.environ.get("EVCHARGE_BENCH_POSTGRES_URL", DEFAULT_SERVER)
    limit = raise_fd_limit()
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / "ocpp-server.log"
    print(f"fd limit {limit}; production password hash (scrypt N=2^14) verify: "
          f"{scrypt_default_ms():.0f} ms per first connection", flush=True)  # fmt: skip
    for n in args.chargers:
        result = await bench_n(server, n, args.seconds, log)
        print(report(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
