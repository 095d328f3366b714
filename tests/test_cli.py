"""The `evcharge` command as an operator runs it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

EVCHARGE = [sys.executable, "-m", "evcharge"]


def run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EVCHARGE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVCHARGE_")}
    env["EVCHARGE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_invalid_configuration_stops_start_up_with_one_line(tmp_path: Path) -> None:
    for name, value in [
        ("EVCHARGE_PORT", "eighty"),
        ("EVCHARGE_TIMEZONE", "Mars/Olympus"),
        ("EVCHARGE_DATABASE_URL", "mysql://x"),
    ]:
        result = run("serve", env=environment(tmp_path, **{name: value}))
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert name in lines[0]
        assert "Traceback" not in result.stderr


def test_serve_refuses_a_database_whose_schema_is_behind(tmp_path: Path) -> None:
    result = run("serve", env=environment(tmp_path))
    assert result.returncode == 1
    assert "evcharge db upgrade" in result.stderr


def test_db_upgrade_then_current_reports_up_to_date(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert "behind" in run("db", "current", env=env).stdout
    upgraded = run("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "up to date" in run("db", "current", env=env).stdout


def test_served_requests_are_logged_as_one_json_line_each(tmp_path: Path) -> None:
    port = free_port()
    env = environment(tmp_path, EVCHARGE_PORT=str(port))
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
            f"http://127.0.0.1:{port}/api/Customers?pageSize=5", headers={"X-Request-Id": "abc123"}
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
