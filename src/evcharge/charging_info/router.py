"""HTTP for seed A: POST a device's charging information; read its versions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from evcharge.auth.principal import CustomerTree
from evcharge.charging_info import service
from evcharge.charging_info.schemas import EvChargingInfo, EvChargingInformationReq
from evcharge.compat.body import (
    JSON_TYPES,
    UnsupportedMediaType,
    decode,
    media_type,
    parse_json,
)
from evcharge.compat.paging import Page, Pages
from evcharge.compat.webapi import bind, body_doc, errors_doc, read_body, reply
from evcharge.db import Session
from evcharge.plans.context import Planning
from evcharge.registry.paths import DevicePath
from evcharge.registry.repository import resolve

# A customer key may POST its own devices' charging information (what the home app
# does); clearing the history is an admin step before deleting the device.
router = APIRouter(
    prefix="/api/customers",
    tags=["seed A: charging information"],
    dependencies=[Depends(CustomerTree(customer_writes=frozenset({"POST", "PATCH"})))],
)

DEVICE = (
    "/{customerId}/contracts/{contractNo}/gateways/{gatewayAssetId}"
    "/evchargingdevices/{deviceAssetId}"
)
HISTORY = DEVICE + "/charginginformation"


@router.post(
    DEVICE,
    status_code=201,
    response_model=EvChargingInfo,
    responses=errors_doc(400, 404, 415, 503),
    openapi_extra=body_doc(EvChargingInformationReq),
    summary="Create a device charging information entity.",
)
async def create_charging_information(
    request: Request, session: Session, planning: Planning, path: DevicePath
) -> Response:
    """The seed endpoint. On success, returns the new entity (201, Location of the version)."""
    body = await read_body(request, EvChargingInformationReq)
    info = await service.create(session, path, body, planning)
    return reply(info, 201, {"Location": f"{path.url}/charginginformation/{info.id}"})


SMARTCHARGE = (
    "/{customerId}/contracts/{contractNo}/gateways/{gatewayAssetId}/smartcharge/{deviceAssetId}"
)
MERGE_PATCH_TYPES = frozenset({"application/merge-patch+json", *JSON_TYPES})


@router.patch(
    SMARTCHARGE,
    response_model=EvChargingInfo,
    responses=errors_doc(400, 404, 415, 503),
    openapi_extra=body_doc(
        EvChargingInformationReq,
        ("application/merge-patch+json", "application/json", "text/json"),
    ),
    summary="Change some fields of the device's charging information.",
)
async def patch_smart_charge(
    request: Request, session: Session, planning: Planning, path: DevicePath
) -> Response:
    """eSmart's partial update (JSON merge-patch): the fields sent replace the current
    charging information's (null clears one), a new version is stored and the gateway
    replanned; 404 while the device has no charging information."""
    await resolve(session, path, depth=4)  # a missing device is a 404 before any body check
    kind, charset = media_type(request)
    if kind not in MERGE_PATCH_TYPES:
        raise UnsupportedMediaType(kind)
    data = parse_json(decode(await request.body(), charset))
    body = bind(EvChargingInformationReq, data)
    return reply(await service.patch(session, path, body, planning))


@router.get(HISTORY, response_model=Page[EvChargingInfo], responses=errors_doc(400, 404, 503))
async def list_charging_information(session: Session, paging: Pages, path: DevicePath) -> Response:
    """Every version, newest first."""
    items, total = await service.history(session, path, page=paging.page, size=paging.size)
    return reply(Page[EvChargingInfo].of(items, paging, total))


@router.get(
    HISTORY + "/{infoId}", response_model=EvChargingInfo, responses=errors_doc(400, 404, 503)
)
async def get_charging_information(
    session: Session, path: DevicePath, info_id: Annotated[uuid.UUID, PathParam(alias="infoId")]
) -> Response:
    return reply(await service.one(session, path, info_id))


@router.delete(HISTORY, status_code=204, responses=errors_doc(400, 404, 503))
async def clear_charging_information(
    session: Session, planning: Planning, path: DevicePath
) -> Response:
    """Delete every version: the explicit step before the device itself can be deleted."""
    await service.clear(session, path, planning)
    return Response(status_code=204)
