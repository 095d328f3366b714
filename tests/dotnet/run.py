"""`make test-dotnet`: build the .NET contract suite with mcs, prove it reproduces the
seeds' samples, then run its client against an evcharge it starts itself (free port,
temporary SQLite database, its own admin key). Needs Mono and Json.NET
(`.ci/dotnet` installs them on Debian); every check is printed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from tests.live_server import live_server

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


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="evcharge-dotnet-") as temp:
        out = Path(temp)
        build(out)
        print("== sample reproduction (seed A in +00:00, seed B in +08:00)", flush=True)
        failed = mono(out, "Samples.exe", "A", str(HERE / "samples"), zone="UTC")
        failed |= mono(out, "Samples.exe", "B", str(HERE / "samples"), zone="Asia/Shanghai")
        with live_server(out) as server:
            print(f"== .NET client against evcharge at {server.url}", flush=True)
            failed |= mono(out, "Client.exe", server.url, server.admin_key, zone="Asia/Shanghai")
        if failed:
            print("server log tail:\n" + (out / "server.log").read_text()[-3000:])
        print("test-dotnet: " + ("FAILED" if failed else "all checks passed"))
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
