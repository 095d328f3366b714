"""Energy registers as real chargers report them: units, mix-ups, resets (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

CLOCK_SET_AFTER = datetime(2010, 1, 1, tzinfo=UTC)
"""A timestamp before this comes from a charger whose clock was never set (1970 after boot)."""

SLACK = timedelta(hours=1)
"""Time added to the elapsed time when judging what a register may plausibly have grown by."""

UNIT_CORRECTED = "unit_corrected"
METER_RESET = "meter_reset"
CLOCK_NOT_SET = "clock_not_set"

_TO_WH = {None: Decimal(1), "Wh": Decimal(1), "kWh": Decimal(1000)}


def clock_is_set(moment: datetime) -> bool:
    return moment >= CLOCK_SET_AFTER


SAMPLE_BOUND = Decimal(10) ** 11
"""Sampled values at or beyond this (in any unit) are not measurements; they are skipped."""

REGISTER_IMPLAUSIBLE = "register_implausible"
"""A Start's meterStart or a Stop's meterStop beyond SAMPLE_BOUND: no meter counts that
far. The session is kept; the register is taken as unknown (see `register_wh`)."""


def register_wh(value: Any) -> Decimal | None:
    """A StartTransaction's meterStart or a StopTransaction's meterStop (an integer in Wh,
    the schema sets no bound); None when it is beyond what any meter counts."""
    wh = Decimal(int(value))
    return wh if abs(wh) < SAMPLE_BOUND else None


def sampled_number(sampled: dict[str, Any]) -> Decimal | None:
    """A sampled value's number, exact; None when it is not a finite, plausible number."""
    try:
        value = Decimal(str(sampled["value"]))
    except (InvalidOperation, KeyError):
        return None
    if not value.is_finite() or abs(value) >= SAMPLE_BOUND:
        return None
    return value


def to_wh(value: Decimal, unit: str | None) -> Decimal | None:
    """An energy reading in Wh; None for a unit that is not energy (varh, …)."""
    factor = _TO_WH.get(unit)
    return None if factor is None else value * factor


def max_increase_wh(max_power_kw: Decimal, elapsed: timedelta) -> Decimal:
    """The most a register may grow over `elapsed` (plus an hour of slack) at full power."""
    hours = Decimal((max(elapsed, timedelta(0)) + SLACK).total_seconds()) / Decimal(3600)
    return max_power_kw * 1000 * hours * Decimal("1.05")


@dataclass(frozen=True, slots=True)
class Reading:
    wh: Decimal
    flag: str | None


def normalise(value_wh: Decimal, previous_wh: Decimal | None, limit_wh: Decimal) -> Reading:
    """A register reading against the previous one: a kWh value sent as Wh (or the other
    way round) is corrected when only the corrected value is plausible; a register that
    goes backwards otherwise is a meter reset (flagged; never a negative quantity)."""
    if previous_wh is None:
        return Reading(value_wh, None)
    plausible = previous_wh <= value_wh <= previous_wh + limit_wh
    if plausible:
        return Reading(value_wh, None)
    for candidate in (value_wh * 1000, value_wh / 1000):
        if previous_wh <= candidate <= previous_wh + limit_wh:
            return Reading(candidate, UNIT_CORRECTED)
    if value_wh < previous_wh:
        return Reading(value_wh, METER_RESET)
    return Reading(value_wh, None)


def delivered_wh(start_wh: Decimal, registers: Iterable[Reading]) -> Decimal:
    """Energy delivered over a sequence of register readings: the sum of every increase;
    after a reset the register counts again from zero."""
    total = Decimal(0)
    previous = start_wh
    for reading in registers:
        if reading.flag == METER_RESET or reading.wh < previous:
            total += max(reading.wh, Decimal(0))
        else:
            total += reading.wh - previous
        previous = reading.wh
    return total


def kwh(wh: Decimal) -> Decimal:
    """Wh to kWh, exact to the Wh register's resolution (6 places are stored)."""
    return (wh / 1000).quantize(Decimal("0.000001"))
