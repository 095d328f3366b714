"""Smart-charging planner: pure functions, no I/O (see docs/planner.md)."""

from evcharge.planning.batch import BatchPlans, plan_many, price_arrays, request_arrays
from evcharge.planning.device import plan_device
from evcharge.planning.flow import solve_site_flow
from evcharge.planning.model import (
    DEFAULT_EFFICIENCY,
    DEFAULT_MAX_POWER_KW,
    CapacitySlot,
    ChargeMode,
    ChargeRequest,
    Plan,
    PlannedSlot,
    PriceSeriesError,
    PriceSlot,
    energy_needed,
    validate_price_slots,
)
from evcharge.planning.samples import sample_prices
from evcharge.planning.site import plan_site, solve_site_lp

__all__ = [
    "DEFAULT_EFFICIENCY",
    "DEFAULT_MAX_POWER_KW",
    "BatchPlans",
    "CapacitySlot",
    "ChargeMode",
    "ChargeRequest",
    "Plan",
    "PlannedSlot",
    "PriceSeriesError",
    "PriceSlot",
    "energy_needed",
    "plan_device",
    "plan_many",
    "plan_site",
    "price_arrays",
    "request_arrays",
    "sample_prices",
    "solve_site_flow",
    "solve_site_lp",
    "validate_price_slots",
]
