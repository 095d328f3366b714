"""The `evcharge` command: serve, db, keys."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from evcharge.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from evcharge.plans.context import PlanContext
    from evcharge.prices.schemas import PriceSeriesPut

app = typer.Typer(help="evcharge: EV-charging backend.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
prices_app = typer.Typer(help="Spot prices per price area.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="API keys (only a hash of each key is stored).", no_args_is_help=True)
app.add_typer(prices_app, name="prices")
app.add_typer(keys_app, name="keys")
T = TypeVar("T")
Factory = async_sessionmaker[AsyncSession]


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise _fail(str(exc), code=2) from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    """One line on stderr (never wrapped, never a traceback) and the exit code."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (EVCHARGE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (EVCHARGE_PORT).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (EVCHARGE_WORKERS).")
    ] = None,
) -> None:
    """Serve the API (refuses a database whose schema is behind)."""
    from evcharge.db import create_engine
    from evcharge.migrations import SchemaBehind, require_current

    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"EVCHARGE_{name}"] = str(value)
    settings = _settings()

    async def check() -> None:
        engine = create_engine(settings)
        try:
            await _while_locked(lambda: require_current(engine), settings.db_timeout_seconds * 6)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except SchemaBehind as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:
        raise _fail(f"cannot reach the database ({type(exc).__name__}: {exc})") from None
    _first_run_admin_key(settings)
    metrics_dir = _metrics_directory(settings.workers)
    try:
        _serve(settings)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_directory(workers: int) -> str | None:
    """Several workers: Prometheus multiprocess mode needs a directory shared by them, set
    before any of them imports prometheus_client. A fresh one per start (removed at exit);
    an operator's own PROMETHEUS_MULTIPROC_DIR is emptied instead. Returns what to remove."""
    from evcharge.metrics import MULTIPROC_ENV, prepare_directory

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        prepare_directory(given)
        return None
    if workers <= 1:
        return None
    created = tempfile.mkdtemp(prefix="evcharge-metrics-")
    os.environ[MULTIPROC_ENV] = created
    return created


def _serve(settings: Settings) -> None:
    import uvicorn

    uvicorn.run(
        "evcharge.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        # uvicorn kills a worker that has not answered its health check in time and starts
        # another; on a busy host importing the app takes longer than uvicorn's 5 s.
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=False,
        timeout_keep_alive=settings.keep_alive_seconds,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        http=_http_protocol(),
        ws_ping_interval=settings.ocpp_ws_ping_interval_seconds,
        ws_ping_timeout=settings.ocpp_ws_ping_timeout_seconds,
        ws_per_message_deflate=False,
        # Security profile 2 (OCPP over wss): the same server behind TLS.
        ssl_certfile=os.environ.get("EVCHARGE_SSL_CERTFILE") or None,
        ssl_keyfile=os.environ.get("EVCHARGE_SSL_KEYFILE") or None,
    )


@app.command()
def worker() -> None:
    """Run only the replanning schedule (no HTTP), for deployments that separate it; any
    number may run: one leads, the others take over when it stops."""
    import signal

    from evcharge.db import create_engine, session_factory
    from evcharge.migrations import SchemaBehind, require_current
    from evcharge.plans.context import system_clock
    from evcharge.sites.schedule import ScheduleState, run_schedule

    settings = _settings()

    async def main() -> None:
        engine = create_engine(settings)
        try:
            await require_current(engine)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await run_schedule(
                settings, engine, session_factory(engine), system_clock, ScheduleState(), stop
            )
        finally:
            await engine.dispose()

    try:
        asyncio.run(main())
    except SchemaBehind as exc:
        raise _fail(str(exc)) from None


