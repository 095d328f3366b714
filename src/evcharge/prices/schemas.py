"""Price wire models (family A style: PascalCase, Web API errors)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from evcharge.compat.binding import AspNetModel, DotNetDateTime, WireDecimal

Currency = Annotated[str, StringConstraints(to_upper=True, pattern=r"^[A-Za-z]{3}$")]
MAX_SLOTS_PER_UPLOAD = 20_000


class PriceSlotIn(AspNetModel):
    start: DotNetDateTime
    end: DotNetDateTime
    price: WireDecimal = Field(ge=Decimal(-100_000), le=Decimal(100_000))


class PriceSeriesPut(AspNetModel):
    """Replaces the area's slots in [first Start, last End)."""

    currency: Currency
    slots: list[PriceSlotIn] = Field(min_length=1, max_length=MAX_SLOTS_PER_UPLOAD)


class PriceSlotOut(AspNetModel):
    start: DotNetDateTime
    end: DotNetDateTime
    price: WireDecimal


class PriceSeries(AspNetModel):
    price_area: str
    currency: str
    slots: list[PriceSlotOut]


class PriceUpload(AspNetModel):
    """What a replacing upload did."""

    price_area: str
    currency: str
    slots_stored: int
    start: DotNetDateTime
    end: DotNetDateTime
    plans_updated: int
