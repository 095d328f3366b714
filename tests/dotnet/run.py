"""`make test-dotnet`: build the .NET contract suite with mcs, prove it reproduces the
seeds' samples, then run its client against an evcharge it starts itself (free port,
temporary SQLite database, its own admin key). Needs Mono and Json.NET
(`.ci/dotnet` installs them on Debian); every check is printed."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEWTONSOFT = os.environ.get(
    "NEWTONSOFT_JSON_DLL", "/usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll"
)
REFERENCES = [
    f"-r:{NEWTONSOFT}",
    "-r:System.Runtime.Serialization",
    "-r:System.Xml",
    "-r:System.Xml.Linq",
    "-r:System.Net.Http",
]
PROGRAMS = {
    "Samples.exe": ["Contracts.cs", "Serializers.cs", "Samples.cs"],
    "Client.exe": ["Contracts.cs", "Serializers.cs", "Client.cs"],
}
EVCHARGE = [sys.executable, "-m", "evcharge"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def build(out: Path) -> None:
    for tool in ("mcs", "mono"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: install mono-complete (run .ci/dotnet)")
    if not Path(NEWTONSOFT).exists():
        sys.exit(f"{NEWTONSOFT} not found: install libnewtonsoft-json5.0-cil (run .ci/dotnet)")
    shutil.copy(NEWTONSOFT, out / "Newtonsoft.Json.dll")
    for program, sources in PROGRAMS.items():
        command = ["mcs", "-nologo", "-warnaserror", f"-out:{out / program}", *REFERENCES]
        subprocess.run([*command, *(str(HERE / s) for s in sources)], check=True)


def mono(out: Path, program: str, *args: str, zone: str) -> int:
    env = {**os.environ, "TZ": zone}
    return subprocess.run(["mono", str(out / program), *args], env=env).returncode


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("evcharge stopped during start-up")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310 (http://127.0.0.1 only)
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("evcharge did not answer /healthz within 60 s")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="evcharge-dotnet-") as temp:
        out = Path(temp)
        build(out)
        print("== sample reproduction (seed A in +00:00, seed B in +08:00)", flush=True)
        failed = mono(out, "Samples.exe", "A", str(HERE / "samples"), zone="UTC")
        failed |= mono(out, "Samples.exe", "B", str(HERE / "samples"), zone="Asia/Shanghai")
        port, key = free_port(), secrets.token_urlsafe(24)
        env = {
            **os.environ,
            "EVCHARGE_DATABASE_URL": f"sqlite:///{out / 'evcharge.db'}",
            "EVCHARGE_ADMIN_KEY": key,
            "EVCHARGE_HOST": "127.0.0.1",
            "EVCHARGE_PORT": str(port),
            "EVCHARGE_LOG_LEVEL": "warning",
        }
        subprocess.run([*EVCHARGE, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        log = (out / "server.log").open("wb")
        server = subprocess.Popen([*EVCHARGE, "serve"], env=env, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url, server)
            print(f"== .NET client against evcharge at {url}", flush=True)
            failed |= mono(out, "Client.exe", url, key, zone="Asia/Shanghai")
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
        if failed:
            print("server log tail:\n" + (out / "server.log").read_text()[-3000:])
        print("test-dotnet: " + ("FAILED" if failed else "all checks passed"))
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
