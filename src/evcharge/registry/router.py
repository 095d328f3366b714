"""HTTP for the registry (family A): PUT creates or replaces, GET reads, DELETE refuses
while children exist."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import Response

from evcharge.auth.principal import CurrentPrincipal, CustomerTree
from evcharge.charging_info import service as charging_info
from evcharge.charging_info.schemas import EvChargingInfo
from evcharge.compat.paging import Page, Pages
from evcharge.compat.webapi import body_doc, errors_doc, read_body, reply
from evcharge.db import Session
from evcharge.plans.context import Planning
from evcharge.registry import schemas, service
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway
from evcharge.registry.paths import ContractPath, CustomerPath, DevicePath, GatewayPath, Path
from evcharge.registry.repository import Chain, page_of, resolve

# Customer keys read their own tree only; registry writes are for admin keys (403).
router = APIRouter(
    prefix="/api/customers", tags=["registry"], dependencies=[Depends(CustomerTree())]
)

CUSTOMER = "/{customerId}"
CONTRACT = CUSTOMER + "/contracts/{contractNo}"
GATEWAY = CONTRACT + "/gateways/{gatewayAssetId}"
DEVICE = GATEWAY + "/evchargingdevices/{deviceAssetId}"

READ_ERRORS = errors_doc(400, 404, 503)
WRITE_ERRORS = errors_doc(400, 404, 409, 415, 503)
DELETE_ERRORS = errors_doc(400, 404, 409, 503)


def customer_wire(c: Customer) -> schemas.Customer:
    return schemas.Customer(
        id=c.id, customer_id=c.number, name=c.name, created=c.created, updated=c.updated
    )


def contract_wire(chain: Chain) -> schemas.Contract:
    c = chain.contract
    assert c is not None
    return schemas.Contract(
        id=c.id,
        customer_id=chain.customer.number,
        contract_no=c.number,
        name=c.name,
        created=c.created,
        updated=c.updated,
    )


def gateway_wire(chain: Chain) -> schemas.Gateway:
    g = chain.gateway
    assert g is not None and chain.contract is not None
    return schemas.Gateway(
        id=g.id,
        customer_id=chain.customer.number,
        contract_no=chain.contract.number,
        gateway_asset_id=g.number,
        name=g.name,
        max_power_kw=g.max_power_kw,
        price_area=g.price_area,
        created=g.created,
        updated=g.updated,
    )


def device_wire(chain: Chain, info: EvChargingInfo | None = None) -> schemas.Device:
    d = chain.device
    assert d is not None and chain.contract is not None and chain.gateway is not None
    return schemas.Device(
        id=d.id,
        customer_id=chain.customer.number,
        contract_no=chain.contract.number,
        gateway_asset_id=chain.gateway.number,
        device_asset_id=d.number,
        name=d.name,
        description=d.description,
        max_power_kw=d.max_power_kw,
        charge_point_id=d.charge_point_id,
        phases=d.phases,
        voltage=d.voltage,
        created=d.created,
        updated=d.updated,
        ev_charging_info=info,
    )


def _put_reply(path: Path, wire: schemas.Entity, created: bool) -> Response:
    """201 with Location (the canonical path) when the PUT created the entity, 200 when
    it replaced it."""
    if created:
        return reply(wire, 201, {"Location": path.url})
    return reply(wire)


# --- customers -------------------------------------------------------------------------


@router.get("", response_model=Page[schemas.Customer], responses=READ_ERRORS)
async def list_customers(session: Session, paging: Pages, principal: CurrentPrincipal) -> Response:
    query = select(Customer).order_by(Customer.number)
    if not principal.is_admin:
        query = query.where(Customer.number == principal.customer_number)
    rows, total = await page_of(session, query, page=paging.page, size=paging.size)
    return reply(Page[schemas.Customer].of([customer_wire(c) for c in rows], paging, total))


@router.put(
    CUSTOMER,
    response_model=schemas.Customer,
    status_code=200,
    responses={201: {"model": schemas.Customer}, **WRITE_ERRORS},
    openapi_extra=body_doc(schemas.CustomerPut),
)
async def put_customer(request: Request, session: Session, path: CustomerPath) -> Response:
    body = await read_body(request, schemas.CustomerPut)
    customer, created = await service.put_customer(session, path.customer, body)
    return _put_reply(path, customer_wire(customer), created)


@router.get(CUSTOMER, response_model=schemas.Customer, responses=READ_ERRORS)
async def get_customer(session: Session, path: CustomerPath) -> Response:
    chain = await resolve(session, path, depth=1)
    return reply(customer_wire(chain.customer))


@router.delete(CUSTOMER, status_code=204, responses=DELETE_ERRORS)
async def delete_customer(session: Session, path: CustomerPath) -> Response:
    await service.delete(session, path, depth=1)
    return Response(status_code=204)


# --- contracts -------------------------------------------------------------------------


@router.get(CUSTOMER + "/contracts", response_model=Page[schemas.Contract], responses=READ_ERRORS)
async def list_contracts(session: Session, paging: Pages, path: CustomerPath) -> Response:
    chain = await resolve(session, path, depth=1)
    query = (
        select(Contract).where(Contract.customer_id == chain.customer.id).order_by(Contract.number)
    )
    rows, total = await page_of(session, query, page=paging.page, size=paging.size)
    items = [contract_wire(Chain(chain.customer, c)) for c in rows]
    return reply(Page[schemas.Contract].of(items, paging, total))


@router.put(
    CONTRACT,
    response_model=schemas.Contract,
    responses={201: {"model": schemas.Contract}, **WRITE_ERRORS},
    openapi_extra=body_doc(schemas.ContractPut),
)
async def put_contract(request: Request, session: Session, path: ContractPath) -> Response:
    body = await read_body(request, schemas.ContractPut)
    chain, created = await service.put_contract(session, path, body)
    return _put_reply(path, contract_wire(chain), created)


@router.get(CONTRACT, response_model=schemas.Contract, responses=READ_ERRORS)
async def get_contract(session: Session, path: ContractPath) -> Response:
    return reply(contract_wire(await resolve(session, path, depth=2)))


@router.delete(CONTRACT, status_code=204, responses=DELETE_ERRORS)
async def delete_contract(session: Session, path: ContractPath) -> Response:
    await service.delete(session, path, depth=2)
    return Response(status_code=204)


# --- gateways --------------------------------------------------------------------------


@router.get(CONTRACT + "/gateways", response_model=Page[schemas.Gateway], responses=READ_ERRORS)
async def list_gateways(session: Session, paging: Pages, path: ContractPath) -> Response:
    chain = await resolve(session, path, depth=2)
    assert chain.contract is not None
    query = select(Gateway).where(Gateway.contract_id == chain.contract.id).order_by(Gateway.number)
    rows, total = await page_of(session, query, page=paging.page, size=paging.size)
    items = [gateway_wire(Chain(chain.customer, chain.contract, g)) for g in rows]
    return reply(Page[schemas.Gateway].of(items, paging, total))


@router.put(
    GATEWAY,
    response_model=schemas.Gateway,
    responses={201: {"model": schemas.Gateway}, **WRITE_ERRORS},
    openapi_extra=body_doc(schemas.GatewayPut),
)
async def put_gateway(
    request: Request, session: Session, planning: Planning, path: GatewayPath
) -> Response:
    body = await read_body(request, schemas.GatewayPut)
    chain, created = await service.put_gateway(session, path, body, planning)
    return _put_reply(path, gateway_wire(chain), created)


@router.get(GATEWAY, response_model=schemas.Gateway, responses=READ_ERRORS)
async def get_gateway(session: Session, path: GatewayPath) -> Response:
    return reply(gateway_wire(await resolve(session, path, depth=3)))


@router.delete(GATEWAY, status_code=204, responses=DELETE_ERRORS)
async def delete_gateway(session: Session, path: GatewayPath) -> Response:
    await service.delete(session, path, depth=3)
    return Response(status_code=204)


# --- devices ---------------------------------------------------------------------------


@router.get(
    GATEWAY + "/evchargingdevices",
    response_model=Page[schemas.Device],
    responses=READ_ERRORS,
)
async def list_devices(session: Session, paging: Pages, path: GatewayPath) -> Response:
    chain = await resolve(session, path, depth=3)
    assert chain.gateway is not None
    query = (
        select(ChargingDevice)
        .where(ChargingDevice.gateway_id == chain.gateway.id)
        .order_by(ChargingDevice.number)
    )
    rows, total = await page_of(session, query, page=paging.page, size=paging.size)
    items = [device_wire(Chain(chain.customer, chain.contract, chain.gateway, d)) for d in rows]
    return reply(Page[schemas.Device].of(items, paging, total))


@router.put(
    DEVICE,
    response_model=schemas.Device,
    responses={201: {"model": schemas.Device}, **WRITE_ERRORS},
    openapi_extra=body_doc(schemas.DevicePut),
)
async def put_device(
    request: Request, session: Session, planning: Planning, path: DevicePath
) -> Response:
    body = await read_body(request, schemas.DevicePut)
    chain, created = await service.put_device(session, path, body, planning)
    assert chain.device is not None
    info = await charging_info.current(session, chain.device.id, path)
    return _put_reply(path, device_wire(chain, info), created)


@router.get(DEVICE, response_model=schemas.Device, responses=READ_ERRORS)
async def get_device(session: Session, path: DevicePath) -> Response:
    """The device, its current charging information embedded as `EvChargingInfo` (or null)."""
    chain = await resolve(session, path, depth=4)
    assert chain.device is not None
    return reply(device_wire(chain, await charging_info.current(session, chain.device.id, path)))


@router.delete(DEVICE, status_code=204, responses=DELETE_ERRORS)
async def delete_device(session: Session, path: DevicePath) -> Response:
    await service.delete(session, path, depth=4)
    return Response(status_code=204)
