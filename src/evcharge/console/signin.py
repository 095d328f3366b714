"""Sign-in with an API key (checked by the API's Authenticator), sign-out, and the live
event stream the pages listen to."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.responses import RedirectResponse, Response, StreamingResponse

from evcharge.auth.principal import Principal
from evcharge.config import Settings
from evcharge.console import sessions
from evcharge.console.web import (
    Caller,
    SignInRequired,
    check_csrf,
    read_form,
    render,
    signed_in,
)
from evcharge.db import database_unreachable
from evcharge.errors import DomainError
from evcharge.orders.models import ChargeOrder
from evcharge.plans.models import ChargePlan
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path of this console (never another site: no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _secure(request: Request) -> bool:
    setting: bool | None = request.app.state.settings.console_secure_cookies
    return request.url.scheme == "https" if setting is None else setting


def _sign_in_form(
    request: Request, message: str | None = None, status: int = 200, next_: str = "/"
) -> Response:
    token = sessions.new_token()
    response = render(
        request,
        "sign_in.html",
        {"form_token": token, "message": message, "next": next_, "title": "Sign in"},
        status,
    )
    response.set_cookie(
        sessions.PRE_SIGN_IN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/ui/sign-in",
    )
    return response


@router.get("/ui/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    return _sign_in_form(request, next_=_safe_next(next))


@router.post("/ui/sign-in")
async def sign_in(request: Request) -> Response:
    fields = await read_form(request)
    target = _safe_next(fields.get("next"))
    expected = request.cookies.get(sessions.PRE_SIGN_IN_COOKIE)
    if expected is None or not sessions.same_token(fields.get("csrf"), expected):
        return _sign_in_form(request, "The form had expired; please sign in again.", 403, target)
    key = (fields.get("key") or "").strip()
    if not key:
        return _sign_in_form(request, "Enter an API key.", 400, target)
    settings: Settings = request.app.state.settings
    lifetime = timedelta(hours=settings.console_session_hours)
    try:
        async with request.app.state.engine.connect() as connection:
            token, _ = await sessions.sign_in(
                connection,
                request.app.state.authenticator,
                key,
                request.app.state.clock(),
                lifetime,
            )
            await connection.commit()
    except DomainError as exc:
        message = (
            "Too many attempts with this key; wait a moment."
            if exc.status == 429
            else "That API key is not valid or has been revoked."
        )
        return _sign_in_form(request, message, exc.status, target)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(sessions.PRE_SIGN_IN_COOKIE, path="/ui/sign-in")
    return response


@router.post("/ui/sign-out")
async def sign_out(request: Request, caller: Caller) -> Response:
    await check_csrf(request, caller)
    token = request.cookies.get(sessions.COOKIE, "")
    async with request.app.state.engine.connect() as connection:
        await sessions.sign_out(connection, token)
        await connection.commit()
    response = RedirectResponse("/ui/sign-in", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def fingerprint(state: Any, principal: Principal) -> str:
    """Changes whenever something a page shows may have changed: the caller's orders,
    plans and chargers (the charger source's `changes`) — only its own: a customer learns
    nothing of others' activity. One short connection: every open page polls it (on
    SQLite each transaction takes the write lock)."""
    orders = select(func.count(), func.max(ChargeOrder.created))
    plans = (
        select(func.count(), func.max(ChargePlan.created))
        .select_from(ChargePlan)
        .join(ChargingDevice, ChargingDevice.id == ChargePlan.device_id)
        .join(Gateway, Gateway.id == ChargingDevice.gateway_id)
        .join(Contract, Contract.id == Gateway.contract_id)
        .join(Customer, Customer.id == Contract.customer_id)
    )
    if not principal.is_admin:
        orders = orders.where(ChargeOrder.customer_id == principal.customer_filter(None))
        plans = plans.where(Customer.number == principal.customer_number)
    async with state.engine.connect() as connection:
        seen: list[Any] = [*(await connection.execute(orders)).one()]
        seen += [*(await connection.execute(plans)).one()]
        source = getattr(state, "charger_source", None)
        if source is not None:
            seen += await source.changes(connection, principal)
        await connection.commit()
    return hashlib.sha256(repr(seen).encode()).hexdigest()[:16]


Poll = Callable[[], Awaitable[str | None]]
"""The current fingerprint, or None once the session has ended."""


async def event_stream(poll: Poll, wait: Callable[[], Awaitable[None]]) -> AsyncIterator[str]:
    """Server-sent events: `hello` at once (the route already checked the session), then
    `change` whenever the fingerprint moves (first reading: the baseline),
    a comment line otherwise (keeps proxies from closing an idle stream), and
    `signed-out` (then the end) once the session is gone."""
    yield "retry: 5000\nevent: hello\ndata: \n\n"
    last: str | None = None
    first = True
    while True:
        if not first:
            await wait()
        try:
            now = await poll()
        except Exception as exc:
            if not database_unreachable(exc):  # a busy or absent database: try again later
                raise
            yield ": database unreachable\n\n"
            continue
        if now is None:
            yield "event: signed-out\ndata: \n\n"
            return
        if not first and now != last:
            yield f"event: change\ndata: {now}\n\n"
        elif not first:
            yield ": still here\n\n"
        last, first = now, False


@router.get("/ui/events")
async def events(request: Request, _caller: Caller) -> Response:
    """The live updates of the pages (static/console.js listens)."""
    interval = request.app.state.settings.console_event_seconds

    async def poll() -> str | None:
        try:
            current = await signed_in(request)
        except SignInRequired:
            return None
        return await fingerprint(request.app.state, current.principal)

    async def wait() -> None:
        await asyncio.sleep(interval)

    return StreamingResponse(
        event_stream(poll, wait),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
