"""OCPP wire models for family A's style (PascalCase, Json.NET binding)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from evcharge.compat.binding import AspNetModel, DotNetDateTime, WireDecimal
from evcharge.compat.paging import Page

IdTagStatus = Literal["Accepted", "Blocked", "Expired", "Invalid"]
IdTagValue = Annotated[
    str, StringConstraints(min_length=1, max_length=20, pattern=r"^[\x21-\x7e]+$")
]


class IdTagPut(AspNetModel):
    status: IdTagStatus = "Accepted"
    expiry_date: DotNetDateTime | None = None


class IdTag(AspNetModel):
    id_tag: str
    customer_id: int
    status: str
    expiry_date: DotNetDateTime | None
    created: DotNetDateTime
    updated: DotNetDateTime


class Connector(AspNetModel):
    connector_id: int
    status: str
    error_code: str
    info: str | None
    vendor_error_code: str | None
    timestamp: DotNetDateTime | None


class ChargerDevice(AspNetModel):
    id: uuid.UUID
    customer_id: int
    contract_no: int
    gateway_asset_id: int
    device_asset_id: int
    name: str


class ChargingProfile(AspNetModel):
    """One of the charger's charging profiles (docs/ocpp.md, Smart charging)."""

    kind: str
    """Plan (the device's plan) or SiteDefault (its share of the gateway's limit)."""
    status: str | None
    """Pending, Accepted, Cleared, Rejected, NotSupported or Failed (no answer)."""
    acknowledged: bool
    """The charger has what it should have."""
    attempts: int
    next_attempt: DotNetDateTime | None
    error: str | None
    updated: DotNetDateTime


class SmartCharging(AspNetModel):
    """What the charger said of smart charging at its last boot (GetConfiguration)."""

    max_stack_level: int
    max_periods: int
    allowed_units: list[str]
    steerable: bool
    """False when it refused the plan's profile: the planner plans it as Normal."""


class Charger(AspNetModel):
    charge_point_id: str
    device: ChargerDevice
    connected: bool
    connected_since: DotNetDateTime | None
    last_heartbeat: DotNetDateTime | None
    server_process: str | None
    boot_status: str | None
    boot: dict[str, str] | None
    connectors: list[Connector]
    smart_charging: SmartCharging | None = None
    charging_profiles: list[ChargingProfile] = Field(default_factory=list)


class ChargerPage(Page[Charger]):
    """A page of chargers."""


class Transaction(AspNetModel):
    transaction_id: int
    charge_point_id: str
    connector_id: int
    id_tag: str
    state: str
    start_time: DotNetDateTime
    charger_start_time: DotNetDateTime
    meter_start_wh: WireDecimal
    stop_time: DotNetDateTime | None
    meter_stop_wh: WireDecimal | None
    stop_reason: str | None
    energy_kwh: WireDecimal | None
    flags: list[str]
    order_id: str | None
    order_error: str | None


class TransactionPage(Page[Transaction]):
    """A page of transactions, newest first."""


class MeterValue(AspNetModel):
    timestamp: DotNetDateTime
    measurand: str
    value: WireDecimal
    unit: str | None
    context: str | None
    phase: str | None
    location: str | None
    flags: list[str]


class MeterValuePage(Page[MeterValue]):
    """A page of a transaction's meter values, in the order they arrived."""


class LogEntry(AspNetModel):
    """One frame of the OCPP message log. `Frame` is the text as sent, shortened to
    EVCHARGE_OCPP_LOG_FRAME_CHARS characters when longer (`Truncated`, `Size` the whole)."""

    id: int
    time: DotNetDateTime
    direction: Literal["in", "out"]
    message_type: Literal["CALL", "CALLRESULT", "CALLERROR"] | None
    message_id: str | None
    action: str | None
    """The action of a CALL (answers carry none in OCPP-J)."""
    frame: str
    size: int
    truncated: bool


class LogPage(Page[LogEntry]):
    """A page of a charger's frames, newest first."""
