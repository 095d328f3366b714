"""Every table, imported in one place for migrations and tests."""

from evcharge.auth.models import ApiKey, ApiKeyChanges
from evcharge.charging_info.models import ChargingInformation
from evcharge.console.models import ConsoleSession
from evcharge.db import metadata
from evcharge.ocpp.models import (
    ChargePointCredential,
    Charger,
    ConnectorState,
    IdTag,
    MeterValue,
    ServerProcess,
    Transaction,
)
from evcharge.orders.models import ChargeOrder
from evcharge.plans.models import ChargePlan
from evcharge.prices.models import PriceArea, PriceSlotRow
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway
from evcharge.sites.models import CapacitySlot, MeterReading

__all__ = [
    "ApiKey",
    "ApiKeyChanges",
    "CapacitySlot",
    "ChargeOrder",
    "ChargePlan",
    "ChargePointCredential",
    "Charger",
    "ChargingDevice",
    "ChargingInformation",
    "ConnectorState",
    "ConsoleSession",
    "Contract",
    "Customer",
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
