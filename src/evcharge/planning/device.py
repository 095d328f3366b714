"""Single-device planning in plain Python (exact greedy by price)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from evcharge.planning.model import (
    ENERGY_RTOL,
    MIN_ENERGY_KWH,
    ChargeMode,
    ChargeRequest,
    Plan,
    PlannedSlot,
    PriceSlot,
)

_ZERO = timedelta(0)


class Piece(NamedTuple):
    """The usable part [start, end) of a price slot, or of the lead-in: the time from
    `now` to the first known price (`priced` False; its `price` only ranks it after
    every known price, see `lead_in_price`)."""

    start: datetime
    end: datetime
    price: float
    hours: float
    priced: bool = True


def fmt_time(value: datetime) -> str:
    return value.isoformat(timespec="minutes")


def sorted_prices(prices: Sequence[PriceSlot]) -> list[PriceSlot]:
    return sorted(prices, key=lambda slot: slot.start)


def lead_in_price(prices: Sequence[PriceSlot]) -> float:
    """The rank of unpriced time among known prices: dearer than every one of them, so
    the lead-in is planned only for energy the priced time cannot deliver (its real price
    is unknown: it is never counted in a cost)."""
    highest = max(slot.price for slot in prices)
    return highest + max(1.0, abs(highest))


def split_pieces(
    prices: Sequence[PriceSlot], now: datetime, cuts: Sequence[datetime] = ()
) -> list[Piece]:
    """The parts after `now` of the (sorted) price slots, split at every time in `cuts`.
    When the first known price starts after `now`, the time before it comes first as an
    unpriced lead-in: a car plugged in now can charge now (docs/planner.md)."""
    later = [slot for slot in prices if slot.end > now]
    spans: list[tuple[datetime, datetime, float, bool]] = []
    if later and later[0].start > now:
        spans.append((now, later[0].start, lead_in_price(later), False))
    spans += [(max(slot.start, now), slot.end, slot.price, True) for slot in later]
    out: list[Piece] = []
    cut_list = sorted(set(cuts))
    for lo, end, price, priced in spans:
        for cut in cut_list:
            if lo < cut < end:
                out.append(Piece(lo, cut, price, (cut - lo).total_seconds() / 3600.0, priced))
                lo = cut
        out.append(Piece(lo, end, price, (end - lo).total_seconds() / 3600.0, priced))
    return out


def known_cost(energies: Sequence[float], pieces: Sequence[Piece]) -> float:
    """The cost of energies placed in pieces, over the priced pieces only."""
    return sum(x * p.price for x, p in zip(energies, pieces, strict=True) if p.priced)


def fill_in_order(caps: Sequence[float], energy: float) -> list[float]:
    """Fill capacities in the given order until `energy` is placed."""
    out: list[float] = []
    left = energy
    for cap in caps:
        take = cap if cap < left else left
        if take < 0.0:
            take = 0.0
        out.append(take)
        left -= take
    return out


def fill_cheapest(prices: Sequence[float], caps: Sequence[float], energy: float) -> list[float]:
    """Greedy by price, ties to the earlier slot: optimal for min p.x, sum x = E, 0 <= x <= cap."""
    out = [0.0] * len(caps)
    left = energy
    for i in sorted(range(len(caps)), key=prices.__getitem__):  # stable: ties keep time order
        if left <= 0.0:
            break
        take = caps[i] if caps[i] < left else left
        out[i] = take
        left -= take
    return out


def reached(delivered: float, energy: float) -> bool:
    return delivered >= energy * (1.0 - ENERGY_RTOL) - 1e-12


def build_plan(
    created: datetime,
    pieces: Sequence[Piece],
    energies: Sequence[float],
    cost_if_immediate: float,
    target_reached: bool,
    reason: str | None,
    full_power: Sequence[float | None] | None = None,
) -> Plan:
    """`full_power[k]`: the power the device may draw alone in piece k (None: the piece is
    shared, keep the average). A partly used piece it has alone is charged at that power
    from the piece's start for just the time needed: "at once" means at full power, the
    earlier part leaves a margin, and TotalChargeTime is the real charging time."""
    slots: list[PlannedSlot] = []
    total = 0.0
    cost = 0.0
    unpriced = 0.0
    duration = _ZERO
    for k, (piece, energy) in enumerate(zip(pieces, energies, strict=True)):
        if energy >= MIN_ENERGY_KWH:  # float dust from the arithmetic is not a slot
            end, power = piece.end, energy / piece.hours
            full = full_power[k] if full_power is not None else None
            micros = math.ceil(energy / full * 3.6e9) if full is not None and full > 0.0 else 0
            if 0 < micros < piece.hours * 3.6e9:
                # Whole microseconds, rounded up so the derived power never exceeds `full`
                # and power × time is the energy; never past the piece's end.
                end = piece.start + timedelta(microseconds=micros)
                power = energy / (micros / 3.6e9)
            slots.append(
                PlannedSlot(piece.start, end, power, energy, piece.price if piece.priced else None)
            )
            total += energy
            if piece.priced:
                cost += energy * piece.price
            else:
                unpriced += energy
            duration += end - piece.start
    if unpriced > 0.0:
        first_price = next(p.start for p in pieces if p.priced)
        note = (
            f"{unpriced:.2f} kWh planned before the first known price "
            f"({fmt_time(first_price)}): their price is unknown and not in the cost estimate."
        )
        reason = note if reason is None else f"{reason} {note}"
    return Plan(
        created=created,
        slots=tuple(slots),
        energy_kwh=total,
        estimated_cost=cost,
        cost_if_immediate=cost_if_immediate,
        target_reached=target_reached,
        reason=reason,
        start_time=slots[0].start if slots else None,
        end_time=slots[-1].end if slots else None,
        total_charge_time=duration,
    )


def empty_plan(now: datetime, target_reached: bool, reason: str | None) -> Plan:
    return Plan(now, (), 0.0, 0.0, 0.0, target_reached, reason, None, None, _ZERO)


def known_until(pieces: Sequence[Piece]) -> str:
    return fmt_time(pieces[-1].end) if pieces else "nothing from now"


def plan_device(request: ChargeRequest, prices: Sequence[PriceSlot], now: datetime) -> Plan:
    """Plan one device alone (no shared site limit). See docs/planner.md for the rules."""
    energy = request.energy_kwh if request.energy_kwh >= MIN_ENERGY_KWH else 0.0
    power = request.max_power_kw if request.max_power_kw > 0.0 else 0.0
    if request.mode is ChargeMode.OFF:
        return empty_plan(now, reached(0.0, energy), "Charging mode is Off: nothing planned.")
    deadline = request.deadline
    smart = request.mode is ChargeMode.SMART and request.smart_active
    cut = [deadline] if smart and deadline is not None and deadline > now else []
    later = split_pieces(sorted_prices(prices), now, cut)
    immediate = fill_in_order([power * p.hours for p in later], energy)
    cost_now = known_cost(immediate, later)
    if energy <= 0.0:
        return empty_plan(now, True, None)

    reason: str | None = None
    if smart:
        if deadline is None:
            reason = "No deadline (FullyChargedBy) given: charging at once."
        elif deadline <= now:
            reason = f"Deadline {fmt_time(deadline)} is not in the future: charging at once."
        else:
            window = [p for p in later if p.end <= deadline]
            caps = [power * p.hours for p in window]
            capacity = sum(caps)
            span = (deadline - now).total_seconds() / 3600.0
            covered = sum(p.hours for p in window) >= span * (1.0 - 1e-12)
            reachable = capacity if covered else power * span
            if energy <= reachable * (1.0 + ENERGY_RTOL) + 1e-12:
                energies = fill_cheapest([p.price for p in window], caps, energy)
                if covered:
                    return build_plan(
                        now, window, energies, cost_now, True, None, [power] * len(window)
                    )
                delivered = sum(energies)
                ok = reached(delivered, energy)
                note = (
                    f"Prices are not known for the whole time until {fmt_time(deadline)} "
                    f"(known until {known_until(window)}): planned over the known prices"
                )
                if ok:
                    note += "."
                else:
                    note += (
                        f"; {delivered:.2f} of {energy:.2f} kWh planned, "
                        f"{energy - delivered:.2f} kWh to plan when later prices are published."
                    )
                return build_plan(now, window, energies, cost_now, ok, note, [power] * len(window))
            reason = (
                f"Deadline {fmt_time(deadline)} unreachable: at {power:g} kW at most "
                f"{reachable:.2f} of the {energy:.2f} kWh needed can be delivered by then "
                f"({energy - reachable:.2f} kWh missing); charging at full power from now."
            )
            delivered = sum(immediate)
            if not reached(delivered, energy):
                reason += f" Prices known until {known_until(later)}: {delivered:.2f} kWh planned."
            return build_plan(now, later, immediate, cost_now, False, reason, [power] * len(later))

    delivered = sum(immediate)
    ok = reached(delivered, energy)
    if not ok:
        note = (
            f"Prices known only until {known_until(later)}: {delivered:.2f} of "
            f"{energy:.2f} kWh planned; the rest is not planned yet."
        )
        reason = note if reason is None else f"{reason} {note}"
    return build_plan(now, later, immediate, cost_now, ok, reason, [power] * len(later))
