"""HTTP for seed B: create an order in JSON, XML or form; read orders and totals.

CreateOrder always answers the ResultMessage envelope; the read endpoints answer plain
data on 200 and the envelope on errors (see docs/orders.md)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from evcharge import metrics
from evcharge.auth import CustomerScoped, Principal, audit_entity
from evcharge.auth.principal import current_principal
from evcharge.compat import xml
from evcharge.compat.binding import NAIVE_ZONE
from evcharge.compat.envelope import (
    ResultMessage,
    Status,
    data,
    envelope_doc,
    negotiate,
    read_object,
)
from evcharge.compat.errors import render_exception
from evcharge.compat.numbers import OutOfRange, dumps
from evcharge.compat.paging import Pages
from evcharge.compat.params import QUERY_DATE_DOC, QUERY_GUID_DOC, query_date, query_value
from evcharge.compat.webapi import body_doc
from evcharge.config import Settings
from evcharge.db import Session, connection_unit_of_work
from evcharge.errors import Invalid
from evcharge.orders import service
from evcharge.orders.repository import Filters
from evcharge.orders.schemas import (
    ChargingOrder,
    ChargingOrderPage,
    ChargingOrderRequest,
    ChargingOrderSummary,
    ClientOrderId,
)

router = APIRouter(prefix="/api/ChargeOrder", tags=["seed B: charge orders"])

REQUEST_NAMESPACE = xml.DATA_CONTRACT + "Applications.Services.Dtos.Charge.RequestDto"
RESPONSE_NAMESPACE = xml.DATA_CONTRACT + "Applications.Services.Dtos.Charge.ResponseDto"
ID_NAMESPACE = xml.DATA_CONTRACT + "Util.Applications"
BODY_TYPES = (
    "application/json",
    "text/json",
    "application/xml",
    "text/xml",
    "application/x-www-form-urlencoded",
)
_CREATED = "The order was created."
_REPEATED = "The order already exists with this content; nothing was changed."


def bind(data: Any, settings: Settings) -> ChargingOrderRequest:
    """Bind the parsed body; dates without offset are in the operator's time zone."""
    if data is None:
        raise Invalid(errors={"request": ["A non-empty request body is required."]})
    if not isinstance(data, dict):
        raise Invalid(errors={"request": ["The request body must be a ChargingOrderRequest."]})
    try:
        return ChargingOrderRequest.model_validate(data, context={NAIVE_ZONE: settings.zone})
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "request"
            if err["type"] == "missing":
                problem = f"The {name} field is required."
            elif isinstance(err.get("input"), OutOfRange):
                problem = err["input"].message
            else:
                problem = str(err["msg"]).removeprefix("Value error, ")
                problem = problem if problem.endswith(".") else problem + "."
            errors.setdefault(name, []).append(problem)
        raise Invalid(errors=errors) from None


CREATE_PATH = "/api/ChargeOrder/CreateOrder"


@router.post(
    "/CreateOrder",
    response_model=None,
    responses=envelope_doc(200, 400, 409, 415, 422, 503),
    openapi_extra=body_doc(ChargingOrderRequest, BODY_TYPES),
    summary="新增订单 — create a charge order.",
)
async def create_order(request: Request, _caller: CustomerScoped) -> Response:
    """The seed endpoint. Repeating an order with the same Id and content is a success
    that changes nothing; overlapping another order of the device is a 409.

    Served by `CreateOrderFastPath` in the running app; this route documents it and
    answers the same when the fast path is not installed."""
    return await create_order_reply(request)


async def create_order_reply(request: Request) -> Response:
    """Parse, bind, store inside the request's unit of work (committed before the reply
    is built), answer the envelope in the negotiated format."""
    settings: Settings = request.app.state.settings
    caller = current_principal(request)
    raw = await read_object(request, "ChargingOrderRequest", REQUEST_NAMESPACE)
    body = bind(raw, settings)
    acting_for = None if caller.is_admin else caller.customer_filter(None)
    max_length = timedelta(days=settings.max_order_days)
    created = await service.create_at_once(request.app.state.engine, body, acting_for, max_length)
    if not isinstance(created, service.Created):
        async with connection_unit_of_work(request) as connection:
            created = await service.create(connection, body, acting_for, max_length, tried=created)
    metrics.order_created(new=created.new)
    audit_entity(request, "charge_order", created.client_id)
    message = _CREATED if created.new else _REPEATED
    result = ResultMessage(Status.Success, message, url=service.order_url(created.client_id))
    return result.render(negotiate(request), 200)