def _http_protocol() -> type | str:
    """uvicorn's httptools protocol with a header timeout; plain "auto" without httptools."""
    try:
        from evcharge.auth.slow_clients import HeaderTimeoutProtocol
    except ImportError:
        return "auto"
    return HeaderTimeoutProtocol


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one unit of work (committed when it returns)."""
    from evcharge.db import unit_of_work

    async def run(factory: Factory) -> T:
        async with unit_of_work(factory) as session:
            return await work(session)

    return _with_database(settings, run)


def _first_run_admin_key(settings: Settings) -> None:
    """No EVCHARGE_ADMIN_KEY and no usable admin key stored: create one, print it once,
    and keep it in ./var/admin.key (0600) so `make run` stays a single command."""
    if settings.admin_key is not None:
        return
    from evcharge.auth import repository, service

    async def ensure(session: AsyncSession) -> str | None:
        if await repository.has_active_admin(session):
            return None
        _row, key = await service.create_key(session, "admin")
        return key

    key = _in_session(settings, ensure)
    if key is None:
        return
    service.write_key_file(settings.admin_key_file, key)
    typer.echo(
        f"First run: created an admin API key (shown once; also in {settings.admin_key_file}, "
        f"mode 0600):\n\n    {key}\n\n"
        f'Call the API with:  curl -H "Authorization: Bearer $(cat {settings.admin_key_file})" '
        f"http://{settings.host}:{settings.port}/api/customers\n"
    )


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str | None, typer.Option(help="admin (default without --customer) or customer.")
    ] = None,
    customer: Annotated[
        int | None, typer.Option(help="Customer number (CustomerId) the key is limited to.")
    ] = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from evcharge.auth import service

    chosen = role or ("customer" if customer is not None else None)
    if chosen not in ("admin", "customer"):
        raise _fail("give --role admin or --customer N", 2)
    if chosen == "admin" and customer is not None:
        raise _fail("an admin key is not limited to a customer; drop --customer", 2)
    if chosen == "customer" and customer is None:
        raise _fail("a customer key needs --customer N", 2)
    settings = _settings()

    async def create(session: AsyncSession) -> tuple[str, str]:
        row, key = await service.create_key(
            session, "admin" if chosen == "admin" else "customer", customer
        )
        return row.id, key

    key_id, key = _in_session(settings, create)
    scope = "admin" if customer is None else f"customer {customer}"
    typer.echo(f"created key {key_id} ({scope}); it is shown only this once:", err=True)
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, role, customer, created, last used, revoked (never the key)."""
    from evcharge.auth import repository

    settings = _settings()
    rows = _in_session(settings, repository.all_keys)
    line = "{:<16}  {:<8}  {:>10}  {:<20}  {:<20}  {}"
    typer.echo(line.format("id", "role", "customer", "created", "last used", "revoked"))
    for row in rows:
        customer = "" if row.customer_number is None else str(row.customer_number)
        typer.echo(
            line.format(
                row.id,
                row.role,
                customer,
                _when(row.created),
                _when(row.last_used),
                _when(row.revoked_at),
            ).rstrip()
        )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (see keys list).")]) -> None:
    """Revoke a key; requests bearing it are refused from the next one on."""
    from evcharge.auth import service

    settings = _settings()

    async def revoke(session: AsyncSession) -> None:
        await service.revoke_key(session, key_id)

    _in_session(settings, revoke)
    typer.echo(f"revoked {key_id}")


