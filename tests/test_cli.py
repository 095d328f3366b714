"""The `evcharge` command as an operator runs it."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from evcharge.app import create_app
from evcharge.config import Settings
from tests.commandline import EVCHARGE, environment, run, run_process
from tests.conftest import ADMIN_KEY
from tests.factories import device_path, register_device
from tests.live_server import free_port


def test_invalid_configuration_stops_start_up_with_one_line(tmp_path: Path) -> None:
    for name, value in [
        ("EVCHARGE_PORT", "eighty"),
        ("EVCHARGE_TIMEZONE", "Mars/Olympus"),
        ("EVCHARGE_DATABASE_URL", "mysql://x"),
    ]:
        result = run_process("serve", env=environment(tmp_path, **{name: value}))
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert name in lines[0]
        assert "Traceback" not in result.stderr


def test_serve_refuses_a_database_whose_schema_is_behind(tmp_path: Path) -> None:
    result = run_process("serve", env=environment(tmp_path))
    assert result.returncode == 1
    assert "evcharge db upgrade" in result.stderr


def test_serve_waits_for_a_write_lock_held_by_another_process_at_start(tmp_path: Path) -> None:
    """SQLite: another process holding the write lock past the busy timeout as `serve`
    starts (every transaction here begins IMMEDIATE) delays the start; it does not stop it."""
    port = free_port()
    env = environment(tmp_path, EVCHARGE_PORT=str(port), EVCHARGE_DB_TIMEOUT_SECONDS="1")
    assert run("db", "upgrade", env=env).returncode == 0
    holder = sqlite3.connect(tmp_path / "cli.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    errors = (tmp_path / "serve.err").open("wb")
    server = subprocess.Popen([*EVCHARGE, "serve"], env=env, stderr=errors)
    try:
        time.sleep(6)  # its start-up check meets the lock (import ~2 s, then 1 s busy wait)
        holder.execute("ROLLBACK")
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "serve.err").read_text()
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
    finally:
        holder.close()
        server.terminate()
        server.wait(timeout=30)
        errors.close()


def test_db_upgrade_then_current_reports_up_to_date(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert "behind" in run("db", "current", env=env).stdout
    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "up to date" in run("db", "current", env=env).stdout


def test_served_requests_are_logged_as_one_json_line_each(tmp_path: Path) -> None:
    port = free_port()
    env = environment(tmp_path, EVCHARGE_PORT=str(port), EVCHARGE_ADMIN_KEY=ADMIN_KEY)
    assert run("db", "upgrade", env=env).returncode == 0
    server = subprocess.Popen(
        [*EVCHARGE, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        response = httpx.get(
            f"http://127.0.0.1:{port}/api/Customers?pageSize=5",
            headers={"X-Request-Id": "abc123", "X-Api-Key": ADMIN_KEY},
        )
        assert response.status_code == 200
        assert response.headers["X-Request-Id"] == "abc123"
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    access = [
        line
        for line in lines
        if line.get("event") == "request" and line.get("request_id") == "abc123"
    ]
    assert len(access) == 1, out
    line = access[0]
    assert line["method"] == "GET"
    assert line["path"] == "/api/Customers"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)


def test_prices_import_then_plan_all_reports_plans_and_saving(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert run("db", "upgrade", env=env).returncode == 0
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    rows = ["start_utc,end_utc,price_eur_per_kwh"]
    for hour in range(48):
        # Cheap hours well after now and before the deadline (never "now", whatever the
        # time of day the test runs): charging at once costs more.
        price = 0.05 if 20 <= hour < 24 else 0.30
        slot = start + timedelta(hours=hour)
        rows.append(f"{slot.isoformat()},{(slot + timedelta(hours=1)).isoformat()},{price}")
    prices = tmp_path / "prices.csv"
    prices.write_text("\n".join(rows) + "\n")

    imported = run("prices", "import", str(prices), "--area", "be", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "BE: 48 slots stored" in imported.stdout

    asyncio.run(
        _register_smart_devices(
            env["EVCHARGE_DATABASE_URL"], count=3, deadline=start + timedelta(hours=40)
        )
    )
    planned = run("plan", "--all", env=env)
    assert planned.returncode == 0, planned.stderr
    match = re.search(
        r"(\d+) plans in [\d.]+ s; saving against charging at once: ([\d,.]+) EUR", planned.stdout
    )
    assert match is not None, planned.stdout
    assert int(match.group(1)) == 3
    assert float(match.group(2).replace(",", "")) > 0


def test_prices_sample_loads_once_into_an_empty_database(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert run("db", "upgrade", env=env).returncode == 0
    first = run("prices", "sample", "--if-empty", env=env)
    assert first.returncode == 0, first.stderr
    assert "sample prices BE: 672 slots stored" in first.stdout
    second = run("prices", "sample", "--if-empty", env=env)
    assert "already stored" in second.stdout


def test_bad_price_file_is_one_line_naming_the_slot(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert run("db", "upgrade", env=env).returncode == 0
    bad = tmp_path / "gap.csv"
    bad.write_text(
        "start,end,price\n"
        "2026-03-02T00:00:00Z,2026-03-02T01:00:00Z,0.1\n"
        "2026-03-02T02:00:00Z,2026-03-02T03:00:00Z,0.2\n"
    )
    result = run("prices", "import", str(bad), "--area", "BE", env=env)
    assert result.returncode == 1
    assert "Slots[1]" in result.stderr
    assert "gap" in result.stderr


async def _register_smart_devices(database_url: str, *, count: int, deadline: datetime) -> None:
    app = create_app(Settings(database_url=database_url, log_level="error", admin_key=ADMIN_KEY))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://cli", headers=headers
    ) as client:
        for device in range(1, count + 1):
            await register_device(client, device=device, price_area="BE", gateway_max_power_kw=22)
            body = {
                "ChargingMode": 1,
                "SmartModeIsActive": True,
                "NetBatterySize": 40,
                "BatteryLevel": 30,
                "FullyChargedBy": deadline.isoformat(),
            }
            assert (await client.post(device_path(device=device), json=body)).status_code == 201
    await app.state.authenticator.close()
    await app.state.engine.dispose()
