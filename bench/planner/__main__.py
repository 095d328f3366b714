"""Planner benchmark: `python -m bench.planner` (part of `make bench`).

Workloads (192 quarter-hour slots = 48 h, prices = random 48 h windows of the real
Belgian 2023 day-ahead prices, so every problem has its own prices, ties included):

1. 100,000 single-device Smart plans with `plan_many`.
2. 10,000 gateways with 1-4 devices each (shared site limit) with `solve_site_lp`.
3. One gateway with 50, 200 and 1,000 Smart devices (a depot: its connection minus a
   base load that varies per slot), exact site plan with `solve_site_flow`; HiGHS solves
   the same gateway (most energy in total, then the least cost for our energies).

Each is also solved by HiGHS (the same LP) on a random subset; the HiGHS time per
problem is scaled to the full workload. Costs are compared on that subset.
Then: the yearly saving of Smart charging for a commuter over the 2023 prices.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from tests.planning.highs_lp import solve_single, solve_site_lexicographic

from evcharge.planning import (
    ChargeMode,
    ChargeRequest,
    PriceSlot,
    energy_needed,
    plan_many,
    plan_site,
    solve_site_flow,
    solve_site_lp,
)

DATA = Path(__file__).parent / "data" / "be_day_ahead_2023.csv"
ROUNDS = 3
SLOTS = 192
QUARTER = 0.25
N_SINGLE = 100_000
N_SINGLE_HIGHS = 1_000
N_SITES = 10_000
N_SITES_HIGHS = 300
N_SITES_OBJECTS = 300

FloatArray = NDArray[np.float64]
_T = TypeVar("_T")


def load_prices() -> tuple[FloatArray, FloatArray, FloatArray]:
    with DATA.open() as handle:
        rows = list(csv.DictReader(handle))

    def seconds(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    start = np.array([seconds(r["start_utc"]) for r in rows])
    end = np.array([seconds(r["end_utc"]) for r in rows])
    price = np.array([float(r["price_eur_per_kwh"]) for r in rows])
    return start, end, price


def price_windows(hourly: FloatArray, count: int, rng: np.random.Generator) -> FloatArray:
    quarter = np.repeat(hourly, 4)
    offsets = rng.integers(0, (quarter.size - SLOTS) // 4, count) * 4
    return quarter[offsets[:, None] + np.arange(SLOTS)[None, :]]


def timed(fn: Callable[[], _T]) -> tuple[float, _T]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def rel_diff(ours: FloatArray, ref: FloatArray, scale: FloatArray) -> float:
    return float(np.max(np.abs(ours - ref) / np.maximum(scale, 1e-9)))


def report(
    name: str,
    n: int,
    ours: list[float],
    highs: list[float],
    n_highs: int,
    diff: float,
    target_s: float,
) -> None:
    t_ours = statistics.median(ours)
    t_highs = statistics.median(highs) / n_highs * n
    print(f"{name}")
    print(f"  ours : {t_ours:8.3f} s for {n:,} ({t_ours / n * 1e6:8.1f} us each)  rounds {ours}")
    print(
        f"  HiGHS: {t_highs:8.3f} s for {n:,} ({t_highs / n * 1e6:8.1f} us each), "
        f"measured on {n_highs:,} and scaled"
    )
    print(f"  speed-up {t_highs / t_ours:6.1f} x   max relative cost difference {diff:.2e}")
    ok_time = "ok" if t_ours <= target_s else "MISSED"
    ok_ratio = "ok" if t_highs / t_ours >= 20 else "MISSED"
    ok_cost = "ok" if diff <= 1e-6 else "MISSED"
    print(
        f"  targets: <= {target_s:g} s {ok_time}; >= 20 x HiGHS {ok_ratio}; "
        f"equal cost (1e-6) {ok_cost}"
    )


def bench_single(hourly: FloatArray, rng: np.random.Generator) -> None:
    prices = price_windows(hourly, N_SINGLE, rng)
    start = np.arange(SLOTS) * 900.0
    end = start + 900.0
    now = rng.uniform(0.0, 4 * 3600.0, N_SINGLE)
    deadline = np.minimum(now + rng.uniform(6 * 3600.0, 40 * 3600.0, N_SINGLE), end[-1])
    power = rng.choice([3.7, 7.4, 11.0, 22.0], N_SINGLE)
    capacity = power * (deadline - now) / 3600.0
    energy = rng.uniform(0.05, 0.95, N_SINGLE) * np.minimum(capacity, 80.0)
    smart = np.ones(N_SINGLE, dtype=bool)

    ours: list[float] = []
    for _ in range(ROUNDS):
        seconds, result = timed(
            lambda: plan_many(start, end, prices, now, deadline, energy, power, smart)
        )
        ours.append(round(seconds, 3))
    batch_cost = result.estimated_cost
    assert bool(np.all(result.target_reached))

    subset = rng.choice(N_SINGLE, N_SINGLE_HIGHS, replace=False)
    problems = []
    for i in subset:
        lo = np.maximum(start, now[i])
        hours = np.maximum(np.minimum(end, deadline[i]) - lo, 0.0) / 3600.0
        use = hours > 0
        problems.append((prices[i][use], power[i] * hours[use], float(energy[i])))
    highs: list[float] = []
    ref = np.zeros(N_SINGLE_HIGHS)
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for j, (p, caps, e) in enumerate(problems):
            ref[j] = solve_single(p, caps, e)
        highs.append(round(time.perf_counter() - t0, 3))
    scale = np.maximum(np.abs(ref), np.abs(prices[subset]).max(axis=1) * energy[subset] * 1e-3)
    diff = rel_diff(batch_cost[subset], ref, scale)
    report(
        "single-device plans (plan_many, 192 slots)", N_SINGLE, ours, highs, N_SINGLE_HIGHS,
        diff, 2.0,
    )  # fmt: skip


def bench_sites(hourly: FloatArray, rng: np.random.Generator) -> None:
    devices = rng.integers(1, 5, N_SITES)
    prices = price_windows(hourly, N_SITES, rng)
    limits = rng.choice([9.2, 11.0, 17.0, 22.0], N_SITES)
    groups = []
    for m in range(1, 5):
        ids = np.flatnonzero(devices == m)
        g = ids.size
        power = rng.choice([7.4, 11.0, 22.0], (g, m))
        window = rng.integers(24, SLOTS + 1, (g, m))
        energy = rng.uniform(2.0, 60.0, (g, m))
        hours = np.full((g, SLOTS), QUARTER)
        cap = limits[ids][:, None] * hours
        groups.append((ids, prices[ids], hours, cap, power, window, energy))

    def run_all() -> list[tuple[FloatArray, FloatArray]]:
        return [solve_site_lp(p, h, c, pw, w, e) for _, p, h, c, pw, w, e in groups]

    ours: list[float] = []
    for _ in range(ROUNDS):
        seconds, out = timed(run_all)
        ours.append(round(seconds, 3))
    cost = np.zeros(N_SITES)
    delivered: dict[int, FloatArray] = {}
    short = 0
    for (ids, p, _, _, _, _, e), (x, y) in zip(groups, out, strict=True):
        cost[ids] = (x.sum(axis=1) * p).sum(axis=1)
        for row, gid in enumerate(ids):
            delivered[int(gid)] = y[row]
        short += int(np.sum(np.any(y < e * (1 - 1e-9), axis=1)))

    subset = rng.choice(N_SITES, N_SITES_HIGHS, replace=False)
    where = {int(gid): (gi, row) for gi, g in enumerate(groups) for row, gid in enumerate(g[0])}
    highs: list[float] = []
    ref = np.zeros(N_SITES_HIGHS)
    ref_y_diff = 0.0
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for j, gid in enumerate(subset):
            gi, row = where[int(gid)]
            _, p, h, c, pw, w, e = groups[gi]
            feasible = bool(np.all(delivered[int(gid)] >= e[row] * (1 - 1e-9)))
            order = np.argsort(w[row], kind="stable")
            result = solve_site_lexicographic(
                p[row], h[row], c[row], pw[row], w[row], e[row], order, assume_feasible=feasible
            )
            ref[j] = result.cost
            ref_y_diff = max(
                ref_y_diff, float(np.abs(result.delivered - delivered[int(gid)]).max())
            )
        highs.append(round(time.perf_counter() - t0, 3))
    scale = np.maximum(np.abs(ref), 1e-3 * np.abs(prices[subset]).max(axis=1) * 60.0)
    diff = rel_diff(cost[subset], ref, scale)
    report(
        "gateway plans (solve_site_lp, 1-4 devices, 192 slots)",
        N_SITES,
        ours,
        highs,
        N_SITES_HIGHS,
        diff,
        5.0,
    )
    print(
        f"  {short:,} of {N_SITES:,} gateways cannot meet every deadline (lexicographic case); "
        f"max energy difference vs HiGHS {ref_y_diff:.1e} kWh"
    )

    # The object API, one call per gateway (what the HTTP side calls), for information.
    base = datetime(2023, 6, 1, tzinfo=UTC)
    q = timedelta(minutes=15)
    calls = []
    for gid in subset[:N_SITES_OBJECTS]:
        gi, row = where[int(gid)]
        _, p, _, _, pw, w, e = groups[gi]
        slots = [
            PriceSlot(base + i * q, base + (i + 1) * q, float(v)) for i, v in enumerate(p[row])
        ]
        requests = [
            ChargeRequest(f"ev{k}", ChargeMode.SMART, float(e[row, k]), float(pw[row, k]),
                          base + int(w[row, k]) * q)
            for k in range(pw.shape[1])
        ]  # fmt: skip
        calls.append((requests, slots, float(limits[gid])))
    seconds, _ = timed(lambda: [plan_site(r, s, base, lim) for r, s, lim in calls])
    print(
        f"  plan_site (Plan objects, one call per gateway): "
        f"{seconds / len(calls) * 1e3:.2f} ms per gateway"
    )


LARGE_SITES = (50, 200, 1_000)
LARGE_TARGET_S = 1.0


def bench_large_sites(hourly: FloatArray, rng: np.random.Generator) -> None:
    """One gateway, many cars: a depot whose connection (0.35 x 11 kW per charger) minus a
    base load (20-40 %, varying per slot) is shared; cars plugged in with random deadlines
    between 6 h and 48 h (quarter-hour edges), 7.4/11/22 kW, 2-60 kWh needed."""
    print("large gateways (solve_site_flow, one gateway, 192 slots; HiGHS: same LPs)")
    for m in LARGE_SITES:
        price = price_windows(hourly, 1, rng)[0]
        hours = np.full(SLOTS, QUARTER)
        base = rng.uniform(0.2, 0.4, SLOTS)
        cap = m * 11.0 * 0.35 * (1.0 - base) * hours
        power = rng.choice([7.4, 11.0, 22.0], m)
        window = rng.integers(24, SLOTS + 1, m).astype(np.intp)
        energy = rng.uniform(2.0, 60.0, m)
        order = np.argsort(window, kind="stable")
        ours: list[float] = []
        for _ in range(ROUNDS):
            args = (price, hours, cap, power, window, energy, order)
            seconds, (x, y) = timed(lambda args=args: solve_site_flow(*args))
            ours.append(round(seconds, 3))
        cost = float((x.sum(axis=0) * price).sum())
        highs: list[float] = []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            most = solve_site_lexicographic(
                price, hours, cap, power, window, energy, order, maximise_total=True
            ).delivered[0]
            ref = solve_site_lexicographic(
                price, hours, cap, power, window, y, order, assume_feasible=True
            )
            highs.append(round(time.perf_counter() - t0, 3))
        t_ours, t_highs = statistics.median(ours), statistics.median(highs)
        scale = max(abs(ref.cost), 1e-3 * float(np.abs(price).max() * energy.sum()))
        diff = abs(cost - ref.cost) / scale
        short = int(np.sum(y < energy * (1 - 1e-9)))
        within = bool((x <= power[:, None] * hours[None, :] * (1 + 1e-9) + 1e-9).all()) and bool(
            (x.sum(axis=0) <= cap * (1 + 1e-9) + 1e-9).all()
        )
        ok_time = "ok" if m < 1_000 or t_ours <= LARGE_TARGET_S else "MISSED"
        print(
            f"  {m:5,} devices: ours {t_ours:7.3f} s  rounds {ours}   HiGHS {t_highs:7.3f} s  "
            f"speed-up {t_highs / t_ours:5.1f} x"
        )
        print(
            f"      energy {y.sum():10.3f} kWh (HiGHS most {most:10.3f}), {short} cars short; "
            f"cost diff {diff:.1e} (equal 1e-6 {'ok' if diff <= 1e-6 else 'MISSED'}); "
            f"limits {'ok' if within else 'BROKEN'}"
            + (f"; <= {LARGE_TARGET_S:g} s {ok_time}" if m == 1_000 else "")
        )


def brussels_offset(moment: datetime) -> timedelta:
    """CET/CEST (EU rule: summer time from the last Sunday of March to the last Sunday of
    October, switching at 01:00 UTC)."""

    def last_sunday(month: int) -> datetime:
        day = datetime(moment.year, month + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
        return day - timedelta(days=(day.weekday() + 1) % 7)

    summer = last_sunday(3) <= moment < last_sunday(10)
    return timedelta(hours=2 if summer else 1)


def local_to_utc(day: datetime, hour: int) -> datetime:
    guess = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return guess - brussels_offset(guess - timedelta(hours=1))


def bench_savings(start: FloatArray, end: FloatArray, hourly: FloatArray) -> None:
    battery, arrive_pct, target_pct, power = 40.0, 50.0, 80.0, 11.0
    # energy_needed() fills to 100 %; the commuter needs 80 %: the share up to 80 %.
    energy = energy_needed(battery, arrive_pct) - energy_needed(battery, target_pct)
    days = [datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=d) for d in range(365)]
    plug = np.array([local_to_utc(d, 18).timestamp() for d in days])
    due = np.array([local_to_utc(d + timedelta(days=1), 7).timestamp() for d in days])
    n = len(days)
    result = plan_many(
        start, end, hourly, plug, due, np.full(n, energy), np.full(n, power), np.ones(n, bool)
    )
    smart = float(result.estimated_cost.sum())
    now = float(result.cost_if_immediate.sum())
    assert bool(result.target_reached.all())
    kwh = energy * n
    print(
        f"yearly saving, commuter over the real 2023 BE day-ahead prices (energy only, no "
        f"grid fees/taxes): {battery:g} kWh battery, plugged in 18:00 at {arrive_pct:g} %, "
        f"needs {target_pct:g} % by 07:00 (Brussels time), {power:g} kW, "
        f"{energy:.2f} kWh/day from the grid ({kwh:,.0f} kWh/year)"
    )
    print(
        f"  charging at once {now:8.2f} EUR   smart {smart:8.2f} EUR   saving "
        f"{now - smart:7.2f} EUR ({(now - smart) / now * 100:.1f} %)"
    )


def main() -> None:
    rng = np.random.default_rng(2023)
    start, end, hourly = load_prices()
    print(f"planner bench: {ROUNDS} rounds, medians; numpy {np.__version__}")
    bench_single(hourly, rng)
    bench_sites(hourly, rng)
    bench_large_sites(hourly, rng)
    bench_savings(start, end, hourly)


if __name__ == "__main__":
    main()