def _when(value: object) -> str:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    return ""


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to `revision` (default: the newest)."""
    from evcharge.migrations import upgrade

    settings = _settings()
    path = settings.sqlite_path
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.database_url, revision)
    except Exception as exc:
        raise _fail(f"upgrade failed ({type(exc).__name__}: {exc})") from None
    typer.echo(f"database is at {revision}")


async def _while_locked(read: Callable[[], Awaitable[T]], seconds: float) -> T:
    """`read`, tried again while another process holds an SQLite database's write lock
    (every SQLite transaction here begins IMMEDIATE): a start beside a busy writer waits
    instead of exiting; any other failure, or a lock held longer, stops as before."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await read()
        except OperationalError as exc:
            if "database is locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.5)


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and whether it is the newest."""
    from evcharge.db import create_engine
    from evcharge.migrations import current_revision, head_revision

    settings = _settings()

    async def read() -> str | None:
        engine = create_engine(settings)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    try:
        current = asyncio.run(read())
    except Exception as exc:
        raise _fail(f"cannot reach the database ({type(exc).__name__}: {exc})") from None
    head = head_revision()
    state = (
        "up to date" if current == head else f"behind (newest is {head}; run `evcharge db upgrade`)"
    )
    typer.echo(f"{current or 'empty'} — {state}")


def _with_database(settings: Settings, work: Callable[[Factory], Awaitable[T]]) -> T:
    """Run `work` against the configured database (whose schema must be current)."""
    from evcharge.db import create_engine, session_factory
    from evcharge.errors import DomainError
    from evcharge.migrations import SchemaBehind, require_current

    async def main() -> T:
        engine = create_engine(settings)
        try:
            await require_current(engine)
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except SchemaBehind as exc:
        raise _fail(str(exc)) from None
    except DomainError as exc:
        details = "; ".join(
            f"{field}: {' '.join(problems)}" for field, problems in exc.errors.items()
        )
        raise _fail(f"{exc.message} {details}".strip()) from None
    except Exception as exc:  # the database refused or is away: one line, no traceback
        raise _fail(f"database error ({type(exc).__name__}: {exc})") from None


def _planning(settings: Settings) -> PlanContext:
    from evcharge.plans.context import PlanContext, system_clock

    return PlanContext(now=system_clock(), efficiency=settings.charging_efficiency)


async def _store_prices(
    factory: Factory, area: str, body: PriceSeriesPut, settings: Settings
) -> str:
    from evcharge.db import unit_of_work
    from evcharge.plans import service as plans
    from evcharge.prices import service as prices

    async with unit_of_work(factory) as session:
        start, end = await prices.replace(session, area, body)
        updated = await plans.replan_area(session, area, _planning(settings))
    span = f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"
    return f"{area}: {len(body.slots)} slots stored ({span}); {updated} plans updated"


@prices_app.command("import")
def prices_import(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV (start,end,price), JSON (PUT body) or ENTSO-E A44 XML.",
        ),
    ],
    area: Annotated[str, typer.Option(help="Price area, e.g. NO1, DE-LU, BE.")],
    currency: Annotated[
        str | None, typer.Option(help="Currency (CSV default EUR; overrides JSON's).")
    ] = None,
) -> None:
    """Replace the area's prices over the file's range, then replan the area's gateways."""
    from evcharge.prices.files import PriceFileError, read_price_file

    settings = _settings()
    try:
        body = read_price_file(file, currency)
    except PriceFileError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        _with_database(
            settings, lambda factory: _store_prices(factory, area.upper(), body, settings)
        )
    )


@prices_app.command("fetch")
def prices_fetch(
    area: Annotated[str, typer.Option(help="Price area (bidding zone), e.g. BE, NL, DE-LU, NO1.")],
    days: Annotated[
        int, typer.Option(help="Days from today (UTC) to fetch; tomorrow's arrive ~13:00 CET.")
    ] = 2,
) -> None:
    """Fetch day-ahead prices from the ENTSO-E Transparency Platform (token in
    EVCHARGE_ENTSOE_TOKEN), store them like an upload and replan the area's gateways."""
    from datetime import UTC, datetime, timedelta

    from evcharge.prices.entsoe import EntsoeError, fetch_day_ahead
    from evcharge.prices.files import PriceFileError, entsoe_upload

    settings = _settings()
    token = settings.entsoe_token.get_secret_value() if settings.entsoe_token else ""
    if not token:
        raise _fail("set EVCHARGE_ENTSOE_TOKEN (a Transparency Platform security token)", 2)
    if not 1 <= days <= 14:
        raise _fail("--days must be 1 to 14", 2)
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        prices = fetch_day_ahead(token, area, start, start + timedelta(days=days))
        body = entsoe_upload(prices, None, "ENTSO-E")
    except (EntsoeError, PriceFileError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        _with_database(
            settings, lambda factory: _store_prices(factory, area.upper(), body, settings)
        )
    )


