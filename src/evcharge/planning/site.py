"""Several devices sharing one gateway limit: exact lexicographic LP by polymatroid greedy.

Model (one gateway, time split into pieces t with price p_t and length h_t, split at
`now`, at slot boundaries and at every Smart deadline so each device's usable time is a
prefix of the pieces):

    x[k, t] >= 0 energy of device k in piece t
    x[k, t] <= P_k h_t           while t is before k's deadline, 0 after
    sum_k x[k, t] <= c_t         c_t = L h_t minus what Normal devices already take

Stage A: delivered energies y_k = sum_t x[k, t] <= E_k are lexicographically maximal in
deadline order (earliest first). Feasible y form a polymatroid with rank
rho(A) = sum_t min(c_t, sum_{k in A} P_k h_t [t in window k]) truncated by E, so the
greedy in deadline order gives the lexicographic maximum (and the maximum total).

Stage B: minimise sum_t p_t z_t with z_t = sum_k x[k, t] and y fixed. The vectors z
that can be routed to the devices form a polymatroid with rank
r(S) = min_A [ y(A) + sum_{t in S} min(c_t, sum_{k not in A} e_kt) ] (max-flow min-cut),
so the greedy over pieces by increasing price (ties: earlier) is optimal.

Then z is split among devices piece by piece in time order, each device taking the most
that keeps the Hall conditions of the rest satisfiable; this always succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from evcharge.planning.device import (
    build_plan,
    empty_plan,
    fill_in_order,
    fmt_time,
    known_until,
    reached,
    sorted_prices,
    split_pieces,
)
from evcharge.planning.model import (
    ENERGY_RTOL,
    MIN_ENERGY_KWH,
    ChargeMode,
    ChargeRequest,
    Plan,
    PriceSlot,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

_TINY = 1e-12
_GROUP = 512


def _subset_matrix(m: int) -> FloatArray:
    codes = np.arange(1 << m)[:, None]
    return ((codes >> np.arange(m)[None, :]) & 1).astype(np.float64)


def solve_site_lp(
    price: FloatArray,
    hours: FloatArray,
    site_cap: FloatArray,
    power: FloatArray,
    window: IntArray,
    energy: FloatArray,
    priority: IntArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Solve G independent gateways with m devices each (arrays, vectorised over G).

    price, hours, site_cap: (G, T) price per kWh, piece length (h), site energy cap (kWh,
    may be inf). power, energy: (G, m). window: (G, m) number of leading pieces device k
    may use. priority: (G, m) permutation, the deadline order (default: by window, stable).
    Returns x (G, m, T) energies and y (G, m) energies delivered.
    """
    g_count, t_count = price.shape
    m = power.shape[1]
    if priority is None:
        priority = np.argsort(window, axis=1, kind="stable")
    x = np.zeros((g_count, m, t_count))
    y = np.zeros((g_count, m))
    for lo in range(0, g_count, _GROUP):
        rows = slice(lo, min(lo + _GROUP, g_count))
        x[rows], y[rows] = _solve_group(
            price[rows], hours[rows], site_cap[rows], power[rows], window[rows],
            energy[rows], priority[rows],
        )  # fmt: skip
    return x, y


