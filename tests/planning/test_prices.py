"""Price-series validation, the energy helper and the bundled sample prices."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from evcharge.planning import (
    PriceSeriesError,
    PriceSlot,
    energy_needed,
    sample_prices,
    validate_price_slots,
)
from tests.planning.strategies import BASE, hourly

H = timedelta(hours=1)


def test_contiguous_series_is_valid() -> None:
    validate_price_slots(hourly([0.1, -0.2, 0.3]))
    validate_price_slots(hourly([0.1, 0.2], minutes=15))
    validate_price_slots([])


def test_gap_names_the_slot_after_it() -> None:
    slots = [*hourly([0.1, 0.2]), PriceSlot(BASE + 3 * H, BASE + 4 * H, 0.3)]
    with pytest.raises(PriceSeriesError, match="gap") as info:
        validate_price_slots(slots)
    assert info.value.index == 2


def test_overlap_names_the_overlapping_slot() -> None:
    slots = [*hourly([0.1, 0.2]), PriceSlot(BASE + 1.5 * H, BASE + 3 * H, 0.3)]
    with pytest.raises(PriceSeriesError, match="overlap") as info:
        validate_price_slots(slots)
    assert info.value.index == 2


def test_slot_ending_before_it_starts_is_rejected() -> None:
    with pytest.raises(PriceSeriesError) as info:
        validate_price_slots([*hourly([0.1]), PriceSlot(BASE + H, BASE + H, 0.2)])
    assert info.value.index == 1
    assert "not after start" in info.value.message


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2024, 1, 1)
    with pytest.raises(PriceSeriesError) as info:
        validate_price_slots([PriceSlot(naive, naive + H, 0.1)])
    assert info.value.index == 0


def test_energy_needed_divides_by_the_efficiency() -> None:
    assert energy_needed(40.0, 20.0) == pytest.approx(40 * 0.8 / 0.9)
    assert energy_needed(40.0, 20.0, efficiency=1.0) == pytest.approx(32.0)
    assert energy_needed(40.0, 100.0) == 0.0
    assert energy_needed(40.0, 120.0) == 0.0
    with pytest.raises(ValueError, match="efficiency"):
        energy_needed(40.0, 20.0, efficiency=0.0)


def test_sample_prices_are_four_contiguous_weeks_with_negative_hours() -> None:
    slots = sample_prices()
    validate_price_slots(slots)
    assert slots[-1].end - slots[0].start == timedelta(weeks=4)
    assert any(s.price < 0 for s in slots)


def test_sample_prices_can_be_shifted_to_cover_the_present() -> None:
    now = datetime(2030, 6, 5, 13, 30, tzinfo=BASE.tzinfo)
    slots = sample_prices(shift_to=now)
    validate_price_slots(slots)
    assert slots[0].start <= now < slots[-1].end
    assert slots[-1].end - now <= timedelta(weeks=1)
    assert (slots[0].start - sample_prices()[0].start) % timedelta(weeks=1) == timedelta(0)
