"""The console in a real browser: Debian's headless Chromium, driven by Playwright's
Python client (no browser download: `.ci/browser` installs Chromium with apt)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from evcharge.ocpp.simulator.charger import Charger
from tests.commandline import EVCHARGE, environment, run
from tests.conftest import ADMIN_KEY
from tests.live_server import free_port

CHROMIUM = os.environ.get("EVCHARGE_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"browser tests skipped: no Chromium at {CHROMIUM} (run .ci/browser, which installs "
        "Debian's chromium with apt, or set EVCHARGE_CHROMIUM)",
        allow_module_level=True,
    )
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
pytestmark = pytest.mark.slow


@dataclass
class Server:
    base: str
    customer_key: str
    other_customer: int = 2

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.base + path, headers=ADMIN, timeout=30, **kwargs)


def _seed(server: Server) -> None:
    """Two customers, a site with two chargers and a limit, prices, a smart plan, orders."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for customer in (1, 2):
        base = f"/api/customers/{customer}"
        assert server.api("PUT", base, json={"Name": f"Customer {customer}"}).is_success
        assert server.api("PUT", f"{base}/contracts/1", json={"Name": "Home"}).is_success
        gateway = {"Name": f"Depot {customer}", "MaxPowerKw": 15, "PriceArea": "BE"}
        assert server.api("PUT", f"{base}/contracts/1/gateways/1", json=gateway).is_success
        for device in (1, 2):
            body = {
                "Name": f"Bay {device}",
                "MaxPowerKw": 11,
                "ChargePointId": f"CP-{customer}-{device}",
            }
            path = f"{base}/contracts/1/gateways/1/evchargingdevices/{device}"
            assert server.api("PUT", path, json=body).is_success
    prices = [0.31, 0.28, 0.22, 0.12, 0.06, 0.04, 0.05, 0.11, 0.24, 0.33, 0.29, 0.18]
    slots = [
        {
            "Start": (now + timedelta(hours=i)).isoformat(),
            "End": (now + timedelta(hours=i + 1)).isoformat(),
            "Price": prices[i % len(prices)],
        }
        for i in range(36)
    ]
    assert server.api("PUT", "/api/prices/BE", json={"Currency": "EUR", "Slots": slots}).is_success
    for device, level in ((1, 20), (2, 55)):
        deadline = (now + timedelta(hours=14)).isoformat()
        info = {"ChargingMode": 1, "SmartModeIsActive": True, "NetBatterySize": 64,
                "BatteryLevel": level, "FullyChargedBy": deadline}  # fmt: skip
        path = f"/api/customers/1/contracts/1/gateways/1/evchargingdevices/{device}"
        assert server.api("POST", path, json=info).status_code == 201


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = environment(
        tmp,
        EVCHARGE_PORT=str(port),
        EVCHARGE_ADMIN_KEY=ADMIN_KEY,
        EVCHARGE_TIMEZONE="Europe/Brussels",
        EVCHARGE_CONSOLE_EVENT_SECONDS="1",
        EVCHARGE_LOG_LEVEL="warning",
        # What the pages show, not this shared machine's speed: under the full suite's
        # load a writer of this SQLite server once waited out the default 5 s for the
        # write lock, and the sign-in was (rightly) a 503 page instead of the console.
        EVCHARGE_DB_TIMEOUT_SECONDS="20",
    )
    assert run("db", "upgrade", env=env).returncode == 0
    created = run("keys", "create", "--customer", "1", env=env)
    assert created.returncode == 0, created.stderr
    process = subprocess.Popen([*EVCHARGE, "serve"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        running = Server(base, created.stdout.strip())
        _seed(running)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with playwright.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    tab.close()
    # Content-Security-Policy violations and script errors show up here.
    assert not [p for p in problems if "401" not in p and "404" not in p], problems


def shoot(page: Any, name: str) -> None:
    """Screenshots go to docs/screenshots/ when EVCHARGE_SCREENSHOTS=docs (to refresh the
    README's pictures), else to nowhere."""
    if os.environ.get("EVCHARGE_SCREENSHOTS") == "docs":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, server: Server, key: str) -> None:
    page.goto(server.base + "/")
    assert "/ui/sign-in" in page.url
    page.get_by_label("API key").fill(key)  # found by its label: the form is labelled
    page.get_by_label("API key").press("Enter")  # keyboard only
    page.wait_for_url(server.base + "/")


def test_admin_signs_in_sees_every_page_and_signs_out(page: Any, server: Server) -> None:
    expect = playwright.expect
    page.goto(server.base + "/")
    shoot(page, "sign-in")
    sign_in(page, server, ADMIN_KEY)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text("current (revision")).to_be_visible()
    shoot(page, "overview")

    page.get_by_role("link", name="Chargers", exact=True).click()
    expect(page.get_by_role("cell", name="CP-2-2")).to_be_visible()  # shot when charging

    page.get_by_role("link", name="Sites", exact=True).click()
    page.get_by_role("link", name="Depot 1").click()
    expect(page.get_by_role("heading", name="Site Depot 1")).to_be_visible()
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(3)  # the site and its two devices
    assert page.locator("svg.chart rect.bar").count() > 0
    assert page.locator("svg.chart line.limit").count() == 3
    expect(page.get_by_text("Smart (cheapest hours)").first).to_be_visible()
    shoot(page, "site")

    page.get_by_role("link", name="Prices", exact=True).click()
    page.get_by_role("link", name="BE", exact=True).click()
    expect(page.locator("svg.chart polyline.price")).to_have_count(1)
    shoot(page, "prices")

    page.get_by_role("link", name="Sessions & orders").click()
    expect(page.get_by_role("heading", name="Sessions and orders")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/sign-in")
    page.goto(server.base + "/ui/orders")
    assert "/ui/sign-in" in page.url


def test_orders_appear_live_without_reloading(page: Any, server: Server) -> None:
    expect = playwright.expect
    sign_in(page, server, ADMIN_KEY)
    page.goto(server.base + "/ui/orders")
    expect(page.locator("#total-orders")).to_have_text("0")
    device = server.api("GET", "/api/customers/1/contracts/1/gateways/1/evchargingdevices/1")
    customer = server.api("GET", "/api/customers/1").json()["Id"]
    order = {
        "Id": "live-1",
        "ChargingDeviceId": device.json()["Id"],
        "CustomerId": customer,
        "StartTime": "2026-01-10 08:00:00",
        "EndTime": "2026-01-10 10:00:00",
        "ElectricQuantity": 18.5,
        "DiscountPrice": 1.2,
    }
    assert server.api("POST", "/api/ChargeOrder/CreateOrder", json=order).status_code == 200
    # No reload: the server's event makes the page fetch its live region again.
    expect(page.get_by_role("cell", name="live-1")).to_be_visible(timeout=15_000)
    expect(page.locator("#total-orders")).to_have_text("1")
    shoot(page, "orders")


class SimulatedCharger:
    """The simulator's charger on an event loop of its own thread (the browser's driver
    is synchronous): each step runs there and is waited for."""

    def __init__(self, url: str, charge_point_id: str, password: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.charger = Charger(url, charge_point_id, password)

    def do(self, step: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(step, self.loop).result(timeout=30)

    def close(self) -> None:
        self.do(self.charger.drop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def test_a_simulated_charger_goes_from_available_to_charging_live(
    page: Any, server: Server
) -> None:
    expect = playwright.expect
    password = "browser-test-password-1"
    device = {"Name": "Bay 1", "MaxPowerKw": 11, "ChargePointId": "CP-1-1", "Password": password}
    path = "/api/customers/1/contracts/1/gateways/1/evchargingdevices/1"
    assert server.api("PUT", path, json=device).is_success
    assert server.api("PUT", "/api/customers/1/idtags/CARD-1", json={}).is_success
    sign_in(page, server, ADMIN_KEY)
    page.goto(server.base + "/ui/chargers")
    row = page.get_by_role("row").filter(has_text="CP-1-1")
    expect(row).to_contain_text("not connected")
    charger = SimulatedCharger(server.base.replace("http", "ws", 1) + "/ocpp", "CP-1-1", password)
    try:
        sim = charger.charger
        charger.do(sim.connect())
        assert charger.do(sim.boot()) == "Accepted"
        charger.do(sim.send(sim.status(1, "Available")))
        # No reload: the server's event makes the page fetch its live region again.
        expect(row).to_contain_text("Available", timeout=15_000)
        expect(row.get_by_text("connected", exact=True)).to_be_visible()
        started = charger.do(sim.send(sim.start(1, "CARD-1")))
        charger.do(sim.send(sim.status(1, "Charging")))
        sim.advance(timedelta(minutes=15))  # 7 kW for a quarter of an hour: 1.75 kWh
        charger.do(sim.send(sim.meter_value(1, started.transaction_id)))
        expect(row).to_contain_text("Charging", timeout=15_000)
        expect(row).to_contain_text("7.0", timeout=15_000)
        shoot(page, "chargers")
        row.get_by_role("link", name="CP-1-1").click()
        expect(page.get_by_role("heading", name="Charger CP-1-1")).to_be_visible()
        sessions = page.get_by_role("region", name="Sessions")
        session = sessions.get_by_role("row").filter(has_text="CARD-1")
        expect(session).to_contain_text("charging")
        expect(session).to_contain_text("1.750")
        expect(page.get_by_role("cell", name="Power.Active.Import").first).to_be_visible()
        shoot(page, "charger")

        # Send a remote command and see the charger's reply.
        page.get_by_label("Command", exact=True).select_option("UnlockConnector")
        page.get_by_label("Payload (OCPP 1.6 JSON)").fill('{"connectorId": 1}')
        page.get_by_role("button", name="Send").click()
        reply = page.locator("#command-result")
        expect(reply).to_contain_text("UnlockConnector", timeout=15_000)
        expect(reply).to_contain_text('"status": "Unlocked"')
        log = page.get_by_role("region", name="OCPP message log")
        expect(log.get_by_role("row").filter(has_text="to the charger").first).to_contain_text(
            "CALL UnlockConnector"
        )
        shoot(page, "charger-command")
    finally:
        charger.close()


def test_a_customer_key_is_refused_another_customers_site(page: Any, server: Server) -> None:
    expect = playwright.expect
    sign_in(page, server, server.customer_key)
    expect(page.get_by_text("customer 1 · key")).to_be_visible()
    page.goto(server.base + "/ui/sites/1/1/1")
    expect(page.get_by_role("heading", name="Site Depot 1")).to_be_visible()
    response = page.goto(server.base + "/ui/sites/2/1/1")
    assert response is not None and response.status == 404
    expect(page.get_by_text("No customer 2 exists.")).to_be_visible()
    page.goto(server.base + "/ui/chargers")
    expect(page.get_by_role("cell", name="CP-1-1")).to_be_visible()
    expect(page.get_by_role("cell", name="CP-2-1")).to_have_count(0)


def test_the_console_fits_a_phone_screen(browser_context: Any, server: Server) -> None:
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    try:
        tab.set_viewport_size({"width": 390, "height": 844})
        sign_in(tab, server, ADMIN_KEY)
        tab.goto(server.base + "/ui/sites/1/1/1")
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        shoot(tab, "phone-site")
    finally:
        tab.close()
