"""A real evcharge process for out-of-process clients (the .NET suite, `st run`, the
command routing between server processes): free port, temporary SQLite database (or the
given one, already migrated), its own admin key (or the given one); stopped on exit."""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

EVCHARGE = [sys.executable, "-m", "evcharge"]


@dataclass(frozen=True)
class LiveServer:
    url: str
    admin_key: str
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def ocpp_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/ocpp"


def free_port() -> int:
    """A port nothing holds now, for a server to bind, chosen below the kernel's ephemeral
    range: a port from `bind(0)` is one that outgoing connections (any test's clients)
    also take, and one of them could take it before the server binds it (it then exits:
    address already in use)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randrange(10_000, max(low, 10_001))
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


@contextmanager
def live_server(
    directory: Path,
    *,
    database_url: str | None = None,
    admin_key: str | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    port, key = free_port(), admin_key or secrets.token_urlsafe(24)
    directory.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "EVCHARGE_DATABASE_URL": database_url or f"sqlite:///{directory / 'evcharge.db'}",
        "EVCHARGE_ADMIN_KEY": key,
        "EVCHARGE_HOST": "127.0.0.1",
        "EVCHARGE_PORT": str(port),
        "EVCHARGE_LOG_LEVEL": "warning",
        **(settings or {}),
    }
    if database_url is None:
        subprocess.run([*EVCHARGE, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    log = directory / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen([*EVCHARGE, "serve"], env=env, stdout=output, stderr=output)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, server, log)
            yield LiveServer(url, key, log, server)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:]
            sys.exit(f"evcharge stopped during start-up; its output ends:\n{tail}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310 (http://127.0.0.1 only)
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("evcharge did not answer /healthz within 60 s")
