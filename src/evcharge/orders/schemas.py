"""Seed B wire models: the seed's ChargingOrderRequest and what the read endpoints return."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer, StringConstraints

from evcharge.compat.binding import AspNetModel, DotNetDateTime, WireDecimal
from evcharge.compat.paging import Page
from evcharge.orders.models import CLIENT_ID_LENGTH, REMARK_LENGTH


def _printable(value: str) -> str:
    # Control characters cannot travel in XML 1.0, which every reply may be written in.
    if any(ord(c) < 0x20 and c not in "\t\n\r" for c in value):
        raise ValueError("must not contain control characters")
    return value


# What `_printable` allows, for the documented schema.
_PRINTABLE = Field(json_schema_extra={"pattern": "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]*$"})
Remark = Annotated[
    str, StringConstraints(max_length=REMARK_LENGTH), AfterValidator(_printable), _PRINTABLE
]
ClientOrderId = Annotated[
    str, StringConstraints(max_length=CLIENT_ID_LENGTH), AfterValidator(_printable), _PRINTABLE
]


class ChargingOrderRequest(AspNetModel):
    """The seed's body. Device, customer and both times are required; ElectricQuantity
    is the original's `decimal?` (absent or nil stays null), DiscountPrice its
    non-nullable decimal (absent is 0)."""

    charging_device_id: uuid.UUID
    customer_id: uuid.UUID
    start_time: DotNetDateTime
    end_time: DotNetDateTime
    electric_quantity: WireDecimal | None = Field(default=None, ge=0)
    discount_price: WireDecimal = Field(default=Decimal(0), ge=0)
    remark: Remark | None = None
    id: ClientOrderId | None = None


class ChargingOrder(AspNetModel):
    """An order as stored: the request's fields (Id always set) plus Created."""

    charging_device_id: uuid.UUID
    customer_id: uuid.UUID
    start_time: DotNetDateTime
    end_time: DotNetDateTime
    electric_quantity: WireDecimal | None
    discount_price: WireDecimal
    remark: str | None
    id: str
    created: DotNetDateTime
    source: str | None = Field(default=None, exclude_if=lambda value: value is None)
    """Beyond the seed, written only when the order did not come from CreateOrder
    (`ocpp`: a charger's transaction), so the seed's own replies stay byte for byte."""


class ChargingOrderPage(Page[ChargingOrder]):
    """A page of orders (named for its XML root and OpenAPI schema)."""


Total = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
"""A sum of stored decimals: exact at any size (no 10^12 bound, unlike one order's field);
written exactly by `compat.numbers.dumps`."""


class SummaryGroup(AspNetModel):
    key: str
    order_count: int
    electric_quantity: Total
    discount_price: Total


class ChargingOrderSummary(AspNetModel):
    group_by: str
    from_: DotNetDateTime | None = Field(alias="From")
    to: DotNetDateTime | None
    order_count: int
    electric_quantity: Total
    discount_price: Total
    groups: list[SummaryGroup]
