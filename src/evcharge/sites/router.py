"""HTTP for a gateway's capacity schedule and a device's meter readings (family A)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from evcharge.auth.principal import CustomerTree
from evcharge.compat.params import QUERY_DATE_DOC, FromQuery, query_date
from evcharge.compat.webapi import body_doc, errors_doc, read_body, reply
from evcharge.db import Session
from evcharge.plans.context import Planning
from evcharge.registry.paths import DevicePath, GatewayPath
from evcharge.sites import schemas, service

# Customer keys read their own gateways' schedules and may report their own devices'
# meter readings (a home app does); changing a site's capacity is for admin keys.
router = APIRouter(
    prefix="/api/customers",
    tags=["sites"],
    dependencies=[Depends(CustomerTree(customer_writes=frozenset({"POST"})))],
)

GATEWAY = "/{customerId}/contracts/{contractNo}/gateways/{gatewayAssetId}"
DEVICE = GATEWAY + "/evchargingdevices/{deviceAssetId}"


@router.put(
    GATEWAY + "/capacity",
    response_model=schemas.Capacity,
    responses=errors_doc(400, 404, 415, 503),
    openapi_extra=body_doc(schemas.CapacityPut),
)
async def put_capacity(
    request: Request, session: Session, planning: Planning, path: GatewayPath
) -> Response:
    """Replace the gateway's available power in [first Start, last End) (slots of kW, like
    prices; where no slot is given, MaxPowerKw holds) and replan its devices."""
    body = await read_body(request, schemas.CapacityPut)
    return reply(await service.put_capacity(session, path, body, planning))


@router.get(
    GATEWAY + "/capacity",
    response_model=schemas.Capacity,
    responses=errors_doc(400, 404, 503),
)
async def get_capacity(
    request: Request,
    session: Session,
    planning: Planning,
    path: GatewayPath,
    start: FromQuery = None,
    end: Annotated[
        str | None,
        Query(
            alias="to",
            description="ISO 8601, after from; default: from + 8 days",
            json_schema_extra=QUERY_DATE_DOC,
        ),
    ] = None,
) -> Response:
    """The gateway's capacity slots overlapping [from, to) and its MaxPowerKw."""
    first = query_date(request, "from", UTC) or planning.now
    last = query_date(request, "to", UTC) or first + timedelta(days=8)
    return reply(await service.capacity(session, path, first, last))


@router.delete(GATEWAY + "/capacity", status_code=204, responses=errors_doc(400, 404, 503))
async def delete_capacity(session: Session, planning: Planning, path: GatewayPath) -> Response:
    """Drop the schedule: MaxPowerKw holds at all times again."""
    await service.clear_capacity(session, path, planning)
    return Response(status_code=204)


@router.post(
    DEVICE + "/meterreadings",
    status_code=201,
    response_model=schemas.MeterReadingOut,
    responses=errors_doc(400, 404, 409, 415, 503),
    openapi_extra=body_doc(schemas.MeterReadingIn),
)
async def post_meter_reading(
    request: Request, session: Session, planning: Planning, path: DevicePath
) -> Response:
    """What the device has charged: its energy register (kWh) and, optionally, the car's
    state of charge (%). The gateway is replanned for the energy still missing."""
    body = await read_body(request, schemas.MeterReadingIn)
    return reply(await service.post_meter_reading(session, path, body, planning), 201)
