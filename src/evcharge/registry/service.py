"""Registry rules: idempotent PUT (create or replace), DELETE only without children."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.charging_info.models import ChargingInformation
from evcharge.errors import Conflict, Invalid
from evcharge.orders.models import ChargeOrder
from evcharge.plans import service as plans
from evcharge.plans.context import PlanContext
from evcharge.registry import schemas
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway
from evcharge.registry.paths import Path
from evcharge.registry.repository import Chain, count_children, resolve


async def _insert(session: AsyncSession, entity: Any, what: str) -> None:
    """Insert inside a savepoint so a racing duplicate becomes a 409, not a broken transaction."""
    try:
        async with session.begin_nested():
            session.add(entity)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"{what} was created or changed concurrently; retry the request.") from None


async def _id_is_free(
    session: AsyncSession, model: Any, wanted: uuid.UUID | None, what: str
) -> None:
    if wanted is not None and await session.get(model, wanted) is not None:
        raise Conflict(errors={"request.Id": [f"Id {wanted} already belongs to another {what}."]})


def _keep_id(entity: Any, wanted: uuid.UUID | None) -> None:
    # Mass-assignment guard: a stored entity's Id is server-owned once created.
    if wanted is not None and wanted != entity.id:
        raise Invalid(errors={"request.Id": [f"Id cannot be changed; it is {entity.id}."]})


async def put_customer(
    session: AsyncSession, number: int, body: schemas.CustomerPut
) -> tuple[Customer, bool]:
    customer = await session.scalar(select(Customer).where(Customer.number == number))
    if customer is not None:
        _keep_id(customer, body.id)
        customer.name = body.name
        await session.flush()
        return customer, False
    await _id_is_free(session, Customer, body.id, "customer")
    customer = Customer(id=body.id or uuid.uuid4(), number=number, name=body.name)
    await _insert(session, customer, f"Customer {number}")
    return customer, True


async def put_contract(
    session: AsyncSession, path: Path, body: schemas.ContractPut
) -> tuple[Chain, bool]:
    chain = await resolve(session, path, depth=1)
    contract = await session.scalar(
        select(Contract).where(
            Contract.customer_id == chain.customer.id, Contract.number == path.contract
        )
    )
    created = contract is None
    if contract is None:
        contract = Contract(customer_id=chain.customer.id, number=path.contract, name=body.name)
        await _insert(session, contract, f"Contract {path.contract}")
    else:
        contract.name = body.name
        await session.flush()
    return Chain(chain.customer, contract), created


async def put_gateway(
    session: AsyncSession, path: Path, body: schemas.GatewayPut, planning: PlanContext
) -> tuple[Chain, bool]:
    """Create or replace; its devices are replanned (the limit or price area may have changed)."""
    chain = await resolve(session, path, depth=2)
    assert chain.contract is not None
    gateway = await session.scalar(
        select(Gateway).where(
            Gateway.contract_id == chain.contract.id, Gateway.number == path.gateway
        )
    )
    fields = {"name": body.name, "max_power_kw": body.max_power_kw, "price_area": body.price_area}
    created = gateway is None
    if gateway is None:
        gateway = Gateway(contract_id=chain.contract.id, number=path.gateway, **fields)
        await _insert(session, gateway, f"Gateway {path.gateway}")
    else:
        for key, value in fields.items():
            setattr(gateway, key, value)
        await session.flush()
    if not created:
        await plans.replan_gateways(session, [gateway.id], planning, trigger="Gateway")
    return Chain(chain.customer, chain.contract, gateway), created


async def put_device(
    session: AsyncSession, path: Path, body: schemas.DevicePut, planning: PlanContext
) -> tuple[Chain, bool]:
    """Create or replace; a replaced device's gateway is replanned (its power may have changed)."""
    chain = await resolve(session, path, depth=3)
    assert chain.gateway is not None
    device = await session.scalar(
        select(ChargingDevice).where(
            ChargingDevice.gateway_id == chain.gateway.id, ChargingDevice.number == path.device
        )
    )
    if body.charge_point_id is not None:
        holder = await session.scalar(
            select(ChargingDevice.id).where(ChargingDevice.charge_point_id == body.charge_point_id)
        )
        if holder is not None and (device is None or holder != device.id):
            raise Conflict(
                errors={
                    "request.ChargePointId": [
                        f"ChargePointId {body.charge_point_id!r} belongs to another device."
                    ]
                }
            )
    fields = {
        "name": body.name,
        "description": body.description,
        "max_power_kw": body.max_power_kw,
        "charge_point_id": body.charge_point_id,
    }
    created = device is None
    if device is None:
        await _id_is_free(session, ChargingDevice, body.id, "EV charging device")
        device = ChargingDevice(
            id=body.id or uuid.uuid4(), gateway_id=chain.gateway.id, number=path.device, **fields
        )
        await _insert(session, device, f"EV charging device {path.device}")
    else:
        _keep_id(device, body.id)
        for key, value in fields.items():
            setattr(device, key, value)
        await session.flush()
    if not created:
        await plans.replan_gateways(session, [chain.gateway.id], planning, trigger="Device")
    return Chain(chain.customer, chain.contract, chain.gateway, device), created


CHILDREN: dict[int, list[tuple[Any, Any, str]]] = {
    1: [
        (Contract.customer_id, Contract.number, "contract(s)"),
        (ChargeOrder.customer_id, ChargeOrder.client_id, "charge order(s)"),
    ],
    2: [(Gateway.contract_id, Gateway.number, "gateway(s)")],
    3: [(ChargingDevice.gateway_id, ChargingDevice.number, "EV charging device(s)")],
    4: [
        (
            ChargingInformation.device_id,
            ChargingInformation.version,
            "charging information version(s)",
        ),
        (ChargeOrder.device_id, ChargeOrder.client_id, "charge order(s)"),
    ],
}
"""Per path depth, what may still reference the entity: (foreign key, label column, kind).
Nothing is cascaded: every one of them makes DELETE a 409."""


async def delete(session: AsyncSession, path: Path, depth: int) -> None:
    """Delete the entity at `path`; 409 while anything still hangs below it."""
    chain = await resolve(session, path, depth=depth, lock=True)
    entity = (chain.customer, chain.contract, chain.gateway, chain.device)[depth - 1]
    assert entity is not None
    for foreign_key, label, kind in CHILDREN[depth]:
        total, labels = await count_children(session, foreign_key, label, entity.id)
        if total:
            listed = ", ".join(str(n) for n in labels) + (", …" if total > len(labels) else "")
            raise Conflict(
                f"{path.name(depth)} still has {total} {kind} ({listed}); delete them first."
            )
    await session.delete(entity)
    await session.flush()
