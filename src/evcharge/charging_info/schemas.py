"""Seed A wire models, named as in the original help page."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

from pydantic import StringConstraints

from evcharge.compat.binding import (
    AspNetModel,
    DotNetDateTime,
    Int32,
    WireDecimal,
    decimal_field,
    enum_by_int_or_name,
)


class EvChargingModeEnumReq(enum.IntEnum):
    Normal = 0
    Smart = 1
    Off = 2


ChargingMode = Annotated[EvChargingModeEnumReq, enum_by_int_or_name(EvChargingModeEnumReq)]
CarText = Annotated[str, StringConstraints(max_length=200)]


class EvChargingInformationReq(AspNetModel):
    """Body of the seed endpoint; every field optional, as in the seed."""

    charging_mode: ChargingMode | None = None
    smart_mode_is_active: bool | None = None
    car_info_id: CarText | None = None
    car_manufacturer: CarText | None = None
    car_model: CarText | None = None
    car_generation: CarText | None = None
    gross_battery_size: WireDecimal | None = decimal_field(gt=0, le=1000)
    net_battery_size: WireDecimal | None = decimal_field(gt=0, le=1000)
    battery_level: WireDecimal | None = decimal_field(ge=0, le=100)
    fully_charged_by: DotNetDateTime | None = None
    customer_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    contract_id: Int32 | None = None
    gateway_asset_id: Int32 | None = None
    device_asset_id: Int32 | None = None


class EvChargingInfo(AspNetModel):
    """A stored version: the request's fields plus the server-owned Id, Version and Created.
    ChargingMode and SmartModeIsActive are .NET value types: never null (0, false)."""

    id: uuid.UUID
    version: int
    charging_mode: EvChargingModeEnumReq
    smart_mode_is_active: bool
    car_info_id: str | None
    car_manufacturer: str | None
    car_model: str | None
    car_generation: str | None
    gross_battery_size: WireDecimal | None
    net_battery_size: WireDecimal | None
    battery_level: WireDecimal | None
    fully_charged_by: DotNetDateTime | None
    customer_id: str
    contract_id: int
    gateway_asset_id: int
    device_asset_id: int
    created: DotNetDateTime
