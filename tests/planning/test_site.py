"""Devices sharing a gateway limit: limits, delivery, and optimality against HiGHS."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings

from evcharge.planning import (
    CapacitySlot,
    ChargeMode,
    ChargeRequest,
    Plan,
    PriceSlot,
    plan_device,
    plan_site,
    solve_site_flow,
    solve_site_lp,
)
from tests.planning.highs_lp import solve_site_lexicographic
from tests.planning.strategies import (
    BASE,
    Scenario,
    close,
    hourly,
    plan_cost_by,
    plan_energy_by,
    scenarios,
)

H = timedelta(hours=1)


def _power_at(plans: dict[str, Plan], moment: datetime) -> float:
    return sum(
        s.power_kw for plan in plans.values() for s in plan.slots if s.start <= moment < s.end
    )


def _check_limits(scenario: Scenario, plans: dict[str, Plan]) -> None:
    moments = {s.start for p in plans.values() for s in p.slots}
    for request in scenario.requests:
        for s in plans[request.device].slots:
            assert s.energy_kwh > 0.0
            assert s.start >= scenario.now
            assert s.power_kw <= request.max_power_kw * (1 + 1e-9)
    for moment in moments:
        limit = scenario.limit_at(moment)
        if limit is not None:
            assert _power_at(plans, moment) <= limit * (1 + 1e-9) + 1e-9


def _is_smart(request: ChargeRequest, now: datetime) -> bool:
    return (
        request.mode is ChargeMode.SMART
        and request.smart_active
        and request.deadline is not None
        and request.deadline > now
        and request.energy_kwh >= 1e-9
    )


def _reference(
    scenario: Scenario, plans: dict[str, Plan]
) -> tuple[list[ChargeRequest], list[float], float, float]:
    """The lexicographic LP of the Smart devices, written independently: pieces split at
    now, slot ends and Smart deadlines, site capacity minus what the Normal devices'
    plans use; returns (Smart requests, delivered by deadline, cost, cost scale)."""
    now = scenario.now
    smart = [r for r in scenario.requests if _is_smart(r, now)]
    normal = [
        r for r in scenario.requests if not _is_smart(r, now) and r.mode is not ChargeMode.OFF
    ]
    bounds = {now} | {r.deadline for r in smart if r.deadline is not None}
    bounds |= {p.start for p in scenario.prices} | {p.end for p in scenario.prices}
    bounds |= {c.start for c in scenario.capacity} | {c.end for c in scenario.capacity}
    cuts = sorted(b for b in bounds if b >= now)
    pieces: list[tuple[datetime, datetime, float]] = []
    # Time before the first known price is usable but unpriced: ranked dearer than any
    # known price (any such rank gives the same optimum), its cost left out below.
    first = min((p.start for p in scenario.prices if p.end > now), default=now)
    dearest = max(p.price for p in scenario.prices) + 1.0
    for lo, hi in itertools.pairwise(cuts):
        price = [p.price for p in scenario.prices if p.start <= lo and hi <= p.end]
        if price:
            pieces.append((lo, hi, price[0]))
        elif hi <= first:
            pieces.append((lo, hi, dearest))
    hours = np.array([(b - a).total_seconds() / 3600 for a, b, _ in pieces])
    price_arr = np.array([p for *_, p in pieces])
    limits = [scenario.limit_at(a) for a, _, _ in pieces]
    limit = np.array([np.inf if v is None else v for v in limits])
    used = {a: 0.0 for a, _, _ in pieces}
    for r in normal:
        for slot in plans[r.device].slots:
            # A slot starts on a piece (KeyError if not) and ends at or before its end.
            used[slot.start] += slot.energy_kwh
    cap = np.maximum(limit * hours - np.array([used[a] for a, _, _ in pieces]), 0.0)
    windows = [
        sum(1 for _, b, _ in pieces if r.deadline is not None and b <= r.deadline) for r in smart
    ]
    order = sorted(range(len(smart)), key=lambda j: (smart[j].deadline, j))
    result = solve_site_lexicographic(
        price_arr,
        hours,
        cap,
        [max(r.max_power_kw, 0.0) for r in smart],
        windows,
        [r.energy_kwh for r in smart],
        order,
    )
    known = np.array([hi > first for _, hi, _ in pieces], dtype=bool)
    spent = result.x.sum(axis=0) * price_arr if pieces else np.zeros(0)
    scale = float(np.abs(spent).sum()) if pieces else 0.0
    return smart, result.delivered.tolist(), float(spent[known].sum()), scale


def _check_against_highs(scenario: Scenario, plans: dict[str, Plan]) -> None:
    smart, delivered, cost, scale = _reference(scenario, plans)
    ours = 0.0
    for request, best in zip(smart, delivered, strict=True):
        plan = plans[request.device]
        got = plan_energy_by(plan, request.deadline)
        assert got == pytest.approx(best, rel=1e-6, abs=1e-6)
        ours += plan_cost_by(plan, request.deadline)
        feasible = best >= request.energy_kwh * (1 - 1e-7) - 1e-7
        if feasible:  # delivers the energy whenever that is feasible
            # (abs as above: a request of a few micro-kWh split over many pieces is float dust)
            assert got == pytest.approx(request.energy_kwh, rel=1e-7, abs=1e-6)
        else:  # says which car falls short
            assert not plan.target_reached
            assert plan.reason is not None
            assert "missing" in plan.reason or "to plan" in plan.reason
    assert close(ours, cost, scale)


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios())
def test_plan_never_exceeds_device_or_gateway_limit(scenario: Scenario) -> None:
    plans = plan_site(
        scenario.requests, scenario.prices, scenario.now, scenario.limit, scenario.capacity
    )
    assert set(plans) == {r.device for r in scenario.requests}
    _check_limits(scenario, plans)


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios(smart_only=True))
def test_gateway_plan_cost_equals_highs_lexicographic_optimum(scenario: Scenario) -> None:
    plans = plan_site(
        scenario.requests, scenario.prices, scenario.now, scenario.limit, scenario.capacity
    )
    _check_limits(scenario, plans)
    _check_against_highs(scenario, plans)


@settings(max_examples=150, deadline=None)
@given(scenario=scenarios(limited=True))
def test_smart_devices_are_optimal_in_what_normal_devices_leave(scenario: Scenario) -> None:
    plans = plan_site(
        scenario.requests, scenario.prices, scenario.now, scenario.limit, scenario.capacity
    )
    _check_limits(scenario, plans)
    _check_against_highs(scenario, plans)


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios(max_devices=50, smart_only=True, real_sites=True))
def test_real_sites_with_up_to_50_cars_are_lexicographically_optimal(scenario: Scenario) -> None:
    """Any number of devices (the flow method above 6), a capacity that varies, mixed slot
    lengths, prices that start after now, deadlines inside slots: HiGHS agrees."""
    plans = plan_site(
        scenario.requests, scenario.prices, scenario.now, scenario.limit, scenario.capacity
    )
    _check_limits(scenario, plans)
    _check_against_highs(scenario, plans)


@settings(max_examples=40, deadline=None)
@given(scenario=scenarios(max_devices=50, real_sites=True, limited=True))
def test_real_sites_with_normal_cars_stay_within_every_limit(scenario: Scenario) -> None:
    plans = plan_site(
        scenario.requests, scenario.prices, scenario.now, scenario.limit, scenario.capacity
    )
    _check_limits(scenario, plans)
    _check_against_highs(scenario, plans)


@settings(max_examples=150, deadline=None)
@given(scenario=scenarios(max_devices=1, limited=False))
def test_single_device_site_plan_equals_device_plan(scenario: Scenario) -> None:
    request = scenario.requests[0]
    site = plan_site([request], scenario.prices, scenario.now, None)[request.device]
    alone = plan_device(request, scenario.prices, scenario.now)
    assert site.target_reached == alone.target_reached
    assert [s.start for s in site.slots] == [s.start for s in alone.slots]
    for a, b in zip(site.slots, alone.slots, strict=True):  # ends are whole microseconds
        assert abs(a.end - b.end) <= timedelta(microseconds=1)
    for a, b in zip(site.slots, alone.slots, strict=True):
        assert a.energy_kwh == pytest.approx(b.energy_kwh, rel=1e-9, abs=1e-9)
    assert site.estimated_cost == pytest.approx(alone.estimated_cost, rel=1e-9, abs=1e-9)
    assert site.cost_if_immediate == pytest.approx(alone.cost_if_immediate, rel=1e-9, abs=1e-9)


def test_two_cars_share_the_cheap_hours_within_the_limit() -> None:
    prices = hourly([0.30, 0.05, 0.06, 0.40, 0.40, 0.40])
    cars = [
        ChargeRequest("a", ChargeMode.SMART, 11.0, 11.0, BASE + 6 * H),
        ChargeRequest("b", ChargeMode.SMART, 11.0, 11.0, BASE + 6 * H),
    ]
    plans = plan_site(cars, prices, BASE, 11.0)
    total = {s.start: 0.0 for p in plans.values() for s in p.slots}
    for p in plans.values():
        for s in p.slots:
            total[s.start] += s.energy_kwh
    assert total == {BASE + H: pytest.approx(11.0), BASE + 2 * H: pytest.approx(11.0)}
    assert all(p.target_reached for p in plans.values())
    assert sum(p.estimated_cost for p in plans.values()) == pytest.approx(11 * 0.05 + 11 * 0.06)


def test_earlier_deadline_is_served_first_when_the_limit_is_too_low() -> None:
    prices = hourly([0.1, 0.1, 0.1, 0.1])
    cars = [
        ChargeRequest("late", ChargeMode.SMART, 30.0, 11.0, BASE + 4 * H),
        ChargeRequest("early", ChargeMode.SMART, 20.0, 11.0, BASE + 2 * H),
    ]
    plans = plan_site(cars, prices, BASE, 11.0)
    assert plans["early"].target_reached
    assert plan_energy_by(plans["early"], BASE + 2 * H) == pytest.approx(20.0)
    late = plans["late"]
    assert not late.target_reached
    assert late.reason is not None
    assert "6.00 kWh missing" in late.reason
    assert "gateway limit of 11 kW" in late.reason


def test_normal_devices_charge_first_and_smart_ones_use_what_is_left() -> None:
    prices = hourly([0.30, 0.05, 0.05, 0.20])
    cars = [
        ChargeRequest("now", ChargeMode.NORMAL, 16.0, 8.0),
        ChargeRequest("smart", ChargeMode.SMART, 8.0, 11.0, BASE + 4 * H),
    ]
    plans = plan_site(cars, prices, BASE, 10.0)
    assert [(s.start, s.power_kw) for s in plans["now"].slots] == [
        (BASE, pytest.approx(8.0)),
        (BASE + H, pytest.approx(8.0)),
    ]
    smart = plans["smart"].slots
    assert [(s.start, s.energy_kwh) for s in smart] == [
        (BASE + H, pytest.approx(2.0)),
        (BASE + 2 * H, pytest.approx(6.0)),
    ]


def test_normal_devices_share_the_limit_equally() -> None:
    cars = [
        ChargeRequest("a", ChargeMode.NORMAL, 30.0, 11.0),
        ChargeRequest("b", ChargeMode.NORMAL, 30.0, 3.0),
        ChargeRequest("c", ChargeMode.NORMAL, 30.0, 11.0),
    ]
    plans = plan_site(cars, hourly([0.1]), BASE, 15.0)
    assert plans["b"].slots[0].power_kw == pytest.approx(3.0)
    assert plans["a"].slots[0].power_kw == pytest.approx(6.0)
    assert plans["c"].slots[0].power_kw == pytest.approx(6.0)


def test_off_devices_take_no_share() -> None:
    cars = [
        ChargeRequest("off", ChargeMode.OFF, 30.0, 11.0),
        ChargeRequest("on", ChargeMode.NORMAL, 5.0, 11.0),
    ]
    plans = plan_site(cars, hourly([0.1, 0.2]), BASE, 11.0)
    assert plans["off"].slots == ()
    assert plans["on"].energy_kwh == pytest.approx(5.0)


def test_site_core_solves_gateways_independently_in_one_call() -> None:
    rng = np.random.default_rng(3)
    g_count, t_count, m = 40, 24, 3
    price = rng.normal(0.1, 0.1, (g_count, t_count))
    hours = np.ones((g_count, t_count))
    cap = rng.uniform(5, 30, (g_count, 1)) * hours
    power = rng.choice([3.7, 11.0, 22.0], (g_count, m))
    window = rng.integers(1, t_count + 1, (g_count, m))
    energy = rng.uniform(0, 80, (g_count, m))
    x, y = solve_site_lp(price, hours, cap, power, window, energy)
    for g in range(g_count):
        order = np.argsort(window[g], kind="stable")
        ref = solve_site_lexicographic(
            price[g], hours[g], cap[g], power[g], window[g], energy[g], order
        )
        np.testing.assert_allclose(y[g], ref.delivered, rtol=1e-6, atol=1e-6)
        ours = float((x[g].sum(axis=0) * price[g]).sum())
        assert close(ours, ref.cost, float(np.abs(price[g]).max() * energy[g].sum()))


def test_prices_must_be_sorted_or_are_sorted() -> None:
    prices = hourly([0.3, 0.1])
    shuffled: list[PriceSlot] = [prices[1], prices[0]]
    request = ChargeRequest("a", ChargeMode.SMART, 5.0, 11.0, BASE + 2 * H)
    assert plan_site([request], shuffled, BASE, None)["a"].slots[0].start == BASE + H


def test_duplicate_device_keys_are_rejected() -> None:
    car = ChargeRequest("a", ChargeMode.NORMAL, 5.0)
    with pytest.raises(ValueError, match="unique"):
        plan_site([car, car], hourly([0.1]), BASE, None)


def test_without_known_prices_a_site_plans_nothing_and_says_why() -> None:
    cars = [
        ChargeRequest("smart", ChargeMode.SMART, 10.0, 11.0, BASE + 6 * H),
        ChargeRequest("normal", ChargeMode.NORMAL, 10.0, 11.0),
    ]
    plans = plan_site(cars, [], BASE, 11.0)
    for plan in plans.values():
        assert plan.slots == ()
        assert not plan.target_reached
        assert plan.reason is not None


def test_a_device_stronger_than_the_site_alone_is_not_told_the_limit_is_shared() -> None:
    prices = hourly([0.1, 0.1])
    car = ChargeRequest("big", ChargeMode.SMART, 30.0, 22.0, BASE + 2 * H)
    plan = plan_site([car], prices, BASE, 11.0)["big"]
    assert not plan.target_reached
    assert plan.reason is not None
    assert "shared" not in plan.reason
    assert "even when it charges alone" in plan.reason


def test_prices_from_the_next_full_hour_count_as_known_up_to_the_deadline() -> None:
    now = BASE - timedelta(minutes=20)  # prices start at the next full hour
    prices = hourly([0.3, 0.1, 0.2, 0.3])
    cars = [ChargeRequest(f"ev{i}", ChargeMode.SMART, 20.0, 11.0, BASE + 3 * H) for i in range(8)]
    plans = plan_site(cars, prices, now, 40.0)
    for plan in plans.values():
        assert plan.reason is None or "not known for the whole time" not in plan.reason
    short = [p for p in plans.values() if not p.target_reached]
    assert short  # 160 kWh cannot fit in 3 h 20 min at 40 kW
    # The 20 minutes before the first price are used: the site is full from now.
    lead_in = sum(s.energy_kwh for p in plans.values() for s in p.slots if s.start < BASE)
    assert lead_in == pytest.approx(40.0 / 3)
    for plan in plans.values():
        for s in plan.slots:
            assert (s.price is None) == (s.start < BASE)
        if any(s.price is None for s in plan.slots):
            assert "before the first known price" in (plan.reason or "")


def test_the_lead_in_before_the_first_price_is_used_only_when_priced_time_is_short() -> None:
    now = BASE - timedelta(minutes=30)
    prices = hourly([0.3, 0.1])
    enough = ChargeRequest("a", ChargeMode.SMART, 10.0, 11.0, BASE + 2 * H)
    plan = plan_site([enough], prices, now, None)["a"]
    assert plan.target_reached and plan.reason is None
    assert all(s.start >= BASE + H for s in plan.slots[:1])  # the cheap hour first
    assert plan.estimated_cost == pytest.approx(10.0 * 0.1)
    tight = ChargeRequest("b", ChargeMode.SMART, 25.0, 11.0, BASE + 2 * H)
    plan = plan_site([tight], prices, now, None)["b"]
    assert plan.target_reached
    early = [s for s in plan.slots if s.start < BASE]
    assert early and early[0].price is None
    assert sum(s.energy_kwh for s in early) == pytest.approx(3.0)
    assert plan.estimated_cost == pytest.approx(11.0 * 0.3 + 11.0 * 0.1)
    assert "3.00 kWh planned before the first known price" in (plan.reason or "")


def test_a_normal_car_plugged_in_before_the_first_price_charges_at_once() -> None:
    now = BASE - timedelta(minutes=15)
    car = ChargeRequest("n", ChargeMode.NORMAL, 5.0, 11.0, None)
    for plan in (plan_site([car], hourly([0.2]), now, None)["n"],
                 plan_device(car, hourly([0.2]), now)):  # fmt: skip
        assert plan.slots[0].start == now and plan.slots[0].price is None
        assert plan.target_reached
        assert plan.estimated_cost == pytest.approx((5.0 - 11.0 / 4) * 0.2)


def test_a_site_limit_of_zero_says_so_and_does_not_blame_prices() -> None:
    prices = hourly([0.1, 0.2, 0.3])
    car = ChargeRequest("ev", ChargeMode.SMART, 10.0, 11.0, BASE + 3 * H)
    capacity = (CapacitySlot(BASE - H, BASE + 5 * H, 0.0),)
    plan = plan_site([car], prices, BASE, 11.0, capacity)["ev"]
    assert plan.slots == ()
    assert plan.reason is not None
    assert "0 kW" in plan.reason
    assert "Prices" not in plan.reason


def test_equal_deadlines_with_a_shortfall_follow_the_request_order() -> None:
    prices = hourly([0.1, 0.1])
    cars = [ChargeRequest(name, ChargeMode.SMART, 20.0, 11.0, BASE + 2 * H) for name in "ab"]
    first = plan_site(cars, prices, BASE, 11.0)
    again = plan_site(list(reversed(cars)), prices, BASE, 11.0)
    assert first["a"].target_reached and not first["b"].target_reached
    assert again["b"].target_reached and not again["a"].target_reached


def test_the_flow_method_serves_hundreds_of_cars_like_the_lp() -> None:
    rng = np.random.default_rng(7)
    m, t_count = 120, 48
    price = rng.integers(-5, 30, t_count) / 100
    hours = np.full(t_count, 0.25)
    cap = rng.uniform(0.2, 0.5, t_count) * m * 11 * hours
    power = rng.choice([3.7, 11.0, 22.0], m)
    window = rng.integers(4, t_count + 1, m).astype(np.intp)
    energy = rng.uniform(1, 30, m)
    order = np.argsort(window, kind="stable")
    x, y = solve_site_flow(price, hours, cap, power, window, energy, order)
    assert (x.sum(axis=0) <= cap * (1 + 1e-9) + 1e-9).all()
    most = solve_site_lexicographic(
        price, hours, cap, power, window, energy, order, maximise_total=True
    ).delivered[0]
    assert y.sum() == pytest.approx(most, rel=1e-9)
    ref = solve_site_lexicographic(price, hours, cap, power, window, y, order, assume_feasible=True)
    assert close(
        float((x.sum(axis=0) * price).sum()), ref.cost, float(np.abs(price).max() * y.sum())
    )
