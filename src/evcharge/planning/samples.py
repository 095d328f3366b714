"""The bundled sample price series (4 weeks of Belgian day-ahead prices, spring 2024)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from importlib import resources

from evcharge.planning.model import PriceSlot

SAMPLE_PRICE_AREA = "BE"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def sample_prices(shift_to: datetime | None = None) -> list[PriceSlot]:
    """Read `data/sample_prices_be.csv` (hourly, UTC, EUR/kWh, some negative hours).

    With `shift_to`, the series is moved by a whole number of weeks so that it starts
    at or before `shift_to` and keeps its weekday/hour pattern (the last of its four
    weeks covers `shift_to`).
    """
    text = resources.files("evcharge.planning").joinpath("data/sample_prices_be.csv").read_text()
    slots = [
        PriceSlot(_parse(row["start_utc"]), _parse(row["end_utc"]), float(row["price_eur_per_kwh"]))
        for row in csv.DictReader(io.StringIO(text))
    ]
    if shift_to is None or not slots:
        return slots
    week = timedelta(weeks=1)
    span = slots[-1].end - slots[0].start
    weeks = (shift_to - slots[0].start - span + week) // week
    delta = weeks * week
    return [PriceSlot(s.start + delta, s.end + delta, s.price) for s in slots]