def _solve_group(
    price: FloatArray,
    hours: FloatArray,
    site_cap: FloatArray,
    power: FloatArray,
    window: IntArray,
    energy: FloatArray,
    priority: IntArray,
) -> tuple[FloatArray, FloatArray]:
    g_count, t_count = price.shape
    m = power.shape[1]
    full = (1 << m) - 1
    sub = _subset_matrix(m)  # (2^m, m)
    energy = np.maximum(energy, 0.0)
    active = np.arange(t_count)[None, None, :] < window[:, :, None]
    e = np.where(active, np.maximum(power, 0.0)[:, :, None] * hours[:, None, :], 0.0)
    cap = np.maximum(site_cap, 0.0)
    eb = np.matmul(sub, e)  # (G, 2^m, T): sum of device caps of each subset
    cb = np.minimum(eb, cap[:, None, :])

    # Stage A: lexicographic maximum of y in priority order (polymatroid greedy).
    rho = cb.sum(axis=2)
    esub = energy @ sub.T
    rho_box = rho.copy()
    for a in range(1, full + 1):
        b = (a - 1) & a
        while True:  # proper subsets b of a
            np.minimum(rho_box[:, a], rho[:, b] + esub[:, a] - esub[:, b], out=rho_box[:, a])
            if b == 0:
                break
            b = (b - 1) & a
    prefix = np.cumsum(np.left_shift(1, priority), axis=1)
    ranks = np.take_along_axis(rho_box, prefix, axis=1)
    gains = np.diff(ranks, axis=1, prepend=0.0)
    y = np.empty_like(gains)
    np.put_along_axis(y, priority, gains, axis=1)
    y = np.minimum(np.maximum(y, 0.0), energy)

    # Stage B: cheapest routable z (polymatroid greedy over pieces by price).
    ysub = y @ sub.T
    complement = full ^ np.arange(full + 1)
    order = np.argsort(price, axis=1, kind="stable")
    gain_sorted = np.take_along_axis(cb[:, complement, :], order[:, None, :], axis=2)
    rank = np.cumsum(gain_sorted, axis=2)
    rank += ysub[:, :, None]
    best = rank.min(axis=1)
    z_sorted = np.maximum(np.diff(best, axis=1, prepend=0.0), 0.0)
    z = np.empty_like(z_sorted)
    np.put_along_axis(z, order, z_sorted, axis=1)
    np.minimum(z, cb[:, full, :], out=z)

    # Split z among devices, time order, keeping Hall's conditions for the rest.
    later = np.minimum(z[:, None, :], eb)
    later = np.cumsum(later[:, :, ::-1], axis=2)[:, :, ::-1]
    later = np.concatenate([later[:, :, 1:], np.zeros((g_count, full + 1, 1))], axis=2)
    need = y.copy()
    x = np.zeros((g_count, m, t_count))
    others = [
        np.array([a for a in range(1, full + 1) if not (a >> k) & 1], dtype=np.intp)
        for k in range(m)
    ]
    used = np.flatnonzero((z > _TINY).any(axis=0))
    for t in used:
        zt = z[:, t].copy()
        erem = e[:, :, t].copy()
        rest = later[:, :, t]
        for k in range(m):
            take = np.minimum(np.minimum(erem[:, k], zt), need[:, k])
            cols = others[k]
            if cols.size:
                sub_k = sub[cols]
                bound = zt[:, None] - np.minimum(erem @ sub_k.T, need @ sub_k.T - rest[:, cols])
                np.minimum(take, bound.min(axis=1), out=take)
            np.maximum(take, 0.0, out=take)
            x[:, k, t] = take
            erem[:, k] -= take
            zt -= take
            need[:, k] -= take
    return x, x.sum(axis=2)


def _share_asap(
    starts: Sequence[int],
    needs: list[float],
    powers: Sequence[float],
    hours: Sequence[float],
    cap: list[float],
) -> list[list[float]]:
    """Charge each device as early as possible from piece `starts[i]`, splitting the
    site capacity equally (water-filling under each device's own limit). Updates needs/cap."""
    t_count = len(hours)
    out = [[0.0] * t_count for _ in starts]
    for t in range(t_count):
        wants = [
            (min(powers[i] * hours[t], needs[i]), i)
            for i in range(len(starts))
            if starts[i] <= t and needs[i] > _TINY
        ]
        if not wants:
            continue
        wants.sort()
        left = cap[t]
        count = len(wants)
        for want, i in wants:
            share = left / count
            give = want if want < share else share
            if give < 0.0:
                give = 0.0
            out[i][t] = give
            needs[i] -= give
            left -= give
            count -= 1
        cap[t] = left
    return out


