"""The `evcharge` command for tests. `run` invokes it in this process (typer's runner: the
same code as the installed command, without the ~2 s start of a second interpreter, which
made most of the CLI tests' time); an exception it did not turn into an exit code is
raised, never read as a failure's exit code. `run_process` starts the real entry point
(`python -m evcharge`): for what only a process shows (its stderr as printed, `serve`)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from typer.testing import CliRunner, Result

from evcharge.cli import app
from tests.live_server import EVCHARGE


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without its EVCHARGE_ settings, on a fresh SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVCHARGE_")}
    env["EVCHARGE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env.update(extra)
    return env


def run(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`evcharge ARGS` in this process with exactly `env`'s EVCHARGE_ settings (on a
    thread of its own where this one runs an event loop: the command runs its own)."""
    settings: dict[str, str | None] = {k: None for k in os.environ if k.startswith("EVCHARGE_")}
    settings.update({k: v for k, v in env.items() if k.startswith("EVCHARGE_")})

    def invoke() -> Result:
        return CliRunner().invoke(app, list(args), input=stdin, env=settings)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        result = invoke()
    else:
        with ThreadPoolExecutor(1) as thread:
            result = thread.submit(invoke).result()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["evcharge", *args], result.exit_code, result.stdout, result.stderr
    )


def run_process(
    *args: str, env: dict[str, str], stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m evcharge ARGS` as a process of its own."""
    return subprocess.run(
        [*EVCHARGE, *args], input=stdin, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
