"""CPU time of the processes a benchmark runs, from Linux's /proc (the benchmarks' machine)."""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_cpu(stat: str) -> float:
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process."""
    return _stat_cpu(Path(f"/proc/{pid}/stat").read_text())


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its children (uvicorn's supervisor and its workers)."""
    total = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError):  # ended meanwhile
                total += cpu_seconds(int(child))
    return total


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on this machine (the server under test is local)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if "(postgres)" in stat:
            total += _stat_cpu(stat)
    return total


def own_cpu() -> float:
    """CPU of this process (the load generator or simulator)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