@prices_app.command("sample")
def prices_sample(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Only when no prices are stored.")
    ] = False,
) -> None:
    """Load the bundled 4 weeks of real Belgian day-ahead prices (area BE), shifted to now."""
    from evcharge.db import unit_of_work
    from evcharge.planning import sample_prices
    from evcharge.planning.samples import SAMPLE_PRICE_AREA
    from evcharge.prices import service as prices
    from evcharge.prices.schemas import PriceSeriesPut, PriceSlotIn

    settings = _settings()

    async def load(factory: Factory) -> str:
        if if_empty:
            async with unit_of_work(factory) as session:
                if not await prices.is_empty(session):
                    return "prices already stored; sample not loaded"
        slots = sample_prices(shift_to=_planning(settings).now)
        body = PriceSeriesPut(
            currency="EUR",
            slots=[
                PriceSlotIn(start=s.start, end=s.end, price=Decimal(str(s.price))) for s in slots
            ],
        )
        return "sample prices " + await _store_prices(factory, SAMPLE_PRICE_AREA, body, settings)

    typer.echo(_with_database(settings, load))


@app.command("plan")
def plan(
    all_devices: Annotated[
        bool, typer.Option("--all", help="Replan every device with charging information.")
    ] = False,
) -> None:
    """Replan in batch, with progress; report the saving against charging at once."""
    from rich.progress import Progress

    from evcharge.db import unit_of_work
    from evcharge.plans import service as plans

    if not all_devices:
        raise _fail("say what to plan: --all", code=2)
    settings = _settings()
    context = _planning(settings)

    async def run(factory: Factory) -> tuple[int, dict[str, float], float]:
        started = time.perf_counter()
        async with unit_of_work(factory) as session:
            gateway_ids = await plans.all_gateway_ids(session)
        count, savings = 0, dict[str, float]()
        with Progress(transient=True) as progress:
            task = progress.add_task("planning gateways", total=len(gateway_ids))
            for first in range(0, len(gateway_ids), plans.CHUNK):
                chunk = gateway_ids[first : first + plans.CHUNK]
                async with unit_of_work(factory) as session:
                    rows = await plans.replan_gateways(session, chunk, context)
                count += len(rows)
                for row in rows:
                    currency = row["currency"] or "?"
                    saving = float(row["cost_if_immediate"]) - float(row["estimated_cost"])
                    savings[currency] = savings.get(currency, 0.0) + saving
                progress.advance(task, len(chunk))
        return count, savings, time.perf_counter() - started

    count, savings, seconds = _with_database(settings, run)
    saved = (
        ", ".join(f"{amount:,.2f} {currency}" for currency, amount in sorted(savings.items()))
        or "nothing"
    )
    typer.echo(f"{count} plans in {seconds:.2f} s; saving against charging at once: {saved}")


chargers_app = typer.Typer(help="OCPP charge points (chargers).", no_args_is_help=True)
app.add_typer(chargers_app, name="chargers")


async def _charger_device_id(session: AsyncSession, charge_point_id: str) -> uuid.UUID | None:
    from evcharge.ocpp import repository

    device = await repository.device_by_charge_point(session, charge_point_id)
    return None if device is None else device.id


def _no_charger(charge_point_id: str) -> typer.Exit:
    return _fail(
        f"no device has ChargePointId {charge_point_id!r} "
        "(set it with the device PUT's ChargePointId)"
    )


