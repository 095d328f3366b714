"""The energy rule as pure functions: exact, and the SQL-side and diagnosis-side agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from evcharge.orders.service import energy_limit, minimum_power

START = datetime(2025, 11, 8, 18, 0, tzinfo=UTC)
millionths = st.integers(min_value=0, max_value=10**12).map(lambda n: Decimal(n).scaleb(-6))
powers = st.integers(min_value=1, max_value=1000 * 10**6).map(lambda n: Decimal(n).scaleb(-6))
durations = st.integers(min_value=0, max_value=400 * 24 * 3600 * 10**6).map(
    lambda us: timedelta(microseconds=us)
)


@given(quantity=millionths, power=powers, duration=durations)
def test_the_insert_accepts_exactly_what_the_diagnosis_allows(
    quantity: Decimal, power: Decimal, duration: timedelta
) -> None:
    # The insert keeps devices with MaxPowerKw >= minimum_power; the diagnosis reports
    # the energy limit. Both must draw the line at the same place, for every input.
    end = START + duration
    accepted_by_insert = power >= minimum_power(quantity, START, end)
    allowed_by_limit = quantity <= energy_limit(power, START, end)
    assert accepted_by_insert == allowed_by_limit


def test_limit_is_power_times_hours_plus_five_percent() -> None:
    one_hour = START + timedelta(hours=1)
    assert energy_limit(Decimal(11), START, one_hour) == Decimal("11.55")
    assert minimum_power(Decimal("11.55"), START, one_hour) == Decimal(11)
    assert minimum_power(Decimal("11.550001"), START, one_hour) > Decimal(11)
    assert minimum_power(Decimal(0), START, START) == 0
    assert minimum_power(Decimal("0.000001"), START, START) > Decimal(1000)
