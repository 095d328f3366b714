"""A plan's slots as a charging profile (pure): equal to the plan within the charger's
limits, never above it — when periods are merged, in A and in W."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from evcharge.ocpp.smart import schedule
from evcharge.ocpp.smart.schedule import Electrical, SmartConfig

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
W_ONLY = SmartConfig(max_stack_level=3, max_periods=48, units=("Power",))
A_ONLY = SmartConfig(max_stack_level=3, max_periods=48, units=("Current",))


def slot(start_min: float, end_min: float, kw: float) -> dict[str, Any]:
    return {
        "start": (NOW + timedelta(minutes=start_min)).isoformat(),
        "end": (NOW + timedelta(minutes=end_min)).isoformat(),
        "power_kw": kw,
        "energy_kwh": kw * (end_min - start_min) / 60,
        "price": 0.1,
    }


def plan_power_kw(slots: list[dict[str, Any]], at: datetime) -> float:
    for s in slots:
        if datetime.fromisoformat(s["start"]) <= at < datetime.fromisoformat(s["end"]):
            return float(s["power_kw"])
    return 0.0


def test_a_plan_becomes_an_absolute_profile_equal_to_its_slots_with_zero_between() -> None:
    slots = [slot(60, 120, 11.0), slot(180, 225, 7.4)]
    wanted = schedule.wanted_plan(slots, NOW)
    assert wanted is not None
    payload = schedule.render_plan(wanted, NOW, W_ONLY, Electrical(), None)
    assert payload is not None
    assert payload["connectorId"] == 0
    profile = payload["csChargingProfiles"]
    assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
    assert profile["chargingProfileKind"] == "Absolute"
    assert profile["stackLevel"] == 1
    sched = profile["chargingSchedule"]
    assert sched["startSchedule"] == "2026-03-02T18:00:00Z"
    assert sched["chargingRateUnit"] == "W"
    assert sched["duration"] == 225 * 60
    assert sched["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 0},
        {"startPeriod": 3600, "limit": 11000},
        {"startPeriod": 7200, "limit": 0},
        {"startPeriod": 10800, "limit": 7400},
    ]


def test_a_running_transaction_gets_a_tx_profile_on_its_connector() -> None:
    wanted = schedule.wanted_plan([slot(0, 60, 11.0)], NOW)
    assert wanted is not None
    payload = schedule.render_plan(
        wanted, NOW, W_ONLY, Electrical(), schedule.Transaction(connector_id=2, transaction_id=77)
    )
    assert payload is not None
    assert payload["connectorId"] == 2
    profile = payload["csChargingProfiles"]
    assert profile["chargingProfilePurpose"] == "TxProfile"
    assert profile["transactionId"] == 77


def test_amperes_per_phase_from_the_devices_phases_and_voltage_rounded_down() -> None:
    slots = [slot(0, 60, 11.0), slot(60, 120, 3.7)]
    wanted = schedule.wanted_plan(slots, NOW)
    assert wanted is not None
    three = schedule.render_plan(wanted, NOW, A_ONLY, Electrical(3, 230), None)
    one = schedule.render_plan(wanted, NOW, A_ONLY, Electrical(1, 230), None)
    assert three is not None and one is not None
    periods3 = three["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"]
    periods1 = one["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"]
    # 11000 W / (3 x 230 V) = 15.94 A -> 15.9 A; 3700 / 690 = 5.36 -> 5.3 A.
    assert periods3 == [
        {"startPeriod": 0, "limit": 15.9, "numberPhases": 3},
        {"startPeriod": 3600, "limit": 5.3, "numberPhases": 3},
    ]
    # One phase: 11000 / 230 = 47.8 A, 3700 / 230 = 16.08 -> 16 A.
    assert periods1 == [
        {"startPeriod": 0, "limit": 47.8, "numberPhases": 1},
        {"startPeriod": 3600, "limit": 16, "numberPhases": 1},
    ]
    assert three["csChargingProfiles"]["chargingSchedule"]["chargingRateUnit"] == "A"
    # Both allowed: W, exact.
    both = SmartConfig(units=("Current", "Power"))
    assert schedule.render_plan(wanted, NOW, both, Electrical(), None) is not None
    assert both.unit == "W"


def test_a_plan_that_has_ended_clears_the_profile() -> None:
    assert schedule.wanted_plan([slot(-60, -1, 11.0)], NOW) is None
    wanted = schedule.wanted_plan([slot(0, 30, 11.0)], NOW)
    assert wanted is not None
    assert (
        schedule.render_plan(wanted, NOW + timedelta(hours=1), W_ONLY, Electrical(), None) is None
    )


def test_a_replan_that_changes_nothing_ahead_is_the_same_wanted_state() -> None:
    first = schedule.wanted_plan([slot(0, 60, 11.0), slot(120, 180, 5.0)], NOW)
    later = NOW + timedelta(minutes=15)
    again = schedule.wanted_plan([slot(15, 60, 11.0), slot(120, 180, 5.0)], later)
    assert schedule.same_from(first, again, later)
    changed = schedule.wanted_plan([slot(15, 60, 11.0), slot(120, 180, 6.0)], later)
    assert not schedule.same_from(first, changed, later)


def test_too_many_periods_are_merged_keeping_the_lower_limit() -> None:
    # 8 alternating quarter hours: 16 periods with the gaps; the charger takes 3.
    slots = [slot(30 * i, 30 * i + 15, 11.0 - i) for i in range(8)]
    wanted = schedule.wanted_plan(slots, NOW)
    assert wanted is not None
    config = SmartConfig(max_stack_level=1, max_periods=3, units=("Power",))
    payload = schedule.render_plan(wanted, NOW, config, Electrical(), None)
    assert payload is not None
    periods = payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"]
    assert len(periods) <= 3
    for minute in range(0, 7 * 30 + 15):  # the last slot ends at 225 minutes
        at = NOW + timedelta(minutes=minute, seconds=30)
        limit = schedule.schedule_power_w(payload, at, Electrical())
        assert limit is not None and limit <= plan_power_kw(slots, at) * 1000
    assert schedule.schedule_power_w(payload, NOW + timedelta(minutes=226), Electrical()) is None


def test_the_fair_share_default_is_a_stack_level_0_tx_default_profile_without_end() -> None:
    wanted = schedule.wanted_share(11 / 3)
    assert wanted is not None
    payload = schedule.render_share(wanted, NOW, W_ONLY, Electrical())
    assert payload is not None
    profile = payload["csChargingProfiles"]
    assert payload["connectorId"] == 0
    assert profile["stackLevel"] == 0
    assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
    assert profile["chargingProfileKind"] == "Relative"
    assert "duration" not in profile["chargingSchedule"]
    assert "startSchedule" not in profile["chargingSchedule"]
    assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 3666.6}
    ]
    # A charger without a lower stack level than the plan's gets no default.
    assert schedule.render_share(wanted, NOW, SmartConfig(max_stack_level=0), Electrical()) is None


@st.composite
def plans(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Slots on a second grid (starts anywhere, also inside slots), powers 0.1-22 kW."""
    count = draw(st.integers(1, 30))
    cursor = draw(st.floats(0, 30))
    found = []
    for _ in range(count):
        cursor += draw(st.sampled_from([0.0, 0.0, 7.5, 15.0, 0.3]))
        length = draw(st.sampled_from([15.0, 30.0, 60.0, 4.3, 0.7]))
        kw = draw(st.floats(0.1, 22.0))
        found.append(slot(cursor, cursor + length, round(kw, 6)))
        cursor += length
    return found


