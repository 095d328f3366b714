"""API keys, roles and limits. What other feature routers use is re-exported here."""

from evcharge.auth.middleware import audit_entity
from evcharge.auth.principal import (
    NO_CUSTOMER,
    CurrentPrincipal,
    CustomerScoped,
    CustomerTree,
    Principal,
)
from evcharge.auth.repository import device_owner

__all__ = [
    "NO_CUSTOMER",
    "CurrentPrincipal",
    "CustomerScoped",
    "CustomerTree",
    "Principal",
    "audit_entity",
    "device_owner",
]
