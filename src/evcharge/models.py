"""Every table, imported in one place for migrations and tests."""

from evcharge.auth.models import ApiKey, ApiKeyChanges
from evcharge.charging_info.models import ChargingInformation
from evcharge.console.models import ConsoleSession
from evcharge.db import metadata
from evcharge.ocpp.models import (
    BusMessage,
    ChargePointCredential,
    Charger,
    Command,
    ConnectorState,
    Frame,
    IdTag,
    MeterValue,
    ServerProcess,
    Transaction,
)
from evcharge.ocpp.smart.models import ChargingProfileState
from evcharge.orders.models import ChargeOrder
from evcharge.plans.models import ChargePlan
from evcharge.prices.models import PriceArea, PriceSlotRow
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway
from evcharge.sites.models import CapacitySlot, MeterReading

__all__ = [
    "ApiKey",
    "ApiKeyChanges",
    "BusMessage",
    "CapacitySlot",
    "ChargeOrder",
    "ChargePlan",
    "ChargePointCredential",
    "Charger",
    "ChargingDevice",
    "ChargingInformation",
    "ChargingProfileState",
    "Command",
    "ConnectorState",
    "ConsoleSession",
    "Contract",
    "Customer",
    "Frame",
    "Gateway",
    "IdTag",
    "MeterReading",
    "MeterValue",
    "PriceArea",
    "PriceSlotRow",
    "ServerProcess",
    "Transaction",
    "metadata",
]
