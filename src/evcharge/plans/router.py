"""HTTP for plans: the original system's own path; reading never recomputes."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from evcharge.auth.principal import CustomerTree
from evcharge.compat.params import ContractNo, CustomerNo, DeviceNo, GatewayNo
from evcharge.compat.webapi import errors_doc, reply
from evcharge.db import Session
from evcharge.plans import service
from evcharge.plans.schemas import EvChargePlan
from evcharge.registry.repository import Path

router = APIRouter(
    prefix="/api/customers", tags=["smart charging"], dependencies=[Depends(CustomerTree())]
)


@router.get(
    "/{customerId}/contracts/{contractNo}/gateways/{gatewayAssetId}/evchargeplans/{deviceAssetId}",
    response_model=EvChargePlan,
    responses=errors_doc(400, 404, 503),
)
async def get_charge_plan(
    session: Session,
    customer_id: CustomerNo,
    contract_no: ContractNo,
    gateway_no: GatewayNo,
    device_no: DeviceNo,
) -> Response:
    """The device's stored charge plan: when to charge, at what power, what it costs."""
    return reply(await service.read(session, Path(customer_id, contract_no, gateway_no, device_no)))
