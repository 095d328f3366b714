"""Every table, imported in one place for migrations and tests."""

from evcharge.auth.models import ApiKey
from evcharge.charging_info.models import ChargingInformation
from evcharge.db import metadata
from evcharge.orders.models import ChargeOrder
from evcharge.plans.models import ChargePlan
from evcharge.prices.models import PriceArea, PriceSlotRow
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway
from evcharge.sites.models import CapacitySlot, MeterReading

__all__ = [
    "ApiKey",
    "CapacitySlot",
    "ChargeOrder",
    "ChargePlan",
    "ChargingDevice",
    "ChargingInformation",
    "Contract",
    "Customer",
    "Gateway",
    "MeterReading",
    "PriceArea",
    "PriceSlotRow",
    "metadata",
]
