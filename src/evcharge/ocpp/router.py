"""HTTP for OCPP: the chargers and their sessions (read), id tags of customers (write)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from evcharge.auth.principal import CustomerScoped, CustomerTree, Principal
from evcharge.compat.paging import Pages, Paging
from evcharge.compat.webapi import body_doc, errors_doc, read_body, reply
from evcharge.db import Session
from evcharge.errors import Conflict, Invalid, NotFound
from evcharge.ocpp import frame_log, reads, repository, schemas
from evcharge.ocpp.models import IdTag
from evcharge.ocpp.models import Transaction as TransactionRow
from evcharge.ocpp.smart.models import PLAN, SITE_DEFAULT
from evcharge.ocpp.smart.schedule import SmartConfig
from evcharge.ocpp.smart.wanted import UNSTEERABLE
from evcharge.registry.paths import CustomerPath
from evcharge.registry.repository import resolve

router = APIRouter(tags=["ocpp"])
id_tags = APIRouter(prefix="/api/customers", dependencies=[Depends(CustomerTree())])

READ_ERRORS = errors_doc(400, 404, 503)
WRITE_ERRORS = errors_doc(400, 404, 409, 415, 503)


# --- id tags ---------------------------------------------------------------------------


def _id_tag_wire(tag: IdTag, customer_number: int) -> schemas.IdTag:
    return schemas.IdTag(
        id_tag=tag.id_tag,
        customer_id=customer_number,
        status=tag.status,
        expiry_date=tag.expiry,
        created=tag.created,
        updated=tag.updated,
    )


IdTagParam = Annotated[
    str,
    PathParam(
        description="1 to 20 printable ASCII characters (OCPP 1.6 IdToken)",
        json_schema_extra={"pattern": "^[\\x21-\\x7e]{1,20}$"},
    ),
]
"""Documented as `_tag` checks it (a FastAPI pattern would refuse in FastAPI's shape)."""


def _tag(raw: str) -> str:
    if not 1 <= len(raw) <= 20 or any(ord(c) < 0x21 or ord(c) > 0x7E for c in raw):
        raise Invalid(errors={"idTag": ["An idTag is 1 to 20 printable ASCII characters."]})
    return raw


@id_tags.put(
    "/{customerId}/idtags/{idTag}",
    response_model=schemas.IdTag,
    status_code=200,
    responses={201: {"model": schemas.IdTag}, **WRITE_ERRORS},
    openapi_extra=body_doc(schemas.IdTagPut),
    tags=["ocpp"],
)
async def put_id_tag(
    request: Request,
    session: Session,
    path: CustomerPath,
    idTag: IdTagParam,
) -> Response:
    """An id tag (RFID card, app token) of the customer, with status and expiry."""
    tag_value = _tag(idTag)
    body = await read_body(request, schemas.IdTagPut)
    chain = await resolve(session, path, depth=1)
    now = request.app.state.clock()
    found = await session.get(IdTag, tag_value, with_for_update=True)
    created = found is None
    if found is None:
        found = IdTag(id_tag=tag_value, customer_id=chain.customer.id, created=now)
        session.add(found)
    elif found.customer_id != chain.customer.id:
        raise Conflict(errors={"idTag": [f"IdTag {tag_value!r} belongs to another customer."]})
    found.status = body.status
    found.expiry = body.expiry_date
    found.updated = now
    await session.flush()
    wire = _id_tag_wire(found, chain.customer.number)
    if created:
        location = f"/api/customers/{path.customer}/idtags/{quote(tag_value, safe='')}"
        return reply(wire, 201, {"Location": location})
    return reply(wire)


@id_tags.get(
    "/{customerId}/idtags/{idTag}",
    response_model=schemas.IdTag,
    responses=READ_ERRORS,
    tags=["ocpp"],
)
async def get_id_tag(
    session: Session,
    path: CustomerPath,
    idTag: IdTagParam,
) -> Response:
    tag_value = _tag(idTag)
    chain = await resolve(session, path, depth=1)
    found = await session.get(IdTag, tag_value)
    if found is None or found.customer_id != chain.customer.id:
        raise NotFound(f"No id tag {tag_value!r} exists for customer {path.customer}.")
    return reply(_id_tag_wire(found, chain.customer.number))


# --- chargers --------------------------------------------------------------------------


def _alive_after(request: Request) -> Any:
    ttl = timedelta(seconds=request.app.state.settings.ocpp_process_ttl_seconds)
    return request.app.state.clock() - ttl


def _charger_wire(found: reads.Found) -> schemas.Charger:
    row, state, live = found.device, found.state, found.live
    return schemas.Charger(
        charge_point_id=row.charge_point_id,
        device=schemas.ChargerDevice(
            id=row.id,
            customer_id=row.customer,
            contract_no=row.contract,
            gateway_asset_id=row.gateway,
            device_asset_id=row.number,
            name=row.name,
        ),
        connected=live,
        connected_since=state.connected_since if live and state else None,
        last_heartbeat=state.last_heartbeat if state else None,
        server_process=state.process_id if live and state else None,
        boot_status=state.boot_status if state else None,
        boot=state.boot if state else None,
        connectors=[
            schemas.Connector(
                connector_id=c.connector_id,
                status=c.status,
                error_code=c.error_code,
                info=c.info,
                vendor_error_code=c.vendor_error_code,
                timestamp=c.timestamp,
            )
            for c in found.connectors
        ],
        smart_charging=_smart_wire(found),
        charging_profiles=[
            schemas.ChargingProfile(
                kind=PROFILE_KINDS.get(p.kind, p.kind),
                status=p.status,
                acknowledged=not p.pending,
                attempts=p.attempts,
                next_attempt=p.next_attempt,
                error=p.error,
                updated=p.updated,
            )
            for p in found.profiles
        ],
    )


PROFILE_KINDS = {PLAN: "Plan", SITE_DEFAULT: "SiteDefault"}


def _smart_wire(found: reads.Found) -> schemas.SmartCharging | None:
    stored = found.state.smart_config if found.state is not None else None
    if not stored:
        return None
    config = SmartConfig.of(stored)
    refused = any(p.kind == PLAN and p.status in UNSTEERABLE for p in found.profiles)
    return schemas.SmartCharging(
        max_stack_level=config.max_stack_level,
        max_periods=config.max_periods,
        allowed_units=list(config.units),
        steerable=not refused,
    )


async def _chargers(
    request: Request,
    session: Session,
    principal: Principal,
    paging: Paging,
    charge_point_id: str | None = None,
) -> tuple[list[schemas.Charger], int]:
    filters = reads.ChargerFilter(charge_point_id=charge_point_id)
    found, total = await reads.chargers(session, principal, paging, _alive_after(request), filters)
    return [_charger_wire(f) for f in found], total


@router.get("/api/chargers", response_model=schemas.ChargerPage, responses=READ_ERRORS)
async def list_chargers(
    request: Request, session: Session, principal: CustomerScoped, paging: Pages
) -> Response:
    """Registered charge points with their connection state (customer keys: their own)."""
    items, total = await _chargers(request, session, principal, paging)
    return reply(schemas.ChargerPage.of(items, paging, total))


async def visible_charger(
    request: Request, session: AsyncSession, principal: Principal, charge_point_id: str
) -> schemas.Charger:
    """The charger as `GET api/chargers/{id}` shows it; 404 when it does not exist or the
    caller may not see it (the same answer)."""
    items, _ = await _chargers(request, session, principal, Paging(1, 1), charge_point_id)
    if not items:
        raise NotFound(f"No charge point with ChargePointId {charge_point_id!r} exists.")
    return items[0]


@router.get("/api/chargers/{chargePointId}", response_model=schemas.Charger, responses=READ_ERRORS)
async def get_charger(
    request: Request,
    session: Session,
    principal: CustomerScoped,
    chargePointId: str,
) -> Response:
    return reply(await visible_charger(request, session, principal, chargePointId))


def _transaction_wire(tx: TransactionRow) -> schemas.Transaction:
    return schemas.Transaction(
        transaction_id=tx.id,
        charge_point_id=tx.charge_point_id,
        connector_id=tx.connector_id,
        id_tag=tx.id_tag,
        state=tx.state,
        start_time=tx.start_time,
        charger_start_time=tx.charger_start,
        meter_start_wh=tx.meter_start_wh,
        stop_time=tx.stop_time,
        meter_stop_wh=tx.meter_stop_wh,
        stop_reason=tx.stop_reason,
        energy_kwh=tx.energy_kwh,
        flags=list(tx.flags),
        order_id=tx.order_id,
        order_error=tx.order_error,
    )


@router.get(
    "/api/chargers/{chargePointId}/transactions",
    response_model=schemas.TransactionPage,
    responses=READ_ERRORS,
)
async def list_transactions(
    request: Request,
    session: Session,
    principal: CustomerScoped,
    paging: Pages,
    chargePointId: str,
) -> Response:
    """The charger's sessions, newest first, with flags and what became of each."""
    await visible_charger(request, session, principal, chargePointId)
    rows, total = await reads.transactions(session, chargePointId, paging)
    page = schemas.TransactionPage.of([_transaction_wire(t) for t in rows], paging, total)
    return reply(page)


@router.get(
    "/api/chargers/{chargePointId}/transactions/{transactionId}/metervalues",
    response_model=schemas.MeterValuePage,
    responses=READ_ERRORS,
)
async def list_meter_values(
    request: Request,
    session: Session,
    principal: CustomerScoped,
    paging: Pages,
    chargePointId: str,
    transactionId: int,
) -> Response:
    await visible_charger(request, session, principal, chargePointId)
    if await repository.transaction(session, chargePointId, transactionId) is None:
        raise NotFound(f"No transaction {transactionId} exists on {chargePointId!r}.")
    rows, total = await reads.meter_values(session, transactionId, paging)
    items = [
        schemas.MeterValue(
            timestamp=v.timestamp,
            measurand=v.measurand,
            value=v.value,
            unit=v.unit,
            context=v.context,
            phase=v.phase,
            location=v.location,
            flags=list(v.flags),
        )
        for v in rows
    ]
    return reply(schemas.MeterValuePage.of(items, paging, total))


@router.get(
    "/api/chargers/{chargePointId}/log",
    response_model=schemas.LogPage,
    responses=READ_ERRORS,
)
async def list_frames(
    request: Request,
    session: Session,
    principal: CustomerScoped,
    paging: Pages,
    chargePointId: str,
) -> Response:
    """The charger's OCPP message log: every frame in and out, newest first, kept
    EVCHARGE_OCPP_LOG_DAYS days (customer keys: their own chargers)."""
    await visible_charger(request, session, principal, chargePointId)
    rows, total = await reads.frames(session, chargePointId, paging)
    items = []
    for row in rows:
        kind, message_id, action = frame_log.describe(row.frame)
        items.append(
            schemas.LogEntry(
                id=row.id,
                time=row.at,
                direction="in" if row.direction == "in" else "out",
                message_type=kind,
                message_id=message_id,
                action=action,
                frame=row.frame,
                size=row.size,
                truncated=row.size > len(row.frame),
            )
        )
    return reply(schemas.LogPage.of(items, paging, total))