@chargers_app.command("set-password")
def chargers_set_password(
    charge_point_id: Annotated[str, typer.Argument(help="The charger's ChargePointId.")],
    generate: Annotated[
        bool, typer.Option("--generate", help="Make a random password and print it once.")
    ] = False,
) -> None:
    """Set the charger's HTTP Basic password (16–40 characters; read from standard input
    unless --generate). Only a salted scrypt hash is stored."""
    import sys

    from evcharge.ocpp import passwords

    password = passwords.generate() if generate else sys.stdin.readline().rstrip("\r\n")
    problem = passwords.check_length(password)
    if problem is not None:
        raise _fail(f"the password {problem}", 2)
    settings = _settings()
    from evcharge.ocpp import service

    async def store(session: AsyncSession) -> bool:
        device_id = await _charger_device_id(session, charge_point_id)
        if device_id is None:
            return False
        await service.set_password(session, device_id, password, settings.ocpp_password_scrypt_n)
        return True

    if not _in_session(settings, store):
        raise _no_charger(charge_point_id)
    typer.echo(f"password of {charge_point_id} set", err=True)
    if generate:
        typer.echo(password)


@chargers_app.command("enable")
def chargers_enable(
    charge_point_id: Annotated[str, typer.Argument(help="The charger's ChargePointId.")],
    disable: Annotated[
        bool, typer.Option("--disable", help="Disable instead: BootNotification is Rejected.")
    ] = False,
) -> None:
    """Enable (or --disable) a charger; a disabled charger's boot is Rejected."""
    from evcharge.ocpp import service

    settings = _settings()

    async def store(session: AsyncSession) -> bool:
        device_id = await _charger_device_id(session, charge_point_id)
        if device_id is None:
            return False
        await service.set_enabled(session, device_id, not disable)
        return True

    if not _in_session(settings, store):
        raise _no_charger(charge_point_id)
    typer.echo(f"{charge_point_id} {'disabled' if disable else 'enabled'}", err=True)


@app.command("simulate")
def simulate(
    url: Annotated[str, typer.Option(help="Central system, e.g. ws://127.0.0.1:8000/ocpp")],
    chargers: Annotated[int, typer.Option(help="How many charge points to run.")] = 1,
    prefix: Annotated[str, typer.Option(help="ChargePointId = prefix + number.")] = "SIM-",
    first: Annotated[int, typer.Option(help="Number of the first charge point.")] = 1,
    password: Annotated[
        str | None, typer.Option(envvar="EVCHARGE_SIM_PASSWORD", help="Password of every charger.")
    ] = None,
    id_tag: Annotated[str, typer.Option(help="Id tag presented at start.")] = "SIMTAG",
    sessions: Annotated[int, typer.Option(help="Sessions per charger (0: stay connected).")] = 1,
    meter_values: Annotated[int, typer.Option(help="MeterValues per session.")] = 3,
    interval: Annotated[float, typer.Option(help="Seconds between MeterValues.")] = 1.0,
    offline_queue: Annotated[
        bool, typer.Option(help="Go offline after the start; replay queued messages later.")
    ] = False,
    lost_stop: Annotated[bool, typer.Option(help="Never send StopTransaction.")] = False,
    meter_reset: Annotated[bool, typer.Option(help="Reset the register mid-session.")] = False,
    clock_1970: Annotated[bool, typer.Option(help="Timestamps from an unset clock.")] = False,
    reconnect_storm: Annotated[
        bool, typer.Option(help="Drop and reconnect every charger mid-session.")
    ] = False,
) -> None:
    """Run simulated OCPP 1.6J charge points against a central system."""
    from evcharge.ocpp.simulator.runner import Scenario, run

    scenario = Scenario(
        sessions=sessions,
        meter_values=meter_values,
        interval=interval,
        id_tag=id_tag,
        offline_queue=offline_queue,
        lost_stop=lost_stop,
        meter_reset=meter_reset,
        clock_1970=clock_1970,
        reconnect_storm=reconnect_storm,
    )
    ids = [f"{prefix}{n}" for n in range(first, first + chargers)]
    report = asyncio.run(run(url.rstrip("/"), ids, password, scenario))
    typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


def main() -> None:
    app()
