"""CreateOrder under sustained load on PostgreSQL, against a bare asyncpg baseline.

    .venv/bin/python -m bench.create_order [--seconds 10] [--rounds 3] [--clients 32]

Creates its own database on EVCHARGE_BENCH_POSTGRES_URL's server, migrates it, registers
one device per client, then alternates rounds over five targets: the real server (uvicorn,
the app factory) with a stored, rate-limited key; the same server with
EVCHARGE_ADMIN_KEY; a second real server with `--workers 2` and the stored key; the
baseline (uvicorn, 1 process, bare ASGI, one asyncpg INSERT); and, for reference, the
baseline with `--workers 2` (what a second process gives on this machine at all), each
driven by the same keep-alive HTTP/1.1 load generator. Every request is a distinct valid
order (each client its own device, consecutive time slots): no conflicts. Prints the
medians and the three ratios to the baseline of the same round (issue 8, item 10)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench.cpu import own_cpu, postgres_cpu_seconds, tree_cpu_seconds
from evcharge.migrations import upgrade

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "bench" / "results"
PATH = b"/api/ChargeOrder/CreateOrder"
BASE_TIME = datetime(2030, 1, 1, tzinfo=UTC)
ENV_KEY = "bench-admin-key-" + uuid.uuid4().hex


@dataclass
class Round:
    target: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    answered: int = 0  # warm-up included: the denominator of the CPU figures
    cpu_us: dict[str, float] = field(default_factory=dict)
    """CPU per answered request, µs: "server" (its processes), "postgres", "loadgen"."""

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Orders:
    """Distinct, non-overlapping orders: client c books device c, slot after slot."""

    def __init__(self, devices: list[str], customer: str, key: str) -> None:
        self.devices = devices
        self.customer = customer
        self.authorization = b"Authorization: Bearer " + key.encode() + b"\r\n"
        self.next_slot = [0] * len(devices)
        self.run = uuid.uuid4().hex[:8]

    def request(self, client: int) -> bytes:
        slot = self.next_slot[client]
        self.next_slot[client] = slot + 1
        start = BASE_TIME + timedelta(hours=slot)
        end = start + timedelta(minutes=30)
        body = (
            f'{{"ChargingDeviceId":"{self.devices[client]}","CustomerId":"{self.customer}",'
            f'"StartTime":"{start.isoformat()}","EndTime":"{end.isoformat()}",'
            f'"ElectricQuantity":1.5,"DiscountPrice":0.5,"Remark":"bench",'
            f'"Id":"{self.run}-{client}-{slot}"}}'
        ).encode()
        head = (
            b"POST "
            + PATH
            + b" HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            + self.authorization
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        return head + body


async def client_loop(
    port: int, client: int, orders: Orders, result: Round, start: float, stop: float
) -> None:
    # Clients connect one after another, as real ones do, not in one instant: a burst of
    # connects is accepted whole by whichever `--workers` process wakes first (seen: all
    # 32 on one of two), which measures the burst, not the server.
    # All are connected within the first half of the warm-up.
    await asyncio.sleep(client * (start - time.perf_counter()) / 2 / len(orders.devices))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (now := time.perf_counter()) < stop:
            writer.write(orders.request(client))
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            done = time.perf_counter()
            result.answered += 1
            if now < start:
                continue  # warm-up
            if head[9:12] == b"200":
                result.latencies.append(done - now)
            else:
                result.errors += 1
    finally:
        writer.close()


async def drive(
    port: int,
    orders: Orders,
    clients: int,
    seconds: float,
    warmup: float,
    target: str,
    server_pid: int,
) -> Round:
    result = Round(target, seconds)
    start = time.perf_counter() + warmup
    stop = start + seconds
    before = tree_cpu_seconds(server_pid), postgres_cpu_seconds(), own_cpu()
    outcomes = await asyncio.gather(
        *(client_loop(port, c, orders, result, start, stop) for c in range(clients)),
        return_exceptions=True,
    )
    after = tree_cpu_seconds(server_pid), postgres_cpu_seconds(), own_cpu()
    result.errors += sum(isinstance(o, BaseException) for o in outcomes)
    for name, first, last in zip(("server", "postgres", "loadgen"), before, after, strict=True):
        result.cpu_us[name] = (last - first) * 1e6 / max(1, result.answered)
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    app: str, port: int, env: dict[str, str], factory: bool, workers: int = 1
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log",
        "--workers", str(workers), "--timeout-worker-healthcheck", "60",
    ]  # fmt: skip
    if factory:
        command.append("--factory")
    # The servers' own output (one audit line per order) goes to a file, not the report.
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"create_order-{app.split(':')[0].rsplit('.', 1)[-1]}-{port}.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)


async def wait_ready(port: int, seconds: float = 180) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return
    raise RuntimeError(f"server on port {port} did not start")


async def register(url: str, clients: int) -> tuple[list[str], str]:
    """One customer, contract and gateway; one 11 kW device per client."""
    now = datetime.now(UTC)
    customer, contract, gateway = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    devices = [uuid.uuid4() for _ in range(clients)]
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO customers VALUES ($1, 1, 'bench', $2, $2)", customer, now
        )
        await connection.execute(
            "INSERT INTO contracts (id, customer_id, number, name, created, updated)"
            " VALUES ($1, $2, 1, 'bench', $3, $3)",
            contract, customer, now,
        )  # fmt: skip
        await connection.execute(
            "INSERT INTO gateways (id, contract_id, number, name, created, updated)"
            " VALUES ($1, $2, 1, 'bench', $3, $3)",
            gateway, contract, now,
        )  # fmt: skip
        await connection.executemany(
            "INSERT INTO charging_devices (id, gateway_id, number, name, max_power_kw, created,"
            " updated) VALUES ($1, $2, $3, 'bench', 11, $4, $4)",
            [(device, gateway, n, now) for n, device in enumerate(devices, start=1)],
        )
    finally:
        await connection.close()
    return [str(d) for d in devices], str(customer)


def summary(rounds: list[Round]) -> tuple[float, float, float, float]:
    return (
        statistics.median(r.rps for r in rounds),
        statistics.median(r.percentile(0.50) for r in rounds),
        statistics.median(r.percentile(0.99) for r in rounds),
        statistics.median(r.errors for r in rounds),
    )


def cpu(rounds: list[Round], name: str) -> float:
    return statistics.median(r.cpu_us[name] for r in rounds)


TARGETS = (
    ("stored", "a stored key, rate-limited (1 process)"),
    ("env", "EVCHARGE_ADMIN_KEY (1 process)"),
    ("workers2", "a stored key, rate-limited, --workers 2"),
    ("baseline", "baseline (bare ASGI + asyncpg INSERT, 1 process)"),
    ("baseline2", "the baseline with --workers 2 (reference: what a second process gives here)"),
)
TARGETS_RATIO = {"stored": 0.5, "env": 0.6, "workers2": 1.0}
LIMIT = "1000000"
"""The stored key's limit: high enough never to refuse, so the limiter (leases) runs on
every request while throughput is measured."""


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.create_order")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per target (alternating)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--pool",
        type=int,
        default=0,
        help="database connections per server (default: one per client); --workers 2 splits "
        "them between its processes. Lower it when the PostgreSQL server is shared",
    )
    args = parser.parse_args()
    pool = args.pool or args.clients

    server = os.environ.get("EVCHARGE_BENCH_POSTGRES_URL", DEFAULT_SERVER)
    admin_url = server.replace("postgresql://", "postgres://", 1)
    name = f"evcharge_bench_{uuid.uuid4().hex[:10]}"
    url = f"{server.rpartition('/')[0]}/{name}"
    try:
        admin = await asyncpg.connect(admin_url, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        print(
            f"skipped: cannot reach PostgreSQL at {server} ({exc}); set EVCHARGE_BENCH_POSTGRES_URL"
        )
        return
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await asyncio.to_thread(upgrade, url)
        devices, customer = await register(url, args.clients)
        stored_key = create_stored_key(url)
        keys = {"stored": stored_key, "env": ENV_KEY, "workers2": stored_key,
                "baseline": ENV_KEY, "baseline2": ENV_KEY}  # fmt: skip
        ports = {"one": free_port(), "two": free_port(), "baseline": free_port(),
                 "baseline2": free_port()}  # fmt: skip
        app_env = {
            "EVCHARGE_DATABASE_URL": url,
            "EVCHARGE_LOG_LEVEL": "warning",
            # As many connections as clients for both servers (see baseline).
            "EVCHARGE_DB_POOL_SIZE": str(pool),
            "EVCHARGE_ADMIN_KEY": ENV_KEY,
            "EVCHARGE_RATE_LIMIT_PER_SECOND": LIMIT,
            "EVCHARGE_RATE_LIMIT_BURST": LIMIT,
        }
        processes.append(start_server("evcharge.app:create_app", ports["one"], app_env, True))
        split = {**app_env, "EVCHARGE_DB_POOL_SIZE": str(max(1, pool // 2))}
        processes.append(
            start_server("evcharge.app:create_app", ports["two"], split, True, workers=2)
        )
        for target, workers in (("baseline", 1), ("baseline2", 2)):
            processes.append(
                start_server(
                    "bench.create_order.baseline:app",
                    ports[target],
                    {"BASELINE_DATABASE_URL": url, "BASELINE_POOL_SIZE": str(pool // workers)},
                    factory=False,
                    workers=workers,
                )
            )
        for port in ports.values():
            await wait_ready(port)
        port_of = {"stored": ports["one"], "env": ports["one"], "workers2": ports["two"],
                   "baseline": ports["baseline"], "baseline2": ports["baseline2"]}  # fmt: skip
        pid_of = {"stored": processes[0].pid, "env": processes[0].pid,
                  "workers2": processes[1].pid, "baseline": processes[2].pid,
                  "baseline2": processes[3].pid}  # fmt: skip
        results: dict[str, list[Round]] = {target: [] for target, _ in TARGETS}
        orders = Orders(devices, customer, stored_key)  # one slot counter: no overlaps
        for number in range(1, args.rounds + 1):
            for target, _label in TARGETS:
                orders.authorization = b"Authorization: Bearer " + keys[target].encode() + b"\r\n"
                done = await drive(
                    port_of[target],
                    orders,
                    args.clients,
                    args.seconds,
                    args.warmup,
                    target,
                    pid_of[target],
                )
                results[target].append(done)
                print(
                    f"round {number} {target:9} {done.rps:8.0f} req/s  p50 "
                    f"{done.percentile(0.5):6.1f} ms  p99 {done.percentile(0.99):6.1f} ms  "
                    f"errors {done.errors}  CPU µs/request: server "
                    f"{done.cpu_us['server']:.0f}, PostgreSQL {done.cpu_us['postgres']:.0f}, "
                    f"load generator {done.cpu_us['loadgen']:.0f}",
                    flush=True,
                )
        stored = await count_orders(url)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    command = shlex.join([".venv/bin/python", "-m", "bench.create_order", *sys.argv[1:]])
    print()
    print(
        f"CreateOrder on PostgreSQL, {args.clients} clients, median of {args.rounds} "
        f"alternating rounds of {args.seconds:g} s; {os.cpu_count()} CPUs; "
        f"{pool} database connections per server; {stored} orders stored"
    )
    print(
        "| server | req/s | p50 ms | p99 ms | errors | ratio to baseline (same round) | target "
        "| CPU µs per request: server / PostgreSQL / load generator |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for target, label in TARGETS:
        rps, p50, p99, errors = summary(results[target])
        if target == "baseline":
            ratio, goal = "1", ""
        else:
            paired = statistics.median(
                a.rps / b.rps for a, b in zip(results[target], results["baseline"], strict=True)
            )
            ratio = f"**{paired:.2f}**" if target in TARGETS_RATIO else f"{paired:.2f}"
            goal = f">= {TARGETS_RATIO[target]}, p99 <= 50 ms" if target in TARGETS_RATIO else ""
        costs = " / ".join(
            f"{cpu(results[target], n):.0f}" for n in ("server", "postgres", "loadgen")
        )
        print(
            f"| {label} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {errors:.0f} | {ratio} | {goal} "
            f"| {costs} |"
        )
    print(ceiling(results, os.cpu_count() or 1))
    print(f"command: make bench  (this benchmark alone: {command})")


def ceiling(results: dict[str, list[Round]], cores: int) -> str:
    """What this machine allows `--workers 2`: every request costs the server, PostgreSQL
    and the load generator their CPU, and all of them share the machine's cores."""
    server, others = (
        cpu(results["workers2"], "server"),
        cpu(results["workers2"], "postgres") + cpu(results["workers2"], "loadgen"),
    )
    baseline = statistics.median(r.rps for r in results["baseline"])
    most = cores * 1e6 / (server + others)
    # At the baseline's rate the cores give each request this much CPU, of which
    # PostgreSQL and the load generator take theirs first.
    server_budget = max(0.0, cores * 1e6 / baseline - others)
    return (
        f"--workers 2 on this machine: {server + others:.0f} µs of CPU per request in all, "
        f"so {cores} cores allow at most {most:.0f} req/s = {most / baseline:.2f}x the "
        f"baseline; 1.0x needs the server at most {server_budget:.0f} µs per request "
        f"(it takes {server:.0f}; the bare baseline server takes "
        f"{cpu(results['baseline'], 'server'):.0f})"
    )


def create_stored_key(url: str) -> str:
    """An admin key made the way an operator makes one (`evcharge keys create`)."""
    env = {**os.environ, "EVCHARGE_DATABASE_URL": url}
    made = subprocess.run(
        [sys.executable, "-m", "evcharge", "keys", "create", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return made.stdout.strip().splitlines()[-1]


async def count_orders(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        total: int = await connection.fetchval("SELECT count(*) FROM charge_orders")
        return total
    finally:
        await connection.close()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        pass
    asyncio.run(main())
