"""Every table, imported in one place for migrations and tests."""

from evcharge.auth.models import ApiKey, ApiKeyChanges
from evcharge.charging_info.models import ChargingInformation
from evcharge.console.models import ConsoleSession
from evcharge.db import metadata
from evcharge.orders.models import ChargeOrder
from evcharge.plans.models import ChargePlan
from evcharge.prices.models import PriceArea, PriceSlotRow
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway

__all__ = [
    "ApiKey",
    "ApiKeyChanges",
    "ChargeOrder",
    "ChargePlan",
    "ChargingDevice",
    "ChargingInformation",
    "ConsoleSession",
    "Contract",
    "Customer",
    "Gateway",
    "PriceArea",
    "PriceSlotRow",
    "metadata",
]
