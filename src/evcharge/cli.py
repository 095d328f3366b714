"""The `evcharge` command: serve, db."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from evcharge.config import ConfigError, Settings, load_settings

app = typer.Typer(help="evcharge: EV-charging backend.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


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

    uvicorn.run(
        "evcharge.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=False,
    )


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
