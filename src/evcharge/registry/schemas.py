"""Registry wire models (PascalCase, Json.NET binding)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from evcharge.charging_info.schemas import EvChargingInfo
from evcharge.compat.binding import AspNetModel, DotNetDateTime, WireDecimal, decimal_field

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
PriceArea = Annotated[
    str, StringConstraints(to_upper=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")
]
ChargePointId = Annotated[
    str, StringConstraints(min_length=1, max_length=48, pattern=r"^[\x21-\x7e]+$")
]


class CustomerPut(AspNetModel):
    name: Name
    id: uuid.UUID | None = None


class ContractPut(AspNetModel):
    name: Name | None = None


class GatewayPut(AspNetModel):
    name: Name
    max_power_kw: WireDecimal | None = decimal_field(gt=0, le=100_000)
    price_area: PriceArea | None = None


class DevicePut(AspNetModel):
    name: Name
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None
    max_power_kw: WireDecimal = Field(default=Decimal(11), gt=0, le=1000)
    id: uuid.UUID | None = None
    charge_point_id: ChargePointId | None = None
    phases: int = Field(default=3, ge=1, le=3)
    """Phases the charger uses: a charging profile in A limits each phase."""
    voltage: int = Field(default=230, ge=100, le=400)
    """Phase-to-neutral voltage (V) that turns the plan's kW into a current per phase."""
    password: Annotated[str, StringConstraints(min_length=16, max_length=40)] | None = None
    """Write-only: the charger's OCPP password (HTTP Basic); stored as a slow hash only."""


class Entity(AspNetModel):
    id: uuid.UUID
    created: DotNetDateTime
    updated: DotNetDateTime


class Customer(Entity):
    customer_id: int
    name: str


class Contract(Entity):
    customer_id: int
    contract_no: int
    name: str | None


class Gateway(Entity):
    customer_id: int
    contract_no: int
    gateway_asset_id: int
    name: str
    max_power_kw: WireDecimal | None
    price_area: str | None


class Device(Entity):
    customer_id: int
    contract_no: int
    gateway_asset_id: int
    device_asset_id: int
    name: str
    description: str | None
    max_power_kw: WireDecimal
    charge_point_id: str | None
    phases: int = 3
    voltage: int = 230
    ev_charging_info: EvChargingInfo | None = None
