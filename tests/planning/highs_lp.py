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


def _run(h: highspy.Highs) -> None:
    """Solve; a long lexicographic sequence of warm starts can leave HiGHS in a state it
    cannot finish from (status not optimal): then solve the same model from scratch."""
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        h.clearSolver()
        h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(
        h.getModelStatus()
    )


def _run_relaxing(h: highspy.Highs, floors: dict[int, float], energy: FloatArray) -> None:
    """Solve; if the kept optima (row lower bounds) have become infeasible within
    HiGHS's tolerances, lower them by 1e-8 relative, then 1e-7, and solve again."""
    h.run()
    for relax in (1e-8, 1e-7):
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            return
        h.clearSolver()
        for row, floor in floors.items():
            h.changeRowBounds(row, max(0.0, floor - relax * max(1.0, floor)), float(energy[row]))
        h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(
        h.getModelStatus()
    )


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
    maximise_total: bool = False,
) -> LpResult:
    """x[k, t] >= 0 for t < window[k], x[k, t] <= power[k] hours[t],
    sum_k x[k, t] <= site_cap[t] (skipped when inf), sum_t x[k, t] <= energy[k].

    First maximise each device's energy in `priority` order (earlier results kept as
    lower bounds), then minimise sum p_t x[k, t]. With `assume_feasible`, a single LP with
    sum_t x[k, t] = energy[k] is solved instead (it must be optimal). With
    `maximise_total`, only the most energy all devices can get together is computed
    (returned as delivered[0])."""
    p = np.asarray(price, dtype=np.float64)
    hrs = np.asarray(hours, dtype=np.float64)
    cap = np.asarray(site_cap, dtype=np.float64)
    pw = np.asarray(power, dtype=np.float64)
    e = np.asarray(energy, dtype=np.float64)
    m, t_count = pw.shape[0], p.shape[0]
    win = np.asarray(window, dtype=np.int64)
    dev = np.repeat(np.arange(m, dtype=np.int32), win)
    slot = np.concatenate([np.arange(w, dtype=np.int32) for w in win]) if m else dev
    n = int(dev.size)
    if n == 0:
        return LpResult(np.zeros(m), 0.0, np.zeros((m, t_count)))
    h = _new()
    h.addVars(n, np.zeros(n), pw[dev] * hrs[slot])
    # device rows (columns are grouped by device): 0 <= sum_t x[k, t] <= energy[k]
    starts = np.concatenate([[0], np.cumsum(win)[:-1]]).astype(np.int32)
    lower = e.copy() if assume_feasible else np.zeros(m)
    h.addRows(m, lower, e, n, starts, np.arange(n, dtype=np.int32), np.ones(n))
    dev_rows = list(range(m))
    # site rows: sum_k x[k, t] <= site_cap[t]
    finite = np.isfinite(cap)
    if finite.any():
        keep = finite[slot]
        order = np.argsort(slot, kind="stable")
        order = order[keep[order]].astype(np.int32)
        rows = np.flatnonzero(finite)
        counts = np.bincount(slot[order], minlength=t_count)[rows]
        row_starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
        h.addRows(
            rows.size, np.zeros(rows.size), cap[rows], order.size, row_starts, order,
            np.ones(order.size),
        )  # fmt: skip
    all_idx = np.arange(n, dtype=np.int32)
    floors: dict[int, float] = {}
    if maximise_total:
        h.changeColsCost(n, all_idx, -np.ones(n))
        _run(h)
        total = -float(h.getInfo().objective_function_value)
        return LpResult(np.array([total]), 0.0, np.zeros((m, t_count)))
    if not assume_feasible:
        for k in priority:
            cost = np.where(dev == k, -1.0, 0.0)
            h.changeColsCost(n, all_idx, cost)
            _run_relaxing(h, floors, e)
            best = -h.getInfo().objective_function_value
            # Kept as a lower bound, a hair below the optimum (the solver's own tolerance).
            floors[int(k)] = max(0.0, best - 1e-9 * max(1.0, best))
            h.changeRowBounds(dev_rows[int(k)], floors[int(k)], float(e[int(k)]))
    h.changeColsCost(n, all_idx, p[slot])
    _run_relaxing(h, floors, e)
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