def plan_site(
    requests: Sequence[ChargeRequest],
    prices: Sequence[PriceSlot],
    now: datetime,
    site_limit_kw: float | None,
) -> dict[str, Plan]:
    """Plan the devices of one gateway together (site_limit_kw None: no shared limit).

    Normal devices (and Smart ones without a usable deadline) charge first, as early as
    possible, sharing the limit equally; Smart devices are then planned exactly in what
    is left (see the module docstring); a Smart device that cannot be served by its
    deadline gets the most possible before it and then charges as early as possible.
    """
    ordered = sorted_prices(prices)
    plans: dict[str, Plan] = {}
    normal: list[tuple[int, str | None]] = []
    smart: list[int] = []
    energy = [r.energy_kwh if r.energy_kwh >= MIN_ENERGY_KWH else 0.0 for r in requests]
    power = [max(r.max_power_kw, 0.0) for r in requests]
    for i, r in enumerate(requests):
        if r.mode is ChargeMode.OFF:
            plans[r.device] = empty_plan(
                now, reached(0.0, energy[i]), "Charging mode is Off: nothing planned."
            )
        elif energy[i] <= 0.0:
            plans[r.device] = empty_plan(now, True, None)
        elif r.mode is ChargeMode.SMART and r.smart_active:
            if r.deadline is None:
                normal.append((i, "No deadline (FullyChargedBy) given: charging at once."))
            elif r.deadline <= now:
                text = f"Deadline {fmt_time(r.deadline)} is not in the future: charging at once."
                normal.append((i, text))
            else:
                smart.append(i)
        else:
            normal.append((i, None))
    if not normal and not smart:
        return plans

    pieces = split_pieces(ordered, now, [d for i in smart if (d := requests[i].deadline)])
    hours = [p.hours for p in pieces]
    limit = site_limit_kw
    cap = [limit * h if limit is not None else float("inf") for h in hours]
    alloc: dict[int, list[float]] = {}
    reasons: dict[int, str | None] = {}
    targets: dict[int, bool] = {}

    if normal:
        needs = [energy[i] for i, _ in normal]
        shares = _share_asap([0] * len(normal), needs, [power[i] for i, _ in normal], hours, cap)
        for (i, why), got in zip(normal, shares, strict=True):
            delivered = sum(got)
            ok = reached(delivered, energy[i])
            if not ok:
                note = (
                    f"Prices known only until {known_until(pieces)}: {delivered:.2f} of "
                    f"{energy[i]:.2f} kWh planned; the rest is not planned yet."
                )
                why = note if why is None else f"{why} {note}"
            alloc[i], reasons[i], targets[i] = got, why, ok

    if smart:
        windows = []
        for i in smart:
            deadline = requests[i].deadline
            assert deadline is not None
            windows.append(sum(1 for p in pieces if p.end <= deadline))
        deadlines = [requests[i].deadline for i in smart]
        priority = sorted(range(len(smart)), key=lambda j: (deadlines[j], j))
        x, y = solve_site_lp(
            np.array([[p.price for p in pieces]]),
            np.array([hours]),
            np.array([cap]),
            np.array([[power[i] for i in smart]]),
            np.array([windows], dtype=np.intp),
            np.array([[energy[i] for i in smart]]),
            np.array([priority], dtype=np.intp),
        )
        short: list[int] = []
        for j, i in enumerate(smart):
            got = x[0, j].tolist()
            for t, v in enumerate(got):
                cap[t] -= v
            alloc[i] = got
            delivered = float(y[0, j])
            deadline = requests[i].deadline
            assert deadline is not None
            window = pieces[: windows[j]]
            span = (deadline - now).total_seconds() / 3600.0
            known = sum(p.hours for p in window)
            covered = known >= span * (1.0 - 1e-12)
            own = power[i] * (known if covered else span)
            ok = reached(delivered, energy[i])
            targets[i] = ok
            shared = limit is not None and delivered < min(power[i] * known, energy[i]) * (
                1.0 - ENERGY_RTOL
            )
            share_note = (
                f" The gateway limit of {limit:g} kW is shared with other devices."
                if shared and limit is not None
                else ""
            )
            if not covered and energy[i] <= own * (1.0 + ENERGY_RTOL) + 1e-12:
                text = (
                    f"Prices are not known for the whole time until {fmt_time(deadline)} "
                    f"(known until {known_until(window)}): planned over the known prices"
                )
                if ok:
                    text += "."
                else:
                    text += (
                        f"; {delivered:.2f} of {energy[i]:.2f} kWh planned, "
                        f"{energy[i] - delivered:.2f} kWh to plan when later prices are "
                        "published."
                    )
                reasons[i] = text + share_note
            elif ok:
                reasons[i] = None
            else:
                reasons[i] = (
                    f"Deadline {fmt_time(deadline)} unreachable: {delivered:.2f} of the "
                    f"{energy[i]:.2f} kWh needed can be delivered by then "
                    f"({energy[i] - delivered:.2f} kWh missing); charging as early as "
                    f"possible, also after the deadline.{share_note}"
                )
                short.append(j)
        if short:
            needs = [energy[smart[j]] - float(y[0, j]) for j in short]
            extra = _share_asap(
                [windows[j] for j in short], needs, [power[smart[j]] for j in short], hours, cap
            )
            for j, more in zip(short, extra, strict=True):
                i = smart[j]
                alloc[i] = [a + b for a, b in zip(alloc[i], more, strict=True)]

    immediate_power = {i: power[i] if limit is None else min(power[i], limit) for i in alloc}
    for i, got in alloc.items():
        caps = [immediate_power[i] * h for h in hours]
        now_alloc = fill_in_order(caps, energy[i])
        cost_now = sum(a * p.price for a, p in zip(now_alloc, pieces, strict=True))
        plans[requests[i].device] = build_plan(now, pieces, got, cost_now, targets[i], reasons[i])
    return plans
