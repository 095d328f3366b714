"""Vectorised single-device planning: many independent problems at once (numpy).

Same rules and results as `plan_device`, on arrays. Times are float seconds (for
example POSIX timestamps); all problems share one slot grid, prices are shared
(shape (S,)) or per problem (shape (n, S)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evcharge.planning.model import (
    ENERGY_RTOL,
    MIN_ENERGY_KWH,
    ChargeMode,
    ChargeRequest,
    PriceSlot,
)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_CHUNK = 2048


@dataclass(frozen=True, slots=True)
class BatchPlans:
    """Results of `plan_many`, one row per problem, one column per slot."""

    energy_kwh: FloatArray  # (n, S) energy planned in each slot
    delivered_kwh: FloatArray  # (n,)
    estimated_cost: FloatArray  # (n,)
    cost_if_immediate: FloatArray  # (n,)
    target_reached: BoolArray  # (n,)


def price_arrays(prices: Sequence[PriceSlot]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(start seconds, end seconds, price) arrays of a sorted price series."""
    ordered = sorted(prices, key=lambda slot: slot.start)
    start = np.array([s.start.timestamp() for s in ordered], dtype=np.float64)
    end = np.array([s.end.timestamp() for s in ordered], dtype=np.float64)
    price = np.array([s.price for s in ordered], dtype=np.float64)
    return start, end, price


def request_arrays(
    requests: Sequence[ChargeRequest],
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """(deadline seconds or NaN, energy, max power, smart) for `plan_many`.

    OFF requests are not batchable (plan them with `plan_device`): ValueError.
    """
    if any(r.mode is ChargeMode.OFF for r in requests):
        raise ValueError("OFF requests cannot be batched")
    deadline = np.array(
        [r.deadline.timestamp() if r.deadline is not None else np.nan for r in requests],
        dtype=np.float64,
    )
    energy = np.array([r.energy_kwh for r in requests], dtype=np.float64)
    power = np.array([r.max_power_kw for r in requests], dtype=np.float64)
    smart = np.array([r.mode is ChargeMode.SMART and r.smart_active for r in requests], dtype=bool)
    return deadline, energy, power, smart


def plan_many(
    slot_start: ArrayLike,
    slot_end: ArrayLike,
    prices: ArrayLike,
    now: ArrayLike | datetime,
    deadline: ArrayLike,
    energy_kwh: ArrayLike,
    max_power_kw: ArrayLike,
    smart: ArrayLike,
) -> BatchPlans:
    """Plan n independent devices.

    slot_start, slot_end: (S,) seconds, sorted, shared by all problems.
    prices: (S,) shared or (n, S) per problem.
    now: scalar or (n,) seconds (a datetime is accepted); deadline: (n,) seconds, NaN = none.
    energy_kwh, max_power_kw: (n,); smart: (n,) True = Smart (and active), False = Normal.
    """
    start = np.asarray(slot_start, dtype=np.float64)
    end = np.asarray(slot_end, dtype=np.float64)
    price = np.asarray(prices, dtype=np.float64)
    energy = np.asarray(energy_kwh, dtype=np.float64)
    energy = np.where(energy >= MIN_ENERGY_KWH, energy, 0.0)
    n = energy.shape[0]
    now_arr = np.broadcast_to(
        np.asarray(now.timestamp() if isinstance(now, datetime) else now, dtype=np.float64), (n,)
    )
    dl = np.broadcast_to(np.asarray(deadline, dtype=np.float64), (n,))
    power = np.maximum(np.broadcast_to(np.asarray(max_power_kw, dtype=np.float64), (n,)), 0.0)
    is_smart = np.broadcast_to(np.asarray(smart, dtype=bool), (n,))
    shared = price.ndim == 1
    order_shared = np.argsort(price, kind="stable") if shared else None

    out = np.zeros((n, start.shape[0]), dtype=np.float64)
    cost = np.zeros(n)
    cost_now = np.zeros(n)
    delivered = np.zeros(n)
    target = np.zeros(n, dtype=bool)
    for lo_row in range(0, n, _CHUNK):
        rows = slice(lo_row, min(lo_row + _CHUNK, n))
        p_rows = price[None, :] if shared else price[rows]
        e = energy[rows, None]
        pw = power[rows, None]
        t0 = now_arr[rows, None]
        lo = np.maximum(start[None, :], t0)
        cap_now = pw * (np.maximum(end[None, :] - lo, 0.0) / 3600.0)
        before = np.cumsum(cap_now, axis=1)
        before -= cap_now
        x_now = np.minimum(np.maximum(e - before, 0.0), cap_now)

        d = dl[rows]
        smart_rows = is_smart[rows] & ~np.isnan(d) & (d > now_arr[rows])
        x = x_now
        ok_smart = np.zeros(smart_rows.shape, dtype=bool)
        covered = np.zeros(smart_rows.shape, dtype=bool)
        idx = np.flatnonzero(smart_rows)
        if idx.size:
            d_s = d[idx, None]
            hours = np.maximum(np.minimum(end[None, :], d_s) - lo[idx], 0.0) / 3600.0
            caps = pw[idx] * hours
            span = (d[idx] - now_arr[rows][idx]) / 3600.0
            cov = hours.sum(axis=1) >= span * (1.0 - 1e-12)
            reachable = np.where(cov, caps.sum(axis=1), power[rows][idx] * span)
            ok = energy[rows][idx] <= reachable * (1.0 + ENERGY_RTOL) + 1e-12
            good = idx[ok]
            ok_smart[good] = True
            covered[good] = cov[ok]
            if good.size:
                caps = caps[ok]
                if order_shared is not None:
                    sorted_caps = caps[:, order_shared]
                else:
                    order = np.argsort(p_rows[good], axis=1, kind="stable")
                    sorted_caps = np.take_along_axis(caps, order, axis=1)
                before_s = np.cumsum(sorted_caps, axis=1)
                before_s -= sorted_caps
                xs = np.minimum(np.maximum(e[good] - before_s, 0.0), sorted_caps)
                x = x_now.copy()
                if order_shared is not None:
                    x[np.ix_(good, order_shared)] = xs
                else:
                    greedy = np.empty_like(xs)
                    np.put_along_axis(greedy, order, xs, axis=1)
                    x[good] = greedy
        x = np.where(x >= MIN_ENERGY_KWH, x, 0.0)  # as plan_device: no dust slots
        out[rows] = x
        got = x.sum(axis=1)
        delivered[rows] = got
        cost[rows] = (x * p_rows).sum(axis=1)
        cost_now[rows] = (x_now * p_rows).sum(axis=1)
        met = got >= energy[rows] * (1.0 - ENERGY_RTOL) - 1e-12
        unreachable = smart_rows & ~ok_smart
        target[rows] = np.where(ok_smart, covered | met, met & ~unreachable)
    return BatchPlans(out, delivered, cost, cost_now, target)
