"""The console's pages (HTTP only: each reads through console.service or a feature's own
service, with the caller's Principal, and renders a template)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from evcharge import health
from evcharge.compat.binding import INT32_MAX, INT32_MIN
from evcharge.compat.params import query_date
from evcharge.config import Settings
from evcharge.console import charts, service
from evcharge.console.chargers import ChargerQuery, ChargerSource
from evcharge.console.web import Caller, local_time, render
from evcharge.db import Session, unit_of_work
from evcharge.errors import Invalid, NotFound
from evcharge.orders import service as orders
from evcharge.orders.repository import Filters
from evcharge.registry.paths import Path as SeedPath

router = APIRouter()

Number = Annotated[int, Path(ge=INT32_MIN, le=INT32_MAX)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PAGE_SIZE = 25


def _without_page(request: Request) -> str:
    """The query string minus `page`, ready for `page=N` to be appended."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return urlencode(kept) + "&" if kept else ""


def _pages(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // size))


@router.get("/")
async def overview(request: Request, caller: Caller, session: Session) -> Response:
    # Readiness first: on SQLite its own connection would wait for this request's open
    # transaction (every transaction takes the write lock there).
    ready, details = await health.readiness(request.app.state)
    counts = await service.overview(session, caller.principal)
    return render(
        request,
        "overview.html",
        {"counts": counts, "ready": ready, "health": details, "title": "Overview"},
        caller=caller,
    )


@router.get("/ui")
async def ui_root() -> Response:
    return RedirectResponse("/", status_code=308)


@router.get("/ui/sites")
async def sites(
    request: Request, caller: Caller, session: Session, q: str | None = None, page: PageNo = 1
) -> Response:
    rows, total = await service.sites(session, caller.principal, q, page, PAGE_SIZE)
    return render(
        request,
        "sites.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": _pages(total),
            "q": q or "",
            "title": "Sites",
        },
        caller=caller,
    )


@router.get("/ui/sites/{customer}/{contract}/{gateway}")
async def site(
    request: Request,
    caller: Caller,
    session: Session,
    customer: Number,
    contract: Number,
    gateway: Number,
) -> Response:
    settings: Settings = request.app.state.settings
    now = request.app.state.clock()
    view = await service.site(session, caller.principal, SeedPath(customer, contract, gateway), now)
    limit = None if view.gateway.max_power_kw is None else float(view.gateway.max_power_kw)
    unit = f"{view.currency or ''}/kWh"
    device_charts = [
        charts.chart(
            title=f"{d.device.name}: planned power and price",
            bars=d.power,
            line=view.prices,
            limit=float(d.device.max_power_kw),
            line_unit=unit,
            zone=settings.zone,
        )
        for d in view.devices
    ]
    site_chart = charts.chart(
        title=f"Site {view.gateway.name}: planned power of all devices, site limit and price",
        bars=charts.stack([d.power for d in view.devices]),
        line=view.prices,
        limit=limit,
        line_unit=unit,
        zone=settings.zone,
    )
    return render(
        request,
        "site.html",
        {
            "view": view,
            "site_chart": site_chart,
            "devices": list(zip(view.devices, device_charts, strict=True)),
            "when": local_time(request),
            "title": f"Site {view.gateway.name}",
        },
        caller=caller,
    )


def _uuid(raw: str | None, name: str) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Invalid(errors={name: [f"'{raw}' is not a valid id (a uuid)."]}) from None


def _order_filters(request: Request, caller: Caller) -> Filters:
    """The orders page's filters: the same narrowing as GetOrders (`customer_filter`)."""
    zone = request.app.state.settings.zone
    params = request.query_params
    filters = Filters(
        customer_id=caller.principal.customer_filter(_uuid(params.get("customer"), "customer")),
        device_id=_uuid(params.get("device"), "device"),
        start=query_date(request, "from", zone),
        end=query_date(request, "to", zone),
    )
    if filters.start and filters.end and filters.end < filters.start:
        raise Invalid(errors={"to": ["to must not be earlier than from."]})
    return filters


