"""HTTP for plans: the original system's own path; reading never recomputes."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from evcharge.auth.principal import CustomerTree
from evcharge.compat.webapi import errors_doc, reply
from evcharge.db import Session
from evcharge.plans import service
from evcharge.plans.schemas import EvChargePlan
from evcharge.registry.paths import DevicePath

router = APIRouter(
    prefix="/api/customers", tags=["smart charging"], dependencies=[Depends(CustomerTree())]
)


@router.get(
    "/{customerId}/contracts/{contractNo}/gateways/{gatewayAssetId}/evchargeplans/{deviceAssetId}",
    response_model=EvChargePlan,
    responses=errors_doc(400, 404, 503),
)
async def get_charge_plan(session: Session, path: DevicePath) -> Response:
    """The device's stored charge plan: when to charge, at what power, what it costs."""
    return reply(await service.read(session, path))