class CreateOrderFastPath:
    """Raw ASGI for the hot path: `POST api/ChargeOrder/CreateOrder` skips FastAPI's route
    matching, dependency solving and exception middleware (together they cost more CPU
    than the database round trip); the work is `create_order_reply`, as in the route.
    Install it inside CaseInsensitivePaths, which canonicalises the path first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CREATE_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await create_order_reply(request)
        except Exception as exc:
            response = render_exception(request, exc)
        await response(scope, receive, send)


_CLIENT_ID: TypeAdapter[str] = TypeAdapter(ClientOrderId)


def _client_id(raw: str) -> str:
    """An order Id from the query, held to the rules of the Id it looks up (the
    database could not even compare some values, e.g. a NUL character)."""
    try:
        return _CLIENT_ID.validate_python(raw)
    except ValidationError as exc:
        problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise Invalid(errors={"id": [f"The id {problem}."]}) from None


def _uuid(request: Request, name: str) -> uuid.UUID | None:
    raw = query_value(request, name)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Invalid(errors={name: [f"The value '{raw}' is not a valid Guid."]}) from None


def _filters(request: Request, caller: Principal) -> Filters:
    """The query's filters; a customer key's are always narrowed to its own customer."""
    filters = Filters(
        customer_id=caller.customer_filter(_uuid(request, "customerId")),
        device_id=_uuid(request, "deviceId"),
        start=query_date(request, "from", request.app.state.settings.zone),
        end=query_date(request, "to", request.app.state.settings.zone),
    )
    if filters.start and filters.end and filters.end < filters.start:
        raise Invalid(errors={"to": ["to must not be earlier than from."]})
    return filters


Text = Annotated[str | None, Query()]
CustomerFilter = Annotated[str | None, Query(alias="customerId", json_schema_extra=QUERY_GUID_DOC)]
DeviceFilter = Annotated[str | None, Query(alias="deviceId", json_schema_extra=QUERY_GUID_DOC)]
From = Annotated[str | None, Query(alias="from", json_schema_extra=QUERY_DATE_DOC)]
To = Annotated[
    str | None,
    Query(description="not earlier than from", json_schema_extra=QUERY_DATE_DOC),
]
_ORDER_ID_DOC = {
    "parameters": [
        {
            "name": "id",
            "in": "query",
            "required": True,
            "description": "The order's Id (its client id); matched case-insensitively by name.",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "pattern": "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]*$",
            },
        }
    ]
}
_GROUP_BY_DOC = {
    "parameters": [
        {
            "name": "groupBy",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "enum": ["customer", "device", "day"]},
        }
    ]
}


def _order_members(order: ChargingOrder) -> list[tuple[str, Any]]:
    """DataContract member order: alphabetical (Id, from the base class, comes first)."""
    members: list[tuple[str, Any]] = [
        ("ChargingDeviceId", order.charging_device_id),
        ("Created", order.created),
        ("CustomerId", order.customer_id),
        ("DiscountPrice", order.discount_price),
        ("ElectricQuantity", order.electric_quantity),
        ("EndTime", order.end_time),
        ("Remark", order.remark),
        ("StartTime", order.start_time),
    ]
    if order.source is not None:  # beyond the seed: only orders not made by CreateOrder
        members.insert(7, ("Source", order.source))
    return members


def _order_xml(order: ChargingOrder) -> str:
    inner = f'<Id xmlns="{ID_NAMESPACE}">{xml.escape(order.id)}</Id>'
    return inner + xml.members(_order_members(order), {})


@router.get(
    "/GetOrder",
    response_model=ChargingOrder,
    responses=envelope_doc(400, 404, 503),
    summary="One order by its Id.",
    openapi_extra=_ORDER_ID_DOC,
)
async def get_order(request: Request, session: Session, caller: CustomerScoped) -> Response:
    raw = query_value(request, "id")
    if raw is None:
        raise Invalid(errors={"id": ["The id query parameter is required."]})
    order = await service.one(session, _client_id(raw), caller)
    return data(
        request,
        lambda: dumps(order),
        lambda: (
            f'<ChargingOrder xmlns:i="{xml.XSI}" xmlns="{RESPONSE_NAMESPACE}">'
            f"{_order_xml(order)}</ChargingOrder>"
        ).encode(),
    )


@router.get(
    "/GetOrders",
    response_model=ChargingOrderPage,
    responses=envelope_doc(400, 503),
    summary="Orders filtered by customer, device and time range (overlap), newest first.",
)
async def get_orders(
    request: Request,
    session: Session,
    caller: CustomerScoped,
    paging: Pages,
    customer_id: CustomerFilter = None,
    device_id: DeviceFilter = None,
    from_: From = None,
    to: To = None,
) -> Response:
    filters = _filters(request, caller)
    items, total = await service.page(session, filters, number=paging.page, size=paging.size)
    result = ChargingOrderPage.of(items, paging, total)

    def as_xml() -> bytes:
        orders = "".join(f"<ChargingOrder>{_order_xml(o)}</ChargingOrder>" for o in items)
        listing = f"<Items>{orders}</Items>" if orders else "<Items />"
        return xml.document(
            "ChargingOrderPage",
            RESPONSE_NAMESPACE,
            [("Page", result.page), ("PageSize", result.page_size), ("TotalCount", total)],
            prefix=listing,
        )

    return data(request, lambda: dumps(result), as_xml)


@router.get(
    "/GetSummary",
    response_model=ChargingOrderSummary,
    responses=envelope_doc(400, 503),
    summary="Total energy, discount and order count per customer, device or day.",
    openapi_extra=_GROUP_BY_DOC,
)
async def get_summary(
    request: Request,
    session: Session,
    caller: CustomerScoped,
    customer_id: CustomerFilter = None,
    device_id: DeviceFilter = None,
    from_: From = None,
    to: To = None,
) -> Response:
    """Orders count in the group and range their StartTime falls in (days in the
    operator's time zone), so adjacent ranges never count an order twice."""
    grouping = (query_value(request, "groupBy") or "").lower()
    if grouping not in service.GROUPINGS:
        raise Invalid(errors={"groupBy": ["groupBy must be customer, device or day."]})
    settings: Settings = request.app.state.settings
    result = await service.summary(session, grouping, _filters(request, caller), settings.zone)

    def as_xml() -> bytes:
        dumped = result.model_dump(by_alias=True)
        dumped["Groups"] = [dict(sorted(group.items())) for group in dumped["Groups"]]
        return xml.document(
            "ChargingOrderSummary",
            RESPONSE_NAMESPACE,
            sorted(dumped.items()),
            {"Groups": "ChargingOrderSummaryGroup"},
        )

    return data(request, lambda: dumps(result), as_xml)