@router.get("/ui/orders")
async def orders_page(
    request: Request, caller: Caller, session: Session, page: PageNo = 1
) -> Response:
    settings: Settings = request.app.state.settings
    filters = _order_filters(request, caller)
    items, total = await orders.page(session, filters, number=page, size=PAGE_SIZE)
    totals = await orders.summary(session, "customer", filters, settings.zone)
    names = await service.device_names(session, {o.charging_device_id for o in items})
    return render(
        request,
        "orders.html",
        {
            "items": items,
            "names": names,
            "total": total,
            "totals": totals,
            "page": page,
            "pages": _pages(total),
            "query": request.url.query,
            "base_query": _without_page(request),
            "params": request.query_params,
            "when": local_time(request),
            "title": "Sessions and orders",
        },
        caller=caller,
    )


CSV_COLUMNS = [
    "Id",
    "ChargingDeviceId",
    "CustomerId",
    "StartTime",
    "EndTime",
    "ElectricQuantity",
    "DiscountPrice",
    "Remark",
    "Created",
]


@router.get("/ui/orders.csv")
async def orders_csv(request: Request, caller: Caller) -> Response:
    """Every order the filters select (no paging), as the API writes them (UTC, exact)."""
    filters = _order_filters(request, caller)
    factory = request.app.state.sessions

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        number = 1
        while True:
            async with unit_of_work(factory) as session:
                items, _total = await orders.page(session, filters, number=number, size=1000)
            for o in items:
                writer.writerow(
                    [
                        o.id,
                        o.charging_device_id,
                        o.customer_id,
                        o.start_time.isoformat(),
                        o.end_time.isoformat(),
                        o.electric_quantity,
                        o.discount_price,
                        o.remark or "",
                        o.created.isoformat(),
                    ]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if len(items) < 1000:
                return
            number += 1

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
    )


@router.get("/ui/prices")
async def prices(request: Request, caller: Caller, session: Session) -> Response:
    return render(
        request,
        "prices.html",
        {"areas": await service.areas(session), "when": local_time(request), "title": "Prices"},
        caller=caller,
    )


@router.get("/ui/prices/{area}")
async def price_area(
    request: Request,
    caller: Caller,
    session: Session,
    area: Annotated[str, Path(max_length=16, pattern=r"^[A-Za-z0-9_-]+$")],
) -> Response:
    settings: Settings = request.app.state.settings
    area = area.upper()
    now = request.app.state.clock()
    start = query_date(request, "from", settings.zone) or now.replace(
        minute=0, second=0, microsecond=0
    )
    end = query_date(request, "to", settings.zone) or start + timedelta(hours=48)
    if end <= start or end - start > timedelta(days=31):
        raise Invalid(errors={"to": ["to must be after from, at most 31 days later."]})
    updated = await service.last_import(session, area)
    if updated is None:
        raise NotFound(f"No prices are known for price area {area}.")
    spans, currency = await service.area_prices(session, area, start, end)
    chart = charts.chart(
        title=f"Prices of {area}",
        line=spans,
        line_unit=f"{currency}/kWh",
        zone=settings.zone,
    )
    return render(
        request,
        "price_area.html",
        {
            "area": area,
            "currency": currency,
            "updated": updated,
            "spans": spans,
            "chart": chart,
            "start": start,
            "end": end,
            "when": local_time(request),
            "title": f"Prices {area}",
        },
        caller=caller,
    )


@router.get("/ui/chargers")
async def chargers(
    request: Request,
    caller: Caller,
    session: Session,
    q: str | None = None,
    state: str | None = None,
    page: PageNo = 1,
) -> Response:
    source: ChargerSource = request.app.state.charger_source
    connected = {"connected": True, "disconnected": False}.get(state or "")
    query = ChargerQuery(text=q or None, connected=connected, page=page, size=PAGE_SIZE)
    rows, total = await source.chargers(session, caller.principal, query)
    return render(
        request,
        "chargers.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": _pages(total),
            "q": q or "",
            "state": state or "",
            "live": source.live,
            "when": local_time(request),
            "title": "Chargers",
        },
        caller=caller,
    )
