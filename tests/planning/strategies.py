"""Hypothesis strategies and helpers shared by the planning tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from evcharge.planning import CapacitySlot, ChargeMode, ChargeRequest, Plan, PriceSlot

BASE = datetime(2024, 4, 8, 0, 0, tzinfo=UTC)


def hourly(prices: list[float], start: datetime = BASE, minutes: int = 60) -> list[PriceSlot]:
    step = timedelta(minutes=minutes)
    return [PriceSlot(start + i * step, start + (i + 1) * step, p) for i, p in enumerate(prices)]


# Prices on a coarse grid so that ties happen; negative prices included.
price_values = st.integers(min_value=-20, max_value=40).map(lambda c: c / 100.0)
powers = st.sampled_from([1.4, 3.7, 7.4, 11.0, 22.0]) | st.floats(0.5, 25.0)
energies = st.floats(0.0, 90.0) | st.sampled_from([0.0, 10.0, 40.0])


@dataclass(frozen=True)
class Scenario:
    prices: list[PriceSlot]
    now: datetime
    requests: list[ChargeRequest]
    limit: float | None
    capacity: tuple[CapacitySlot, ...] = ()

    def limit_at(self, moment: datetime) -> float | None:
        """The site's power limit at `moment`: a capacity slot, else the limit."""
        for slot in self.capacity:
            if slot.start <= moment < slot.end:
                return slot.power_kw
        return self.limit


@st.composite
def price_series(draw: st.DrawFn, min_slots: int = 1, max_slots: int = 40) -> list[PriceSlot]:
    minutes = draw(st.sampled_from([15, 60]))
    values = draw(st.lists(price_values, min_size=min_slots, max_size=max_slots))
    return hourly(values, BASE, minutes)


@st.composite
def mixed_price_series(draw: st.DrawFn, max_slots: int = 40) -> list[PriceSlot]:
    """Slots of 15, 30 and 60 minutes mixed in one series."""
    lengths = draw(st.lists(st.sampled_from([15, 30, 60]), min_size=1, max_size=max_slots))
    out: list[PriceSlot] = []
    start = BASE
    for minutes in lengths:
        end = start + timedelta(minutes=minutes)
        out.append(PriceSlot(start, end, draw(price_values)))
        start = end
    return out


@st.composite
def capacity_slots(draw: st.DrawFn, prices: list[PriceSlot]) -> tuple[CapacitySlot, ...]:
    """A few slots of available power at arbitrary minutes (not on price edges), some 0."""
    span = int((prices[-1].end - BASE).total_seconds() // 60)
    edges = sorted(set(draw(st.lists(st.integers(0, span + 60), min_size=2, max_size=8))))
    out: list[CapacitySlot] = []
    for lo, hi in itertools.pairwise(edges):
        if draw(st.booleans()):
            kw = draw(st.sampled_from([0.0, 3.0, 11.0]) | st.floats(0.5, 60.0))
            out.append(CapacitySlot(BASE + timedelta(minutes=lo), BASE + timedelta(minutes=hi), kw))
    return tuple(out)


@st.composite
def scenarios(
    draw: st.DrawFn,
    max_devices: int = 4,
    smart_only: bool = False,
    deadline_in_horizon: bool = False,
    limited: bool | None = None,
    real_sites: bool = False,
) -> Scenario:
    """`real_sites`: mixed slot lengths, prices that may start after now, a capacity
    schedule that varies, deadlines anywhere inside slots."""
    prices = draw(mixed_price_series() if real_sites else price_series())
    horizon = prices[-1].end
    span_min = int((horizon - BASE).total_seconds() // 60)
    earliest = -90 if real_sites else 0  # before the first price: prices start after now
    now = BASE + timedelta(minutes=draw(st.integers(earliest, max(0, span_min // 3))))
    count = draw(st.integers(1, max_devices))
    requests: list[ChargeRequest] = []
    for i in range(count):
        if smart_only:
            mode = ChargeMode.SMART
        else:
            mode = draw(st.sampled_from([ChargeMode.SMART, ChargeMode.SMART, ChargeMode.NORMAL]))
        if deadline_in_horizon or smart_only:
            latest = int((horizon - now).total_seconds() // 60)
            offset = draw(st.integers(1, max(1, latest if deadline_in_horizon else latest + 120)))
            deadline: datetime | None = now + timedelta(minutes=offset)
        else:
            deadline = draw(
                st.none()
                | st.integers(-120, span_min + 120).map(lambda m: BASE + timedelta(minutes=m))
            )
        requests.append(
            ChargeRequest(
                device=f"ev{i}",
                mode=mode,
                energy_kwh=draw(energies),
                max_power_kw=draw(powers),
                deadline=deadline,
            )
        )
    if limited is None:
        limit = draw(st.none() | st.floats(1.0, 45.0))
    elif limited:
        limit = draw(st.floats(1.0, 45.0))
    else:
        limit = None
    capacity = draw(capacity_slots(prices)) if real_sites else ()
    return Scenario(prices, now, requests, limit, capacity)


def plan_energy_by(plan: Plan, moment: datetime | None) -> float:
    return sum(s.energy_kwh for s in plan.slots if moment is None or s.end <= moment)


def plan_cost_by(plan: Plan, moment: datetime | None) -> float:
    """The known cost (slots before the first known price have none)."""
    return sum(
        s.energy_kwh * s.price
        for s in plan.slots
        if s.price is not None and (moment is None or s.end <= moment)
    )


def close(a: float, b: float, scale: float = 1.0, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b), scale)
