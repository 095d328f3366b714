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

import bisect
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from evcharge.planning.device import (
    Piece,
    build_plan,
    empty_plan,
    fill_in_order,
    fmt_time,
    known_cost,
    known_until,
    reached,
    sorted_prices,
    split_pieces,
)
from evcharge.planning.flow import solve_site_flow
from evcharge.planning.model import (
    ENERGY_RTOL,
    MIN_ENERGY_KWH,
    CapacitySlot,
    ChargeMode,
    ChargeRequest,
    Plan,
    PriceSlot,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

_TINY = 1e-12
#: Up to this many Smart devices the subset method below is used (2^m subsets, fastest for
#: homes); above it the polynomial flow method of `flow.py` (any number of devices).
SUBSET_METHOD_MAX_DEVICES = 6
_GROUP = 512


def _cumsum_rows(a: FloatArray) -> None:
    """In-place cumulative sum over the first axis (much faster than np.cumsum(axis=0),
    which does not vectorise over the trailing axes)."""
    for t in range(1, a.shape[0]):
        np.add(a[t - 1], a[t], out=a[t])


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
    if t_count == 0:  # no known prices from now: nothing can be planned
        return np.zeros((g_count, m, 0)), np.zeros((g_count, m))
    if priority is None:
        priority = np.argsort(window, axis=1, kind="stable")
    active = np.arange(t_count)[None, None, :] < window[:, :, None]
    e = np.where(active, np.maximum(power, 0.0)[:, :, None] * hours[:, None, :], 0.0)
    z = np.zeros((g_count, t_count))
    y = np.zeros((g_count, m))
    for lo in range(0, g_count, _GROUP):
        rows = slice(lo, min(lo + _GROUP, g_count))
        _solve_group(price[rows], site_cap[rows], e[rows], energy[rows], priority[rows],
                     z[rows], y[rows])  # fmt: skip
    # The split runs once for all gateways: its cost is mostly per step, not per gateway.
    x = _split(z, e, y, _subset_matrix(m))
    return x, x.sum(axis=2)


def _solve_group(
    price: FloatArray,
    site_cap: FloatArray,
    e: FloatArray,
    energy: FloatArray,
    priority: IntArray,
    z_out: FloatArray,
    y_out: FloatArray,
) -> None:
    """Stages A and B for a group of gateways: writes y (G, m) and z (G, T)."""
    g_count, m, t_count = e.shape
    full = (1 << m) - 1
    sub = _subset_matrix(m)  # (2^m, m)
    energy = np.maximum(energy, 0.0)
    cap = np.maximum(site_cap, 0.0)

    # Everything below is done with the pieces sorted by price (ties: earlier piece),
    # in the layout (piece, subset, gateway) so that sums run over the first axis.
    order = np.argsort(price, axis=1, kind="stable")
    e_s = np.take_along_axis(e, order[:, None, :], axis=2).transpose(2, 1, 0).copy()
    cap_s = np.take_along_axis(cap, order, axis=1).T.copy()
    # cb[t, A, g] = min(c_t, sum of the caps of the devices in A), A a bit set
    cb = np.empty((t_count, full + 1, g_count))
    cb[:, 0, :] = 0.0
    for a in range(1, full + 1):
        low = (a & -a).bit_length() - 1
        np.add(cb[:, a ^ (1 << low), :], e_s[:, low, :], out=cb[:, a, :])
    z_cap_s = np.minimum(cb[:, full, :], cap_s)
    np.minimum(cb, cap_s[:, None, :], out=cb)
    _cumsum_rows(cb)

    # Stage A: lexicographic maximum of y in priority order (polymatroid greedy).
    rho = cb[-1].T.copy()  # (G, 2^m)
    # Truncation by the box y <= E: rho'(A) = min_{B subset A} rho(B) + E(A minus B),
    # by the recurrence rho'(A) = min(rho(A), min_{k in A} rho'(A minus k) + E_k).
    rho_box = rho.copy()
    for a in range(1, full + 1):
        for k in range(m):
            if (a >> k) & 1:
                np.minimum(rho_box[:, a], rho_box[:, a ^ (1 << k)] + energy[:, k],
                           out=rho_box[:, a])  # fmt: skip
    prefix = np.cumsum(np.left_shift(1, priority), axis=1)
    ranks = np.take_along_axis(rho_box, prefix, axis=1)
    gains = np.diff(ranks, axis=1, prepend=0.0)
    y = np.empty_like(gains)
    np.put_along_axis(y, priority, gains, axis=1)
    y = np.minimum(np.maximum(y, 0.0), energy)

    # Stage B: cheapest routable z. r(prefix) = min_A [y(A) + cum(min(c, e(not A)))];
    # with B = not A: min_B [cum_B + y(not B)].
    complement = full ^ np.arange(full + 1)
    cb += (y @ sub.T).T[complement][None, :, :]
    best = cb.min(axis=1)  # (T, G)
    z_s = np.maximum(np.diff(best, axis=0, prepend=0.0), 0.0)
    np.minimum(z_s, z_cap_s, out=z_s)
    np.put_along_axis(z_out, order, z_s.T, axis=1)
    y_out[...] = y


def _split(z: FloatArray, e: FloatArray, y: FloatArray, sub: FloatArray) -> FloatArray:
    """Split the piece totals z (G, T) among the devices (caps e (G, m, T), totals y).

    Pieces where the split is forced (every active device at its cap, or a single active
    device) are assigned at once. The other pieces are taken one at a time, each device
    getting the most that keeps Hall's conditions of what remains satisfiable:
    for every device set A, need(A) <= sum over the pieces left of min(z_t, e_t(A)).
    """
    g_count, m, _t_count = e.shape
    full = (1 << m) - 1
    total = e.sum(axis=1)
    ratio = np.divide(z, total, out=np.zeros_like(z), where=total > 0)
    forced = (z >= total * (1.0 - 1e-12)) | ((e > 0).sum(axis=1) <= 1)
    x = e * np.where(forced, np.minimum(ratio, 1.0), 0.0)[:, None, :]
    open_ = ~forced & (z > _TINY)
    count = open_.sum(axis=1)
    width = int(count.max()) if g_count else 0
    if width == 0:
        return x
    need = y - x.sum(axis=2)
    # Gateways by decreasing number of open pieces: step j only touches a prefix of them.
    # Layout: gateways on the last axis (reductions over short axes are slow otherwise).
    rows = np.argsort(-count, kind="stable")
    count = count[rows]
    where = np.argsort(~open_[rows], axis=1, kind="stable")[:, :width]
    zc = np.take_along_axis(z[rows], where, axis=1)
    zc[np.arange(width)[None, :] >= count[:, None]] = 0.0
    ec = np.take_along_axis(e[rows], where[:, None, :], axis=2)
    zc_t = np.ascontiguousarray(zc.T)  # (width, G)
    ec_t = np.ascontiguousarray(ec.transpose(2, 1, 0))  # (width, m, G)
    # later_t[j, A, g]: what the pieces after j can give the devices of A at most
    later_t = np.zeros((width, full + 1, g_count))
    np.minimum(zc_t[1:, None, :], np.matmul(sub, ec_t[1:]), out=later_t[:-1])
    _cumsum_rows(later_t[::-1])
    need_t = np.ascontiguousarray(need[rows].T)  # (m, G)
    xc_t = np.zeros_like(ec_t)
    cols = [np.array([a for a in range(1, full + 1) if not (a >> k) & 1]) for k in range(m)]
    pick = [sub[c].copy() for c in cols]  # (subsets without k, m)
    active_rows = np.searchsorted(-count, -np.arange(width), side="right")
    for j in range(width):
        n = int(active_rows[j])
        zt = zc_t[j, :n].copy()
        erem = ec_t[j, :, :n].copy()
        nd = need_t[:, :n]
        rest_j = later_t[j, :, :n]
        for k in range(m):
            take = np.minimum(erem[k], zt)
            np.minimum(take, nd[k], out=take)
            if cols[k].size:
                room = pick[k] @ erem
                rest = pick[k] @ nd
                rest -= rest_j[cols[k]]
                np.minimum(room, rest, out=room)
                np.minimum(take, zt - room.max(axis=0), out=take)
            np.maximum(take, 0.0, out=take)
            xc_t[j, k, :n] = take
            erem[k] -= take
            zt -= take
            nd[k] -= take
    xr = np.zeros_like(x)
    np.put_along_axis(xr, where[:, None, :], xc_t.transpose(2, 1, 0), axis=2)
    x[rows] += xr
    return x


def solve_site(
    price: FloatArray,
    hours: FloatArray,
    site_cap: FloatArray,
    power: FloatArray,
    window: IntArray,
    energy: FloatArray,
    priority: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """One gateway (arrays (T,) and (m,)): the subset method for a few devices, the flow
    method for more. Returns x (m, T) and y (m,) (x[None] and y[None] of solve_site_lp)."""
    if power.shape[0] <= SUBSET_METHOD_MAX_DEVICES:
        # No limit (inf) next to finite limits: the devices' own sum is the same limit.
        site_cap = np.minimum(np.maximum(site_cap, 0.0), np.maximum(power, 0.0).sum() * hours)
        x, y = solve_site_lp(
            price[None, :], hours[None, :], site_cap[None, :], power[None, :],
            window[None, :], energy[None, :], priority[None, :],
        )  # fmt: skip
        return x[0], y[0]
    return solve_site_flow(price, hours, site_cap, power, window, energy, priority)


def _piece_limits(
    pieces: Sequence[Piece], capacity: Sequence[CapacitySlot], limit: float | None
) -> list[float]:
    """The site power limit (kW) in each piece: the capacity slot that covers it, else
    `limit` (inf when None). Pieces are cut at the slots' edges, so one value holds."""
    slots = sorted(capacity, key=lambda c: c.start)
    starts = [c.start for c in slots]
    out: list[float] = []
    for piece in pieces:
        i = bisect.bisect_right(starts, piece.start) - 1
        if i >= 0 and slots[i].start <= piece.start and piece.end <= slots[i].end:
            out.append(max(slots[i].power_kw, 0.0))
        else:
            out.append(float("inf") if limit is None else max(limit, 0.0))
    return out


def _limit_note(
    delivered: float,
    energy: float,
    own: float,
    alone: float,
    rates: Sequence[float],
    deadline: datetime,
) -> str:
    """Why the site limit held a car back: shared with others, or too low even alone."""
    if delivered >= min(own, energy) * (1.0 - ENERGY_RTOL) - 1e-12:
        return ""
    if rates and max(rates) <= 0.0:
        return (
            f" The gateway's available power is 0 kW until {fmt_time(deadline)}: nothing "
            "can be planned."
        )
    finite = [r for r in rates if r != float("inf")]
    what = _describe_limit(finite)
    if delivered < min(alone, energy) * (1.0 - ENERGY_RTOL) - 1e-12:
        return f" {what} is shared with other devices."
    return f" {what} holds this device back even when it charges alone."


def _describe_limit(rates: Sequence[float]) -> str:
    if rates and min(rates) == max(rates):
        return f"The gateway limit of {rates[0]:g} kW"
    if rates:
        return f"The gateway's available power ({min(rates):g}-{max(rates):g} kW over time)"
    return "The gateway limit"


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
    capacity: Sequence[CapacitySlot] = (),
) -> dict[str, Plan]:
    """Plan the devices of one gateway together (site_limit_kw None: no shared limit;
    `capacity`: slots of available power that replace the limit where they apply).

    Normal devices (and Smart ones without a usable deadline) charge first, as early as
    possible, sharing the limit equally; Smart devices are then planned exactly in what
    is left (see the module docstring); a Smart device that cannot be served by its
    deadline gets the most possible before it and then charges as early as possible.
    """
    if len({r.device for r in requests}) != len(requests):
        raise ValueError("device keys must be unique within a gateway")
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

    cuts = [d for i in smart if (d := requests[i].deadline)]
    cuts += [c.start for c in capacity] + [c.end for c in capacity]
    pieces = split_pieces(ordered, now, cuts)
    hours = [p.hours for p in pieces]
    limit = site_limit_kw
    rates = _piece_limits(pieces, capacity, limit)
    cap = [r * h for r, h in zip(rates, hours, strict=True)]
    site_cap = list(cap)
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
        # Equal deadlines: the order of `requests` decides (callers pass a documented one).
        priority = sorted(range(len(smart)), key=lambda j: (deadlines[j], j))
        x, y = solve_site(
            np.array([p.price for p in pieces]),
            np.array(hours),
            np.array(cap),
            np.array([power[i] for i in smart]),
            np.array(windows, dtype=np.intp),
            np.array([energy[i] for i in smart]),
            np.array(priority, dtype=np.intp),
        )
        short: list[int] = []
        for j, i in enumerate(smart):
            got = x[j].tolist()
            for t, v in enumerate(got):
                cap[t] -= v
            alloc[i] = got
            delivered = float(y[j])
            deadline = requests[i].deadline
            assert deadline is not None
            window = pieces[: windows[j]]
            span = (deadline - now).total_seconds() / 3600.0
            known = sum(p.hours for p in window)
            # Priced up to the deadline (prices may start after now: the lead-in before
            # the first known price is usable time, planned last, see `split_pieces`).
            covered = bool(window) and window[-1].end >= deadline
            own = power[i] * (known if covered else span)
            ok = reached(delivered, energy[i])
            targets[i] = ok
            by_itself = sum(min(power[i] * hours[t], site_cap[t]) for t in range(windows[j]))
            share_note = _limit_note(
                delivered, energy[i], power[i] * known, by_itself, rates[: windows[j]], deadline
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
            needs = [energy[smart[j]] - float(y[j]) for j in short]
            extra = _share_asap(
                [windows[j] for j in short], needs, [power[smart[j]] for j in short], hours, cap
            )
            for j, more in zip(short, extra, strict=True):
                i = smart[j]
                alloc[i] = [a + b for a, b in zip(alloc[i], more, strict=True)]

    sharers = [
        sum(1 for got in alloc.values() if got[t] >= MIN_ENERGY_KWH) for t in range(len(pieces))
    ]
    for i, got in alloc.items():
        # At once, as if alone: the device's power capped by the site's limit in each piece.
        full = [min(power[i], rate) for rate in rates]
        now_alloc = fill_in_order([f * h for f, h in zip(full, hours, strict=True)], energy[i])
        cost_now = known_cost(now_alloc, pieces)
        alone: list[float | None] = [
            f if n <= 1 else None for f, n in zip(full, sharers, strict=True)
        ]
        plans[requests[i].device] = build_plan(
            now, pieces, got, cost_now, targets[i], reasons[i], alone
        )
    return plans
