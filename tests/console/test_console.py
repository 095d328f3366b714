"""The console over HTTP: sign-in, CSRF, the API's scoping, pages, CSV, live events."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from evcharge.app import create_app
from evcharge.auth.principal import Principal
from evcharge.config import Settings
from evcharge.console.chargers import RegisteredChargers
from evcharge.console.signin import event_stream, fingerprint
from tests.conftest import ADMIN_KEY, NOW
from tests.factories import (
    create_key,
    hourly_prices,
    order_body,
    order_parties,
    put_prices,
    register_device,
    revoke_key,
)


def browser(app: FastAPI, scheme: str = "http") -> httpx.AsyncClient:
    """A client without API key headers that keeps cookies, as a browser does."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=f"{scheme}://console.test"
    )


def form_token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, key: str, next_: str = "/") -> httpx.Response:
    form = await http.get("/ui/sign-in")
    return await http.post(
        "/ui/sign-in", data={"key": key, "csrf": form_token(form.text), "next": next_}
    )


@pytest.fixture
async def admin_browser(
    app: FastAPI, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as http:
        response = await sign_in(http, ADMIN_KEY)
        assert response.status_code == 303
        yield http


async def test_pages_send_an_unsigned_browser_to_the_sign_in_form(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with browser(app) as http:
        for path in ("/", "/ui/sites", "/ui/orders", "/ui/prices", "/ui/chargers"):
            response = await http.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/ui/sign-in?next=")
        htmx = await http.get("/ui/orders", headers={"HX-Request": "true"})
        assert htmx.status_code == 401
        assert htmx.headers["HX-Redirect"].startswith("/ui/sign-in")


async def test_sign_in_sets_a_strict_http_only_cookie_and_lands_on_next(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with browser(app) as http:
        response = await sign_in(http, ADMIN_KEY, next_="/ui/prices")
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/prices"
        cookie = response.headers["set-cookie"]
        assert "evcharge_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Secure" not in cookie  # plain http here
        page = await http.get("/ui/prices")
        assert page.status_code == 200
        assert "Sign out" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
    async with browser(app, "https") as secure:
        response = await sign_in(secure, ADMIN_KEY)
        assert "Secure" in response.headers["set-cookie"]


async def test_sign_in_never_redirects_to_another_site(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with browser(app) as http:
        for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
            response = await sign_in(http, ADMIN_KEY, next_=target)
            assert response.headers["location"] == "/"


async def test_a_wrong_key_or_a_missing_form_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with browser(app) as http:
        wrong = await sign_in(http, "evk_0123456789abcdef_nope")
        assert wrong.status_code == 401
        assert "not valid" in wrong.text
        assert "evcharge_session" not in wrong.headers.get("set-cookie", "")
        forged = await http.post("/ui/sign-in", data={"key": ADMIN_KEY, "csrf": "guess"})
        assert forged.status_code == 403
        assert (await http.get("/")).status_code == 303


async def test_sign_out_needs_the_session_csrf_token_and_ends_the_session(
    admin_browser: httpx.AsyncClient,
) -> None:
    page = await admin_browser.get("/")
    assert page.status_code == 200
    token = admin_browser.cookies["evcharge_session"]
    forged = await admin_browser.post("/ui/sign-out", data={"csrf": "guess"})
    assert forged.status_code == 403
    assert (await admin_browser.get("/")).status_code == 200
    out = await admin_browser.post("/ui/sign-out", data={"csrf": form_token(page.text)})
    assert out.status_code == 303
    assert (await admin_browser.get("/")).status_code == 303
    admin_browser.cookies.set("evcharge_session", token)  # a copied cookie is dead too
    assert (await admin_browser.get("/")).status_code == 303


async def test_revoking_the_key_ends_its_console_sessions(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    key_id, key = await create_key(app)
    async with browser(app) as http:
        assert (await sign_in(http, key)).status_code == 303
        assert (await http.get("/ui/sites")).status_code == 200
        await revoke_key(app, key_id)
        assert (await http.get("/ui/sites")).status_code == 303


async def test_a_customer_key_sees_its_own_site_and_gets_not_found_for_another(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register_device(client, customer=1, gateway=1, price_area="BE")
    await register_device(client, customer=2, gateway=5)
    _id, key = await create_key(app, customer=1)
    async with browser(app) as http:
        assert (await sign_in(http, key)).status_code == 303
        own = await http.get("/ui/sites/1/1/1")
        assert own.status_code == 200
        assert "Gateway 1" in own.text
        other = await http.get("/ui/sites/2/1/5")
        missing = await http.get("/ui/sites/99/1/1")
        assert other.status_code == missing.status_code == 404
        assert "No customer 2 exists." in other.text
        listing = await http.get("/ui/sites")
        assert "/ui/sites/1/1/1" in listing.text
        assert "/ui/sites/2/" not in listing.text


async def test_orders_page_filters_totals_and_scopes_like_get_orders(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    device, customer = await order_parties(client, customer=1)
    other_device, other_customer = await order_parties(client, customer=2, device=2)
    path = "/api/ChargeOrder/CreateOrder"
    for hour, quantity in ((18, 7.5), (20, 2.25)):
        body = order_body(
            device, customer, Id=f"own-{hour}", ElectricQuantity=quantity,
            StartTime=f"2025-11-08T{hour}:00:00+00:00", EndTime=f"2025-11-08T{hour}:59:00+00:00",
        )  # fmt: skip
        assert (await client.post(path, json=body)).status_code == 200
    theirs = order_body(other_device, other_customer, Id="theirs-1", ElectricQuantity=1)
    assert (await client.post(path, json=theirs)).status_code == 200
    _id, key = await create_key(app, customer=1)
    async with browser(app) as http:
        assert (await sign_in(http, key)).status_code == 303
        page = await http.get("/ui/orders")
        assert page.status_code == 200
        assert "own-18" in page.text and "own-20" in page.text
        assert "theirs-1" not in page.text
        assert re.search(r'id="total-orders">2<', page.text)
        assert "9.750 kWh" in page.text
        asked_for_other = await http.get(f"/ui/orders?customer={other_customer}")
        assert "theirs-1" not in asked_for_other.text
        narrowed = await http.get("/ui/orders?from=2025-11-08T19:00&to=2025-11-08T23:00")
        assert "own-20" in narrowed.text and "own-18" not in narrowed.text
        bad = await http.get("/ui/orders?from=yesterday")
        assert bad.status_code == 400
        assert "from" in bad.text
        exported = await http.get("/ui/orders.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert sorted(r["Id"] for r in rows) == ["own-18", "own-20"]
        assert {r["ElectricQuantity"] for r in rows} == {"7.5", "2.25"}


async def test_site_page_shows_plan_chart_limit_and_reason(
    app: FastAPI, client: httpx.AsyncClient, clock: object
) -> None:
    await register_device(
        client, gateway_max_power_kw=7, price_area="BE", max_power_kw=11, ChargePointId="CP-1"
    )
    start = NOW.replace(minute=0) - timedelta(hours=1)
    await put_prices(client, "BE", hourly_prices(start, [0.3, 0.1, 0.05, 0.2] * 6))
    deadline = (NOW + timedelta(hours=12)).isoformat()
    info = {"ChargingMode": 1, "SmartModeIsActive": True, "NetBatterySize": 60,
            "BatteryLevel": 50, "FullyChargedBy": deadline}  # fmt: skip
    response = await client.post(
        "/api/customers/1/contracts/1/gateways/1/evchargingdevices/1", json=info
    )
    assert response.status_code == 201, response.text
    async with browser(app) as http:
        assert (await sign_in(http, ADMIN_KEY)).status_code == 303
        page = await http.get("/ui/sites/1/1/1")
    assert page.status_code == 200
    text = page.text
    assert text.count('<svg class="chart"') == 2  # the site and its one device
    assert 'class="limit"' in text
    assert 'class="bar"' in text and 'class="price"' in text
    assert "Smart (cheapest hours)" in text
    assert "Target reached" in text or "Target not reached" in text
    assert "CP-1" in text


async def test_prices_page_lists_areas_with_last_import_and_charts_one(
    admin_browser: httpx.AsyncClient, client: httpx.AsyncClient, clock: object
) -> None:
    await put_prices(client, "BE", hourly_prices(NOW.replace(minute=0), [0.1, 0.2, 0.3]))
    listing = await admin_browser.get("/ui/prices")
    assert '<a href="/ui/prices/BE">BE</a>' in listing.text
    chart = await admin_browser.get("/ui/prices/be")
    assert chart.status_code == 200
    assert 'class="price"' in chart.text
    assert (await admin_browser.get("/ui/prices/XX")).status_code == 404


async def test_chargers_list_registered_charge_points_without_inventing_state(
    app: FastAPI, admin_browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await register_device(client, ChargePointId="CP-42")
    await register_device(client, device=2)  # no ChargePointId: not a charger
    page = await admin_browser.get("/ui/chargers")
    assert "CP-42" in page.text
    assert "1 charger" in page.text
    # Never connected: said so, with no power and no heartbeat (nothing invented).
    assert "not connected</span>" in page.text and "never" in page.text
    assert 'class="badge ok">connected' not in page.text
    ocpp_source = app.state.charger_source
    app.state.charger_source = RegisteredChargers()  # a console without OCPP data
    try:
        page = await admin_browser.get("/ui/chargers")
    finally:
        app.state.charger_source = ocpp_source
    assert "CP-42" in page.text and "connection state" in page.text.lower()
    assert "connected</span>" not in page.text


async def test_docs_are_served_from_vendored_assets(app: FastAPI) -> None:
    async with browser(app) as http:
        docs = await http.get("/docs")
        assert docs.status_code == 200
        assert "/ui/static/swagger-ui-bundle.js" in docs.text
        assert "cdn" not in docs.text.lower()
        redoc = await http.get("/redoc")
        assert "/ui/static/redoc.standalone.js" in redoc.text
        assert "fonts.googleapis" not in redoc.text
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "htmx.min.js", "console.js"):
            assert (await http.get(f"/ui/static/{asset}")).status_code == 200, asset
        assert (await http.get("/ui/static/..%2Fapp.py")).status_code == 404


async def test_events_say_hello_then_signed_out_when_the_session_ends(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """Driven over raw ASGI, so the stream is read as it is sent (httpx's ASGI transport
    would wait for its end): hello first, then sign out, then the stream ends itself."""
    app = create_app(settings.model_copy(update={"console_event_seconds": 0.01}))
    sent: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    try:
        async with browser(app) as http:
            assert (await sign_in(http, ADMIN_KEY)).status_code == 303
            page = await http.get("/")
            token = http.cookies["evcharge_session"]
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": "GET", "scheme": "http", "path": "/ui/events",
                "raw_path": b"/ui/events", "query_string": b"", "root_path": "",
                "headers": [(b"host", b"console.test"),
                            (b"cookie", f"evcharge_session={token}".encode())],
                "client": ("127.0.0.1", 50000), "server": ("console.test", 80),
            }  # fmt: skip

            async def receive() -> dict[str, object]:
                await asyncio.Event().wait()  # the browser never goes away by itself
                return {"type": "http.disconnect"}

            async def send(message: dict[str, object]) -> None:
                await sent.put(message)

            streaming = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
            start = await asyncio.wait_for(sent.get(), 30)
            assert start["status"] == 200
            assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]  # type: ignore[operator]
            first = await asyncio.wait_for(sent.get(), 30)
            assert b"event: hello" in first["body"]  # type: ignore[operator]
            out = await http.post("/ui/sign-out", data={"csrf": form_token(page.text)})
            assert out.status_code == 303
            rest = b""
            while True:
                message = await asyncio.wait_for(sent.get(), 30)
                rest += message.get("body", b"")  # type: ignore[operator]
                if not message.get("more_body"):
                    break
            await asyncio.wait_for(streaming, 30)
    finally:
        await app.state.engine.dispose()
    events = re.findall(rb"^event: (.+)$", rest, re.M)
    assert events == [b"signed-out"]


async def test_stream_tells_changes_only_when_the_fingerprint_moves() -> None:
    answers: list[str | None] = ["a", "a", "b", "b", None]

    async def poll() -> str | None:
        return answers.pop(0)

    async def wait() -> None:
        return None

    said = [chunk async for chunk in event_stream(poll, wait)]
    assert [c.split("\n")[0] for c in said] == [
        "retry: 5000", ": still here", "event: change", ": still here", "event: signed-out",
    ]  # fmt: skip


async def test_fingerprint_moves_with_own_orders_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    device, customer = await order_parties(client, customer=1)
    other_device, other_customer = await order_parties(client, customer=2, device=2)
    mine = Principal("k1", "customer", 1, uuid.UUID(customer))
    before = await fingerprint(app.state, mine)
    theirs = order_body(other_device, other_customer, Id="theirs-2", ElectricQuantity=1)
    assert (await client.post("/api/ChargeOrder/CreateOrder", json=theirs)).status_code == 200
    assert await fingerprint(app.state, mine) == before
    own = order_body(device, customer, Id="mine-2", ElectricQuantity=1)
    assert (await client.post("/api/ChargeOrder/CreateOrder", json=own)).status_code == 200
    assert await fingerprint(app.state, mine) != before
