"""Every table, imported in one place for migrations and tests."""

from evcharge.charging_info.models import ChargingInformation
from evcharge.db import metadata
from evcharge.orders.models import ChargeOrder
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway

__all__ = [
    "ChargeOrder",
    "ChargingDevice",
    "ChargingInformation",
    "Contract",
    "Customer",
    "Gateway",
    "metadata",
]
