"""Data types of the planner, price validation and the energy helper (no I/O)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_EFFICIENCY = 0.9
DEFAULT_MAX_POWER_KW = 11.0

#: Relative tolerance used to decide that an energy target is met.
ENERGY_RTOL = 1e-9
#: Energies below this (kWh) are treated as nothing to charge.
MIN_ENERGY_KWH = 1e-9


class ChargeMode(enum.Enum):
    NORMAL = "Normal"
    SMART = "Smart"
    OFF = "Off"


class PriceSeriesError(ValueError):
    """A price series has a gap, an overlap or an empty slot; `index` names the slot."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"slot {index}: {message}")
        self.index = index
        self.message = message


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """A price per kWh valid on [start, end) (aware datetimes, UTC)."""

    start: datetime
    end: datetime
    price: float


@dataclass(frozen=True, slots=True)
class CapacitySlot:
    """The power a gateway may draw for its devices on [start, end) (kW, aware UTC):
    its grid connection minus the base load. Where no slot is given, MaxPowerKw holds."""

    start: datetime
    end: datetime
    power_kw: float


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """What one device needs.

    `mode` is the driver's ChargingMode. A SMART request with `smart_active=False`
    (SmartModeIsActive false) is planned as NORMAL; callers may equally pass NORMAL.
    `energy_kwh` is the energy to draw from the grid (see `energy_needed`).
    """

    device: str
    mode: ChargeMode
    energy_kwh: float
    max_power_kw: float = DEFAULT_MAX_POWER_KW
    deadline: datetime | None = None
    smart_active: bool = True


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    start: datetime
    end: datetime
    power_kw: float
    energy_kwh: float
    price: float | None  # None: before the first known price (docs/planner.md)


@dataclass(frozen=True, slots=True)
class Plan:
    """A charging plan for one device. Only slots with energy > 0 appear in `slots`."""

    created: datetime
    slots: tuple[PlannedSlot, ...]
    energy_kwh: float
    estimated_cost: float
    cost_if_immediate: float
    target_reached: bool
    reason: str | None
    start_time: datetime | None
    end_time: datetime | None
    total_charge_time: timedelta


def energy_needed(
    net_battery_kwh: float, battery_level_pct: float, efficiency: float = DEFAULT_EFFICIENCY
) -> float:
    """Energy to draw from the grid to fill the battery: size x (100 - level) / 100 / efficiency.

    The level is clamped to [0, 100]; efficiency must be in (0, 1].
    """
    if not 0.0 < efficiency <= 1.0:
        raise ValueError("efficiency must be in (0, 1]")
    if net_battery_kwh < 0.0:
        raise ValueError("net battery size must be >= 0")
    level = min(max(battery_level_pct, 0.0), 100.0)
    return net_battery_kwh * (100.0 - level) / 100.0 / efficiency


def validate_price_slots(slots: Sequence[PriceSlot]) -> None:
    """Check a price upload, in the order given (it must be sorted by start).

    Raises PriceSeriesError naming the first offending slot: end <= start, a start
    that is not timezone-aware, a non-finite price, a gap (slot i starts after slot
    i-1 ends) or an overlap (slot i starts before slot i-1 ends).
    """
    previous: PriceSlot | None = None
    for index, slot in enumerate(slots):
        if slot.start.tzinfo is None or slot.end.tzinfo is None:
            raise PriceSeriesError(index, "start and end must be timezone-aware")
        if slot.end <= slot.start:
            raise PriceSeriesError(index, f"end {slot.end} is not after start {slot.start}")
        if slot.price != slot.price or slot.price in (float("inf"), float("-inf")):
            raise PriceSeriesError(index, "price is not a finite number")
        if previous is not None:
            if slot.start > previous.end:
                raise PriceSeriesError(
                    index,
                    f"gap: starts at {slot.start} but slot {index - 1} ends at {previous.end}",
                )
            if slot.start < previous.end:
                raise PriceSeriesError(
                    index,
                    f"overlap: starts at {slot.start} before slot {index - 1} ends "
                    f"at {previous.end}",
                )
        previous = slot
