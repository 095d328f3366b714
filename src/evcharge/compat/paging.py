"""`?page=&pageSize=` paging shared by every listing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, Self, TypeVar

from fastapi import Depends, Query, Request

from evcharge.compat.binding import AspNetModel
from evcharge.compat.params import NotInt32, parse_int32, query_value
from evcharge.errors import Invalid


@dataclass(frozen=True, slots=True)
class Paging:
    page: int
    size: int


def _positive(request: Request, name: str) -> int | None:
    raw = query_value(request, name)
    if raw is None:
        return None
    try:
        number = parse_int32(raw.strip(), name)  # the one reader of Int32 text
    except NotInt32:
        number = 0
    if number < 1:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise Invalid(
            errors={name: [f"The value '{shown}' is not valid for {name}: a whole number from 1."]}
        )
    return number


def paging(
    request: Request,
    page: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="1-based page number")
    ] = None,
    page_size: Annotated[
        int | None,
        Query(
            alias="pageSize",
            ge=1,
            le=2**31 - 1,
            description="Items per page; capped by EVCHARGE_MAX_PAGE_SIZE",
        ),
    ] = None,
) -> Paging:
    settings = request.app.state.settings
    number = _positive(request, "page") or 1
    size = _positive(request, "pageSize") or settings.default_page_size
    return Paging(page=number, size=min(size, settings.max_page_size))


Pages = Annotated[Paging, Depends(paging)]

T = TypeVar("T")


class Page(AspNetModel, Generic[T]):
    """One page of a listing: `{"Items", "Page", "PageSize", "TotalCount"}`."""

    items: list[T]
    page: int
    page_size: int
    total_count: int

    @classmethod
    def of(cls, items: list[T], paging: Paging, total: int) -> Self:
        return cls(items=items, page=paging.page, page_size=paging.size, total_count=total)
