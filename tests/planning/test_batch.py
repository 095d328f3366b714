"""`plan_many` (vectorised) gives the same plans as `plan_device`."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evcharge.planning import (
    ChargeMode,
    ChargeRequest,
    PriceSlot,
    plan_device,
    plan_many,
    price_arrays,
    request_arrays,
)
from tests.planning.strategies import BASE, Scenario, hourly, price_values, scenarios


def _compare(prices: list[PriceSlot], scenario: Scenario, per_problem: np.ndarray | None) -> None:
    requests = [r for r in scenario.requests if r.mode is not ChargeMode.OFF]
    start, end, price = price_arrays(prices)
    deadline, energy, power, smart = request_arrays(requests)
    table = price if per_problem is None else per_problem
    batch = plan_many(start, end, table, scenario.now, deadline, energy, power, smart)
    for row, request in enumerate(requests):
        row_prices = prices
        if per_problem is not None:
            row_prices = [
                PriceSlot(s.start, s.end, float(p)) for s, p in zip(prices, table[row], strict=True)
            ]
        plan = plan_device(request, row_prices, scenario.now)
        expected = np.zeros(len(prices))
        for s in plan.slots:
            column = int(np.searchsorted(start, s.start.timestamp(), side="right")) - 1
            expected[column] += s.energy_kwh
        np.testing.assert_allclose(batch.energy_kwh[row], expected, rtol=1e-9, atol=1e-9)
        assert batch.delivered_kwh[row] == pytest.approx(plan.energy_kwh, rel=1e-9, abs=1e-9)
        assert batch.estimated_cost[row] == pytest.approx(plan.estimated_cost, rel=1e-9, abs=1e-9)
        assert batch.cost_if_immediate[row] == pytest.approx(
            plan.cost_if_immediate, rel=1e-9, abs=1e-9
        )
        assert bool(batch.target_reached[row]) == plan.target_reached


@settings(max_examples=150, deadline=None)
@given(scenario=scenarios(max_devices=6, limited=False))
def test_plan_many_matches_plan_device_with_shared_prices(scenario: Scenario) -> None:
    _compare(scenario.prices, scenario, None)


@settings(max_examples=100, deadline=None)
@given(scenario=scenarios(max_devices=4, limited=False), data=st.data())
def test_plan_many_matches_plan_device_with_prices_per_problem(
    scenario: Scenario, data: st.DataObject
) -> None:
    rows = [
        data.draw(
            st.lists(price_values, min_size=len(scenario.prices), max_size=len(scenario.prices))
        )
        for _ in scenario.requests
    ]
    _compare(scenario.prices, scenario, np.array(rows, dtype=np.float64))


def test_plan_many_rejects_off_requests() -> None:
    with pytest.raises(ValueError, match="OFF"):
        request_arrays([ChargeRequest("ev", ChargeMode.OFF, 1.0)])


def test_plan_many_handles_a_large_batch_like_the_loop() -> None:
    prices = hourly([0.1 * ((i * 7) % 5) - 0.1 for i in range(48)])
    start, end, price = price_arrays(prices)
    n = 5000
    rng = np.random.default_rng(7)
    energy = rng.uniform(0, 60, n)
    power = rng.choice([3.7, 11.0, 22.0], n)
    deadline = start[0] + rng.uniform(-3600, 50 * 3600, n)
    smart = rng.random(n) < 0.8
    batch = plan_many(start, end, price, start[0], deadline, energy, power, smart)
    for row in range(0, n, 250):
        request = ChargeRequest(
            "ev",
            ChargeMode.SMART if smart[row] else ChargeMode.NORMAL,
            float(energy[row]),
            float(power[row]),
            BASE + timedelta(seconds=float(deadline[row] - start[0])),
        )
        plan = plan_device(request, prices, BASE)
        assert batch.estimated_cost[row] == pytest.approx(plan.estimated_cost, rel=1e-9, abs=1e-9)
        assert bool(batch.target_reached[row]) == plan.target_reached
