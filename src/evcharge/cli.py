"""The `evcharge` command: serve, db, keys."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from evcharge.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

app = typer.Typer(help="evcharge: EV-charging backend.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="API keys (only a hash of each key is stored).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
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
    import uvicorn

    from evcharge.db import create_engine
    from evcharge.migrations import SchemaBehind, require_current

    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"EVCHARGE_{name}"] = str(value)
    settings = _settings()

    async def check() -> None:
        engine = create_engine(settings)
        try:
            await require_current(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except SchemaBehind as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:
        raise _fail(f"cannot reach the database ({type(exc).__name__}: {exc})") from None
    _first_run_admin_key(settings)

    uvicorn.run(
        "evcharge.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=False,
        timeout_keep_alive=settings.keep_alive_seconds,
        h11_max_incomplete_event_size=16 * 1024,
        http=_http_protocol(),
    )


def _http_protocol() -> type | str:
    """uvicorn's httptools protocol with a header timeout; plain "auto" without httptools."""
    try:
        from evcharge.auth.slow_clients import HeaderTimeoutProtocol
    except ImportError:
        return "auto"
    return HeaderTimeoutProtocol


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed unit of work."""
    from evcharge.db import create_engine, session_factory

    async def run() -> T:
        engine = create_engine(settings)
        try:
            async with session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


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

    try:
        key = _in_session(settings, ensure)
    except Exception as exc:
        raise _fail(f"cannot create the first admin key ({type(exc).__name__}: {exc})") from None
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

    try:
        key_id, key = _in_session(settings, create)
    except Exception as exc:
        raise _fail(f"cannot create the key ({type(exc).__name__}: {exc})") from None
    scope = "admin" if customer is None else f"customer {customer}"
    err.print(f"created key {key_id} ({scope}); it is shown only this once:", highlight=False)
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, role, customer, created, last used, revoked (never the key)."""
    from evcharge.auth import repository

    settings = _settings()
    try:
        rows = _in_session(settings, repository.all_keys)
    except Exception as exc:
        raise _fail(f"cannot read the keys ({type(exc).__name__}: {exc})") from None
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
    from evcharge.errors import NotFound

    settings = _settings()

    async def revoke(session: AsyncSession) -> None:
        await service.revoke_key(session, key_id)

    try:
        _in_session(settings, revoke)
    except NotFound as exc:
        raise _fail(exc.message) from None
    except Exception as exc:
        raise _fail(f"cannot revoke the key ({type(exc).__name__}: {exc})") from None
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


def main() -> None:
    app()
