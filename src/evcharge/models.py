"""Every table, imported in one place for migrations and tests."""

from evcharge.auth.models import ApiKey
from evcharge.charging_info.models import ChargingInformation
from evcharge.db import metadata
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway

__all__ = [
    "ApiKey",
    "ChargingDevice",
    "ChargingInformation",
    "Contract",
    "Customer",
    "Gateway",
    "metadata",
]
