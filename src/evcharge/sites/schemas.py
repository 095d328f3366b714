"""Wire models of capacity schedules and meter readings (family A: PascalCase)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from evcharge.compat.binding import AspNetModel, DotNetDateTime, WireDecimal

MAX_CAPACITY_SLOTS = 20_000


class CapacitySlotIn(AspNetModel):
    start: DotNetDateTime
    end: DotNetDateTime
    power_kw: WireDecimal = Field(ge=Decimal(0), le=Decimal(1_000_000))


class CapacityPut(AspNetModel):
    """Replaces the gateway's slots in [first Start, last End); gaps are allowed (there
    the gateway's MaxPowerKw holds)."""

    slots: list[CapacitySlotIn] = Field(min_length=1, max_length=MAX_CAPACITY_SLOTS)


class CapacitySlotOut(AspNetModel):
    start: DotNetDateTime
    end: DotNetDateTime
    power_kw: WireDecimal


class Capacity(AspNetModel):
    """A gateway's available power for its devices: slots, and MaxPowerKw elsewhere."""

    gateway_asset_id: int
    max_power_kw: WireDecimal | None
    slots: list[CapacitySlotOut]
    plans_updated: int | None = None


class MeterReadingIn(AspNetModel):
    timestamp: DotNetDateTime
    energy_kwh: WireDecimal = Field(ge=Decimal(0), le=Decimal(1_000_000_000))
    soc: WireDecimal | None = Field(default=None, alias="SoC", ge=Decimal(0), le=Decimal(100))


class MeterReadingOut(AspNetModel):
    device_asset_id: int
    timestamp: DotNetDateTime
    energy_kwh: WireDecimal
    soc: WireDecimal | None = Field(alias="SoC")
    source: str
    received: DotNetDateTime
