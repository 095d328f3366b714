"""Exact site plan for any number of devices: polynomial, one gateway at a time.

Same model as `site.py` (pieces t with price p_t, length h_t, site energy cap c_t; device k
may draw up to P_k h_t in each of its first w_k pieces; deliver y_k <= E_k):

Stage A (how much, lexicographic in priority order). Devices are taken in priority
order (earliest deadline first). Every later device can use every piece of the current
device's window (windows are prefixes of the pieces), so what the current device leaves
matters to any later set of devices A only through sum_t h_t min(rho_t, P(A)), rho_t the
residual site rate of piece t. The device takes y_k = min(E_k, sum_t min(P_k h_t, r_t)),
as much as it can, and takes it by *top-levelling*: the residual rates are lowered from
the top (rho' = max(rho - P_k, min(rho, lambda))). That leaves, for every threshold q at
once, the most sum_t h_t min(rho'_t, q) possible, hence the largest residual polymatroid,
hence the greedy's lexicographic maximum in priority order (docs/planner.md).

Stage B (at least cost, y fixed). The piece totals z that can be routed form a
polymatroid; the greedy over pieces by increasing price (ties: earlier piece) gives the
cheapest base. It is computed as a max flow grown piece by piece: each new piece is
filled first directly from devices that still have energy to place, then by augmenting
paths (a device moves energy from an earlier-chosen piece into the new one and another
device takes its place there) until no augmenting path exists. This is the successive
shortest path method for this network (costs sit on the pieces only, so the shortest
path to the cheapest unfilled piece is any path), exact by max-flow min-cut.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

_EPS = 1e-12


def _level_take(rate: FloatArray, hours: FloatArray, power: float, take: float) -> FloatArray:
    """Energies per piece that remove `take` from the residual rates `rate` (kW) by
    lowering them from the top, at most `power` per piece: h clip(rate - lam, 0, power)."""
    if take <= 0.0 or rate.size == 0:
        return np.zeros_like(rate)
    full = hours * np.clip(rate, 0.0, power)
    if take >= float(full.sum()) * (1.0 - 1e-15):
        return full
    # given(lam) = sum_t h_t clip(rate_t - lam, 0, power) is decreasing and piecewise
    # linear: its slope is -(hours of the pieces with rate - power < lam < rate).
    at = np.concatenate([rate - power, rate])
    step = np.concatenate([hours, -hours])
    order = np.argsort(at, kind="stable")
    at, slope = at[order], np.cumsum(step[order])
    width = np.diff(at)
    given = np.concatenate([np.cumsum((slope[:-1] * width)[::-1])[::-1], [0.0]])
    i = int(np.searchsorted(-given, -take, side="left"))  # first point with given <= take
    i = min(max(i, 1), at.size - 1)
    lo, hi, g_lo, g_hi = at[i - 1], at[i], given[i - 1], given[i]
    lam = lo if g_lo == g_hi else lo + (hi - lo) * (g_lo - take) / (g_lo - g_hi)
    out = hours * np.clip(rate - lam, 0.0, power)
    # Remove the float residue so exactly `take` is taken.
    total = float(out.sum())
    if total > 0.0:
        out *= take / total
    result: FloatArray = np.minimum(out, full)
    return result


def lexicographic_energy(
    hours: FloatArray,
    site_cap: FloatArray,
    power: FloatArray,
    window: IntArray,
    energy: FloatArray,
    priority: IntArray,
) -> FloatArray:
    """Stage A: the energies y (lexicographically maximal in `priority` order)."""
    residual = np.maximum(site_cap, 0.0).astype(np.float64)
    y = np.zeros(power.shape[0])
    for k in priority:
        w = int(window[k])
        p = max(float(power[k]), 0.0)
        if w <= 0 or p <= 0.0 or energy[k] <= 0.0:
            continue
        h = hours[:w]
        rate = residual[:w] / h
        avail = float((h * np.minimum(rate, p)).sum())
        take = min(float(energy[k]), avail)
        x = _level_take(rate, h, p, take)
        residual[:w] = np.maximum(residual[:w] - x, 0.0)
        y[k] = float(x.sum())
    return y


class _Flow:
    """The flow of Stage B: x[k, t] energy of device k in piece t."""

    def __init__(self, cap: FloatArray, site_cap: FloatArray, supply: FloatArray) -> None:
        self.cap = cap
        self.x = np.zeros_like(cap)
        self.site = site_cap.copy()
        self.spare = supply.copy()
        self.chosen = np.zeros(cap.shape[1], dtype=bool)
        # Kept up to date by every change of x: may device k still add to piece t; does
        # it draw from a chosen piece t (so it could move that energy elsewhere).
        self.room = cap > _EPS
        self.has = np.zeros_like(self.room)

    def fill(self, t: int, order: IntArray) -> None:
        """Put as much as possible into piece t (then t is one of the chosen pieces)."""
        self.chosen[t] = True
        slack = float(self.site[t])
        if slack <= _EPS:
            return
        # Direct: devices with energy still to place, in priority order.
        room = self.cap[order, t] - self.x[order, t]
        give = np.minimum(np.maximum(self.spare[order], 0.0), np.maximum(room, 0.0))
        before = np.cumsum(give) - give
        give = np.clip(slack - before, 0.0, give)
        self.x[order, t] += give
        self.spare[order] -= give
        self.room[:, t] = (self.cap[:, t] - self.x[:, t]) > _EPS
        self.has[:, t] = self.x[:, t] > _EPS
        slack -= float(give.sum())
        while slack > _EPS * max(1.0, float(self.site[t])):
            tree = self._tree(t)
            if tree is None:
                break
            # Every device with energy to place in the last layer of the search tree
            # pushes along its tree path; paths that share their tail are pushed together.
            ends, via_piece, via_device = tree
            moved = 0.0
            for first in dict.fromkeys(via_piece[ends].tolist()):
                if slack <= _EPS:
                    break
                tail = self._trace(first, t, via_piece, via_device)
                limit = min(slack, self._bottleneck(tail))
                if limit <= 0.0:
                    continue
                ks = ends[via_piece[ends] == first]
                give = np.minimum(self.spare[ks], self.cap[ks, first] - self.x[ks, first])
                give = np.maximum(give, 0.0)
                before = np.cumsum(give) - give
                give = np.clip(limit - before, 0.0, give)
                total = float(give.sum())
                if total <= 0.0:
                    continue
                self.spare[ks] -= give
                self.x[ks, first] += give
                self.room[ks, first] = (self.cap[ks, first] - self.x[ks, first]) > _EPS
                self.has[ks, first] = self.x[ks, first] > _EPS
                for k, source, target in tail:
                    self._add(k, source, -total)
                    self._add(k, target, total)
                slack -= total
                moved += total
            if moved <= 0.0:
                break
        self.site[t] = max(slack, 0.0)

    def _tree(self, t: int) -> tuple[IntArray, IntArray, IntArray] | None:
        """Breadth-first search backwards from piece t for devices with energy to place:
        (those devices, device -> piece it pushes into, piece -> device leaving it)."""
        m, t_count = self.cap.shape
        room, has = self.room, self.has
        spare = self.spare > _EPS
        via_piece = np.full(m, -1)
        via_device = np.full(t_count, -1)
        frontier = room[:, t].copy()
        via_piece[frontier] = t
        seen_dev = frontier.copy()
        seen_piece = np.zeros(t_count, dtype=bool)
        seen_piece[t] = True
        while frontier.any():
            found = np.flatnonzero(frontier & spare)
            if found.size:
                return found, via_piece, via_device
            rows = np.flatnonzero(frontier)
            sub = has[rows]
            pieces = sub.any(axis=0) & ~seen_piece
            if not pieces.any():
                return None
            cols = np.flatnonzero(pieces)
            via_device[cols] = rows[np.argmax(sub[:, cols], axis=0)]
            seen_piece[cols] = True
            reach = room[:, cols]
            new = reach.any(axis=1) & ~seen_dev
            new_rows = np.flatnonzero(new)
            via_piece[new_rows] = cols[np.argmax(reach[new_rows], axis=1)]
            seen_dev |= new
            frontier = new
        return None

    @staticmethod
    def _trace(
        piece: int, t: int, via_piece: IntArray, via_device: IntArray
    ) -> list[tuple[int, int, int]]:
        """The tree path from `piece` to t: (device, from piece, to piece) moves."""
        moves: list[tuple[int, int, int]] = []
        while piece != t:
            k = int(via_device[piece])
            target = int(via_piece[k])
            moves.append((k, piece, target))
            piece = target
        return moves

    def _bottleneck(self, moves: list[tuple[int, int, int]]) -> float:
        amount = float("inf")
        for k, source, target in moves:
            amount = min(
                amount, float(self.x[k, source]), float(self.cap[k, target] - self.x[k, target])
            )
        return amount

    def _add(self, k: int, t: int, amount: float) -> None:
        value = self.x[k, t] + amount
        self.x[k, t] = value
        self.room[k, t] = self.cap[k, t] - value > _EPS
        self.has[k, t] = value > _EPS


def cheapest_flow(
    price: FloatArray,
    hours: FloatArray,
    site_cap: FloatArray,
    power: FloatArray,
    window: IntArray,
    y: FloatArray,
    priority: IntArray,
) -> FloatArray:
    """Stage B: x (m, T) delivering y at the least cost within the limits."""
    m, t_count = power.shape[0], price.shape[0]
    active = np.arange(t_count)[None, :] < window[:, None]
    cap = np.where(active, np.maximum(power, 0.0)[:, None] * hours[None, :], 0.0)
    flow = _Flow(cap, np.maximum(site_cap, 0.0).astype(np.float64), y.astype(np.float64))
    for t in np.argsort(price, kind="stable"):
        if not flow.spare.any():
            break
        if flow.spare.max() <= _EPS:
            break
        flow.fill(int(t), priority)
    del m
    return flow.x


def solve_site_flow(
    price: FloatArray,
    hours: FloatArray,
    site_cap: FloatArray,
    power: FloatArray,
    window: IntArray,
    energy: FloatArray,
    priority: IntArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """One gateway: price, hours, site_cap (T,), power, window, energy (m,). Returns x (m, T)
    and y (m,): y lexicographically maximal in priority order, x at the least cost."""
    if priority is None:
        priority = np.argsort(window, kind="stable")
    m, t_count = power.shape[0], price.shape[0]
    if t_count == 0 or m == 0:
        return np.zeros((m, t_count)), np.zeros(m)
    window = np.minimum(np.maximum(window, 0), t_count).astype(np.intp)
    energy = np.maximum(energy, 0.0)
    # No limit (inf) or one above what all devices together can draw: the devices' sum.
    site_cap = np.minimum(np.maximum(site_cap, 0.0), np.maximum(power, 0.0).sum() * hours)
    # Neighbouring pieces with the same price and limit rate and no deadline between them
    # are one piece to the optimisation (a device's caps scale with the length too);
    # its energies are split back in proportion to length.
    rate = site_cap / hours
    boundary = np.zeros(t_count, dtype=bool)
    boundary[0] = True
    boundary[1:] = (price[1:] != price[:-1]) | (rate[1:] != rate[:-1])
    ends = window[(window > 0) & (window < t_count)]
    boundary[ends] = True
    group = np.cumsum(boundary) - 1
    starts = np.flatnonzero(boundary)
    g_hours = np.add.reduceat(hours, starts)
    g_cap = np.add.reduceat(site_cap, starts)
    g_window = np.searchsorted(starts, window, side="left").astype(np.intp)
    y = lexicographic_energy(g_hours, g_cap, power, g_window, energy, priority)
    gx = cheapest_flow(price[starts], g_hours, g_cap, power, g_window, y, priority)
    x = gx[:, group] * (hours / g_hours[group])[None, :]
    return x, x.sum(axis=1)
