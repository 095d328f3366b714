"""Reference: the planner's problems written as plain LPs and solved by HiGHS.

Shared by the property tests and by `bench/planner` (HiGHS is a dev dependency only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LpResult:
    delivered: FloatArray  # (m,) energy per device
    cost: float
    x: FloatArray  # (m, T)


def _new() -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def solve_site_lexicographic(
    price: Sequence[float] | FloatArray,
    hours: Sequence[float] | FloatArray,
    site_cap: Sequence[float] | FloatArray,
    power: Sequence[float] | FloatArray,
    window: Sequence[int] | NDArray[np.intp],
    energy: Sequence[float] | FloatArray,
    priority: Sequence[int] | NDArray[np.intp],
    assume_feasible: bool = False,
) -> LpResult:
    """x[k, t] >= 0 for t < window[k], x[k, t] <= power[k] hours[t],
    sum_k x[k, t] <= site_cap[t] (skipped when inf), sum_t x[k, t] <= energy[k].

    First maximise each device's energy in `priority` order (earlier results kept as
    lower bounds), then minimise sum p_t x[k, t]. With `assume_feasible`, a single LP with
    sum_t x[k, t] = energy[k] is solved instead (it must be optimal)."""
    p = np.asarray(price, dtype=np.float64)
    hrs = np.asarray(hours, dtype=np.float64)
    cap = np.asarray(site_cap, dtype=np.float64)
    pw = np.asarray(power, dtype=np.float64)
    e = np.asarray(energy, dtype=np.float64)
    m, t_count = pw.shape[0], p.shape[0]
    cols: list[tuple[int, int]] = [(k, t) for k in range(m) for t in range(int(window[k]))]
    n = len(cols)
    if n == 0:
        return LpResult(np.zeros(m), 0.0, np.zeros((m, t_count)))
    dev = np.array([k for k, _ in cols], dtype=np.int32)
    slot = np.array([t for _, t in cols], dtype=np.int32)
    h = _new()
    h.addVars(n, np.zeros(n), pw[dev] * hrs[slot] if n else np.zeros(0))
    # device rows
    dev_rows: list[int] = []
    for k in range(m):
        idx = np.flatnonzero(dev == k).astype(np.int32)
        lower = e[k] if assume_feasible else 0.0
        h.addRow(lower, e[k], idx.size, idx, np.ones(idx.size))
        dev_rows.append(k)
    for t in range(t_count):
        if not np.isfinite(cap[t]):
            continue
        idx = np.flatnonzero(slot == t).astype(np.int32)
        if idx.size:
            h.addRow(0.0, cap[t], idx.size, idx, np.ones(idx.size))
    all_idx = np.arange(n, dtype=np.int32)
    if not assume_feasible:
        for k in priority:
            cost = np.where(dev == k, -1.0, 0.0)
            h.changeColsCost(n, all_idx, cost)
            h.run()
            assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
            best = -h.getInfo().objective_function_value
            floor = max(0.0, best - 1e-9 * max(1.0, best))
            h.changeRowBounds(dev_rows[int(k)], floor, float(e[int(k)]))
    h.changeColsCost(n, all_idx, p[slot] if n else np.zeros(0))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    values = np.asarray(h.getSolution().col_value, dtype=np.float64)
    x = np.zeros((m, t_count))
    if n:
        x[dev, slot] = values
    return LpResult(x.sum(axis=1), float(h.getInfo().objective_function_value), x)


def solve_single(price: FloatArray, caps: FloatArray, energy: float) -> float:
    """min p.x, sum x = energy, 0 <= x <= caps (energy must be feasible); returns the cost."""
    n = price.shape[0]
    h = _new()
    h.addVars(n, np.zeros(n), caps)
    idx = np.arange(n, dtype=np.int32)
    h.addRow(energy, energy, n, idx, np.ones(n))
    h.changeColsCost(n, idx, price)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value)