@given(
    plans(),
    st.integers(1, 12),
    st.sampled_from([("Power",), ("Current",)]),
    st.sampled_from([1, 3]),
    st.floats(0, 20),
)
def test_a_fitted_profile_never_exceeds_the_plan_at_any_moment(
    slots: list[dict[str, Any]], max_periods: int, units: tuple[str, ...], phases: int, late: float
) -> None:
    now = NOW + timedelta(minutes=late)
    wanted = schedule.wanted_plan(slots, now)
    if wanted is None:
        return
    electrical = Electrical(phases, 230)
    config = SmartConfig(max_stack_level=2, max_periods=max_periods, units=units)
    payload = schedule.render_plan(wanted, now, config, electrical, None)
    assert payload is not None
    sched = payload["csChargingProfiles"]["chargingSchedule"]
    periods = sched["chargingSchedulePeriod"]
    assert 1 <= len(periods) <= max_periods
    assert [p["startPeriod"] for p in periods] == sorted({p["startPeriod"] for p in periods})
    for p in periods:
        assert Decimal(str(p["limit"])) % Decimal("0.1") == 0
    end = max(datetime.fromisoformat(s["end"]) for s in slots)
    at = now
    while at < end + timedelta(minutes=1):
        limit = schedule.schedule_power_w(payload, at, electrical)
        if limit is not None:
            assert limit <= plan_power_kw(slots, at) * 1000 + 1e-6, at
        at += timedelta(seconds=20)


@given(plans())
def test_with_room_for_every_period_the_profile_equals_the_plan(
    slots: list[dict[str, Any]],
) -> None:
    wanted = schedule.wanted_plan(slots, NOW)
    if wanted is None:
        return
    payload = schedule.render_plan(wanted, NOW, SmartConfig(1, 500, ("Power",)), Electrical(), None)
    assert payload is not None
    # Away from the (sub-second rounded) edges, the limit is the plan's power in W, to 0.1 W.
    for s in slots:
        start, end = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
        if (end - start).total_seconds() < 3:
            continue
        middle = start + (end - start) / 2
        if middle < NOW:
            continue
        limit = schedule.schedule_power_w(payload, middle, Electrical())
        assert limit is not None
        assert abs(limit - plan_power_kw(slots, middle) * 1000) < 0.1 + 1e-9
