"""HTTP for prices: replace a range of an area's slots, read a range."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from evcharge.auth.principal import CustomerScoped
from evcharge.compat.params import QUERY_DATE_DOC, FromQuery, query_date
from evcharge.compat.webapi import body_doc, errors_doc, read_body, reply
from evcharge.db import Session
from evcharge.plans import service as plans
from evcharge.plans.context import Planning
from evcharge.prices import schemas, service

router = APIRouter(prefix="/api/prices", tags=["prices"])

Area = Annotated[
    str,
    PathParam(
        alias="priceArea",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$",
        description="e.g. NO1, DE-LU, BE",
    ),
]


@router.put(
    "/{priceArea}",
    response_model=schemas.PriceUpload,
    responses=errors_doc(400, 409, 415, 503),
    openapi_extra=body_doc(schemas.PriceSeriesPut),
)
async def put_prices(
    request: Request, session: Session, planning: Planning, area: Area
) -> Response:
    """Replace the area's slots in [first Start, last End) and replan the gateways in the area."""
    area = area.upper()
    body = await read_body(request, schemas.PriceSeriesPut)
    start, end = await service.replace(session, area, body)
    updated = await plans.replan_area(session, area, planning)
    return reply(
        schemas.PriceUpload(
            price_area=area,
            currency=body.currency,
            slots_stored=len(body.slots),
            start=start,
            end=end,
            plans_updated=updated,
        )
    )


@router.get("/{priceArea}", response_model=schemas.PriceSeries, responses=errors_doc(400, 404, 503))
async def get_prices(
    request: Request,
    session: Session,
    _caller: CustomerScoped,
    planning: Planning,
    area: Area,
    start: FromQuery = None,
    end: Annotated[
        str | None,
        Query(
            alias="to",
            description="ISO 8601, after from, at most 31 days on; default: from + 48 h",
            json_schema_extra=QUERY_DATE_DOC,
        ),
    ] = None,
) -> Response:
    """The area's slots overlapping [from, to) (at most 31 days). Market data: customer
    keys may read it too; uploading is for admin keys."""
    first = query_date(request, "from", UTC) or planning.now  # family A: no offset is UTC
    last = query_date(request, "to", UTC) or first + timedelta(hours=48)
    return reply(await service.series(session, area.upper(), first, last))
