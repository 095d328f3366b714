"""What a car still needs: the charging information's need minus what was charged since
(from meter readings); a reported state of charge replaces the estimate."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from evcharge.planning import energy_needed


@dataclass(frozen=True, slots=True)
class Reading:
    timestamp: datetime
    energy_kwh: Decimal
    soc: Decimal | None


@dataclass(frozen=True, slots=True)
class Progress:
    need_kwh: float  # still to draw from the grid
    charged_kwh: float  # drawn since the charging information
    soc: float | None  # the newest reported state of charge used, if any


def charged(readings: Sequence[Reading]) -> float:
    """Energy counted by a register between the first and the last reading: the sum of
    its increases (a register that goes down was reset; counting goes on from there)."""
    total = Decimal(0)
    for before, after in itertools.pairwise(readings):
        if after.energy_kwh > before.energy_kwh:
            total += after.energy_kwh - before.energy_kwh
    return float(total)


def progress(
    size_kwh: float,
    battery_level: float,
    since: datetime,
    readings: Sequence[Reading],
    efficiency: float,
) -> Progress:
    """`readings` in time order: the baseline (the last one at or before `since`, if
    any) and every one after it."""
    since_info = charged(readings)
    latest_soc = None
    for index in range(len(readings) - 1, -1, -1):
        reading = readings[index]
        if reading.soc is not None and reading.timestamp > since:
            latest_soc = index
            break
    if latest_soc is None:
        need = energy_needed(size_kwh, battery_level, efficiency) - since_info
        return Progress(max(need, 0.0), since_info, None)
    soc = float(readings[latest_soc].soc or 0)
    need = energy_needed(size_kwh, soc, efficiency) - charged(readings[latest_soc:])
    return Progress(max(need, 0.0), since_info, soc)


SLOWER = 0.9
"""The car drew less than this share of the planned power: it limits itself."""
NOT_CHARGING = 0.1
"""Less than this share: it is not charging at all (full, unplugged) — nothing learned."""


def planned_between(slots: Sequence[dict[str, object]], start: datetime, end: datetime) -> float:
    """Energy (kWh) stored plan slots put in [start, end)."""
    total = 0.0
    for slot in slots:
        s = datetime.fromisoformat(str(slot["start"]))
        e = datetime.fromisoformat(str(slot["end"]))
        overlap = (min(e, end) - max(s, start)).total_seconds()
        if overlap > 0:
            total += float(str(slot["power_kw"])) * overlap / 3600
    return total


def car_limit(
    readings: Sequence[Reading], slots: Sequence[dict[str, object]], previous: float | None
) -> float | None:
    """The power the car really takes (kW), learnt from the last two readings against the
    plan they ran under: it drew clearly less than planned, yet something. Otherwise the
    limit learnt before stands (None: none known)."""
    if len(readings) < 2:
        return previous
    before, last = readings[-2], readings[-1]
    hours = (last.timestamp - before.timestamp).total_seconds() / 3600
    if hours <= 0 or last.energy_kwh < before.energy_kwh:
        return previous
    drawn = float(last.energy_kwh - before.energy_kwh) / hours
    planned = planned_between(slots, before.timestamp, last.timestamp) / hours
    if planned <= 0 or drawn >= SLOWER * planned or drawn < NOT_CHARGING * planned:
        return previous
    return round(drawn, 3)
