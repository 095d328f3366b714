"""MeterValues into the planner's meter readings (`meter_readings`, the table that
`POST …/meterreadings` and `sites.service.record_meter_reading` write): the energy
register (kWh) and the car's state of charge, per sample time, source "ocpp".

Written by the meter writer's group commit, with the readings' own rules: a reading
stamped more than 5 minutes ahead of the server's clock is not kept, and the same
timestamp twice keeps the first (a charger cannot be answered 409). The schedule replans
a device whose readings arrived since its plan at the next slot boundary."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from evcharge.ocpp import energy
from evcharge.ocpp.energy import CLOCK_NOT_SET
from evcharge.ocpp.service import ENERGY, parse_time
from evcharge.sites.service import FUTURE_TOLERANCE

SOC = "SoC"
SOURCE = "ocpp"
KWH = Decimal(1000)


def _reading(
    device_id: uuid.UUID, moment: datetime, wh: Decimal | None, soc: Decimal | None, now: datetime
) -> dict[str, Any] | None:
    if wh is None or moment > now + FUTURE_TOLERANCE:
        return None
    if soc is not None and not (0 <= soc <= 100):
        soc = None
    return {
        "device_id": device_id,
        "timestamp": moment,
        "energy_kwh": (wh / KWH).quantize(Decimal("0.000001")),
        "soc": soc,
        "source": SOURCE,
        "received": now,
    }


def from_rows(
    device_id: uuid.UUID, rows: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Readings from a transaction's stored meter-value rows (registers already in Wh,
    unit mix-ups corrected); a sample without a register gives none."""
    by_time: dict[datetime, dict[str, Decimal]] = {}
    for row in rows:
        if CLOCK_NOT_SET in row["flags"] or row["phase"] is not None:
            continue
        if row["measurand"] == ENERGY and row["unit"] == "Wh":
            by_time.setdefault(row["timestamp"], {})["wh"] = row["value"]
        elif row["measurand"] == SOC:
            by_time.setdefault(row["timestamp"], {})["soc"] = row["value"]
    found = [
        _reading(device_id, moment, values.get("wh"), values.get("soc"), now)
        for moment, values in by_time.items()
    ]
    return [r for r in found if r is not None]


def raw(
    device_id: uuid.UUID, meter_value: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Readings from MeterValues outside a transaction (no session to correct against:
    the register as sent, in Wh or kWh)."""
    found = []
    for entry in meter_value:
        moment, trusted = parse_time(entry.get("timestamp"), now)
        if not trusted:
            continue
        wh: Decimal | None = None
        soc: Decimal | None = None
        for sampled in entry.get("sampled_value", []):
            if sampled.get("phase") is not None:
                continue
            value = energy.sampled_number(sampled)
            if value is None:
                continue
            measurand = sampled.get("measurand") or ENERGY
            if measurand == ENERGY:
                wh = energy.to_wh(value, sampled.get("unit"))
            elif measurand == SOC:
                soc = value
        reading = _reading(device_id, moment, wh, soc, now)
        if reading is not None:
            found.append(reading)
    return found
