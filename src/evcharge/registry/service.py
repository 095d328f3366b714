"""Registry rules: idempotent PUT (create or replace), DELETE only without children."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.auth.repository import keys_changed
from evcharge.charging_info.models import ChargingInformation
from evcharge.errors import Conflict, NotFound
from evcharge.ocpp import service as ocpp_service
from evcharge.ocpp.smart import wanted as charger_profiles
from evcharge.orders.models import ChargeOrder
from evcharge.plans import service as plans
from evcharge.plans.context import PlanContext
from evcharge.registry import schemas
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway
from evcharge.registry.paths import Path
from evcharge.registry.repository import (
    Chain,
    count_children,
    lock_gateway_for_replan,
    resolve,
    resolve_for_replan,
)

_UNIQUE_FIELDS = (
    (
        "charge_point_id",
        "request.ChargePointId",
        "ChargePointId {value!r} belongs to another device.",
    ),
    ("pk_", "request.Id", "Id {value} already belongs to another {what}."),
    (".id", "request.Id", "Id {value} already belongs to another {what}."),
)
"""Unique columns a racing writer can take between our check and our write, by the text
the constraint leaves in the driver's message (PostgreSQL names it, SQLite names the
column): the 409 then names the field, as the check before it would have."""


def _taken(exc: IntegrityError, values: dict[str, Any], what: str) -> Conflict:
    text = str(exc.orig)
    for marker, field, message in _UNIQUE_FIELDS:
        if marker in text:
            column = "charge_point_id" if field.endswith("ChargePointId") else "id"
            return Conflict(errors={field: [message.format(value=values.get(column), what=what)]})
    return Conflict(f"The {what} was changed concurrently; retry the request.")


async def _insert_new(
    session: AsyncSession, model: Any, values: dict[str, Any], natural_key: list[str], what: str
) -> Any | None:
    """INSERT … ON CONFLICT (natural key) DO NOTHING: the new row's entity, or None when a
    concurrent identical PUT created it first (PostgreSQL waits for that writer's commit,
    so the caller then finds the row and replaces it: 200, as an idempotent PUT should)."""
    table = model.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table).values(**values).on_conflict_do_nothing(index_elements=natural_key)
    ).returning(table.c.id)
    try:
        new_id = await session.scalar(statement)
    except IntegrityError as exc:
        raise _taken(exc, values, what) from None
    return None if new_id is None else await session.get(model, new_id)


async def _flush(session: AsyncSession, values: dict[str, Any], what: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _taken(exc, values, what) from None


async def _id_is_free(
    session: AsyncSession, model: Any, wanted: uuid.UUID | None, what: str
) -> None:
    if wanted is not None and await session.get(model, wanted) is not None:
        raise Conflict(errors={"request.Id": [f"Id {wanted} already belongs to another {what}."]})


def _keep_id(entity: Any, wanted: uuid.UUID | None) -> None:
    # Mass-assignment guard: a stored entity's Id is server-owned once created. A 409:
    # the body is well-formed, it conflicts with what is stored.
    if wanted is not None and wanted != entity.id:
        raise Conflict(errors={"request.Id": [f"Id cannot be changed; it is {entity.id}."]})


async def put_customer(
    session: AsyncSession, number: int, body: schemas.CustomerPut
) -> tuple[Customer, bool]:
    query = select(Customer).where(Customer.number == number)
    customer = await session.scalar(query)
    if customer is None:
        await _id_is_free(session, Customer, body.id, "customer")
        values = {"id": body.id or uuid.uuid4(), "number": number, "name": body.name}
        created = await _insert_new(session, Customer, values, ["number"], "customer")
        if created is not None:
            return created, True
        customer = await session.scalar(query.execution_options(populate_existing=True))
        assert customer is not None  # the concurrent creator committed it
    _keep_id(customer, body.id)
    customer.name = body.name
    await _flush(session, {}, "customer")
    return customer, False


async def put_contract(
    session: AsyncSession, path: Path, body: schemas.ContractPut
) -> tuple[Chain, bool]:
    chain = await resolve(session, path, depth=1)
    query = select(Contract).where(
        Contract.customer_id == chain.customer.id, Contract.number == path.contract
    )
    contract = await session.scalar(query)
    if contract is None:
        values = {"customer_id": chain.customer.id, "number": path.contract, "name": body.name}
        key = ["customer_id", "number"]
        contract = await _insert_new(session, Contract, values, key, "contract")
        if contract is not None:
            return Chain(chain.customer, contract), True
        contract = await session.scalar(query.execution_options(populate_existing=True))
        assert contract is not None
    contract.name = body.name
    await _flush(session, {}, "contract")
    return Chain(chain.customer, contract), False


async def put_gateway(
    session: AsyncSession, path: Path, body: schemas.GatewayPut, planning: PlanContext
) -> tuple[Chain, bool]:
    """Create or replace; its devices are replanned (the limit or price area may have changed)."""
    chain = await resolve(session, path, depth=2)
    assert chain.contract is not None
    query = select(Gateway.id).where(
        Gateway.contract_id == chain.contract.id, Gateway.number == path.gateway
    )
    fields = {"name": body.name, "max_power_kw": body.max_power_kw, "price_area": body.price_area}
    gateway_id = await session.scalar(query)
    if gateway_id is None:
        values = {"contract_id": chain.contract.id, "number": path.gateway, **fields}
        key = ["contract_id", "number"]
        new = await _insert_new(session, Gateway, values, key, "gateway")
        if new is not None:
            return Chain(chain.customer, chain.contract, new), True
        gateway_id = await session.scalar(query)
        assert gateway_id is not None
    if gateway_id not in await lock_gateway_for_replan(session, [gateway_id]):
        raise NotFound(path.missing(3))  # deleted while we waited for its lock
    gateway = await session.get_one(Gateway, gateway_id)
    for name, value in fields.items():
        setattr(gateway, name, value)
    await _flush(session, {}, "gateway")
    await plans.replan_gateways(session, [gateway.id], planning, trigger="Gateway")
    return Chain(chain.customer, chain.contract, gateway), False


async def put_device(
    session: AsyncSession, path: Path, body: schemas.DevicePut, planning: PlanContext
) -> tuple[Chain, bool]:
    """Create or replace; a replaced device's gateway is replanned (its power may have
    changed). Locks the gateway first, then the device (`lock_gateway_for_replan`)."""
    chain = await resolve_for_replan(session, path, depth=3)
    assert chain.gateway is not None
    query = select(ChargingDevice.id).where(
        ChargingDevice.gateway_id == chain.gateway.id, ChargingDevice.number == path.device
    )
    device_id = await session.scalar(query)
    if body.charge_point_id is not None:
        holder = await session.scalar(
            select(ChargingDevice.id).where(ChargingDevice.charge_point_id == body.charge_point_id)
        )
        if holder is not None and holder != device_id:
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
        "phases": body.phases,
        "voltage": body.voltage,
    }
    what = "EV charging device"
    if device_id is None:
        await _id_is_free(session, ChargingDevice, body.id, what)
        values = {
            "id": body.id or uuid.uuid4(),
            "gateway_id": chain.gateway.id,
            "number": path.device,
            **fields,
        }
        new = await _insert_new(session, ChargingDevice, values, ["gateway_id", "number"], what)
        assert new is not None  # the gateway's lock serialises its device writes
        if body.password is not None:
            await ocpp_service.set_password(session, new.id, body.password)
        if body.charge_point_id is not None:  # one more charger shares the site limit
            await charger_profiles.refresh_site_defaults(session, [chain.gateway.id], planning.now)
        return Chain(chain.customer, chain.contract, chain.gateway, new), True
    await lock_gateway_for_replan(session, [chain.gateway.id], [device_id])
    device = await session.get_one(ChargingDevice, device_id)
    _keep_id(device, body.id)
    for name, value in fields.items():
        setattr(device, name, value)
    await _flush(session, fields, what)
    if body.password is not None:
        await ocpp_service.set_password(session, device.id, body.password)
    await plans.replan_gateways(session, [chain.gateway.id], planning, trigger="Device")
    return Chain(chain.customer, chain.contract, chain.gateway, device), False


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
    if depth >= 3:  # gateway, then device: THE lock order of writes that replan
        chain = await resolve_for_replan(session, path, depth=depth)
    else:
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
    if depth == 1:  # a customer key caches its customer's uuid: drop it everywhere
        await keys_changed(session)
