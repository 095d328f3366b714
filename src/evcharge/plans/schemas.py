"""Plan wire model: the original's fields, then what evcharge adds."""

from __future__ import annotations

from evcharge.compat.binding import AspNetModel, DotNetDateTime, WireDecimal


class EvChargePlanSlot(AspNetModel):
    start: DotNetDateTime
    end: DotNetDateTime
    power_kw: WireDecimal
    energy_kwh: WireDecimal
    price: WireDecimal | None  # null: before the first known price


class EvChargePlan(AspNetModel):
    start_time: DotNetDateTime | None
    end_time: DotNetDateTime | None
    created: DotNetDateTime
    total_charge_time: str
    slots: list[EvChargePlanSlot]
    energy_kwh: WireDecimal
    estimated_cost: WireDecimal
    cost_if_immediate: WireDecimal
    target_reached: bool
    reason: str | None
    currency: str | None
    # Why the plan was last computed (ChargingInformation, Prices, MeterReading,
    # Capacity, Gateway, Device, Schedule); Created says when.
    trigger: str | None = None
    # Energy drawn since the charging information (from meter readings).
    energy_charged_kwh: WireDecimal | None = None
