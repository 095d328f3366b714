"""Turning every failure into the error shape of the API family the request belongs to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from evcharge.compat.body import BodyError, UnsupportedMediaType
from evcharge.db import database_unavailable, database_unreachable
from evcharge.errors import DomainError, Invalid

log = structlog.get_logger("evcharge.errors")

Renderer = Callable[[Request, DomainError], Response]


def web_api_error(request: Request, error: DomainError) -> Response:
    """ASP.NET Web API 2's shape: {"Message", "ModelState"} (ModelState only for 400)."""
    body: dict[str, Any] = {"Message": error.message}
    if error.detail:
        body["MessageDetail"] = error.detail
    if error.errors:
        body["ModelState"] = error.errors
    return JSONResponse(body, status_code=error.status, headers=error.headers)


_families: dict[str, Renderer] = {}


def register_family(path_prefix: str, renderer: Renderer) -> None:
    """Requests under `path_prefix` (case-insensitive) get errors from `renderer`;
    everything else gets Web API's shape."""
    _families[path_prefix.lower()] = renderer


def render(request: Request, error: DomainError) -> Response:
    path = request.url.path.lower()
    for prefix, renderer in _families.items():
        if path.startswith(prefix):
            return renderer(request, error)
    return web_api_error(request, error)


def install(app: FastAPI) -> None:
    """Exception handlers: every failure answers in the family's shape, never a bare 500."""

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return render(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            loc = [str(p) for p in err["loc"] if p not in ("path", "query", "header", "body")]
            errors.setdefault(".".join(loc) or "request", []).append(_message(err))
        error = Invalid(errors=errors)
        # Web API 2 explains a parameter it could not bind in MessageDetail.
        error.detail = " ".join(
            f"The value for parameter '{name}' is not valid: {' '.join(problems)}"
            for name, problems in errors.items()
        )
        return render(request, error)

    async def on_body(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyError)
        return render_exception(request, exc)

    async def on_media_type(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UnsupportedMediaType)
        return render_exception(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        detail = None
        if exc.status_code == 404:
            message = f"No HTTP resource was found that matches the request URI '{request.url}'."
            detail = f"No route matches the path '{request.url.path}'."
        elif exc.status_code == 405:
            message = f"The requested resource does not support http method '{request.method}'."
            headers["Allow"] = ", ".join(allowed_methods(request))
        else:
            message = str(exc.detail)
        error = DomainError(message, headers=headers)
        error.status = exc.status_code
        error.detail = detail
        return render(request, error)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return render_exception(request, exc)

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(BodyError, on_body)
    app.add_exception_handler(UnsupportedMediaType, on_media_type)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path accepts (Starlette's 405 names only the first
    route's; ASP.NET's `Allow` lists them all)."""
    methods: set[str] = set()
    for pattern, allowed in getattr(request.app.state, "route_methods", ()):
        if pattern.match(request.url.path):
            methods.update(allowed)
    return sorted(methods)


def render_exception(request: Request, exc: Exception) -> Response:
    """The answer to any exception a handler can raise (domain error, unreadable body,
    unsupported media type, database away, bug) — also for a raw ASGI endpoint that runs
    outside FastAPI's exception middleware (the CreateOrder hot path)."""
    if isinstance(exc, DomainError):
        return render(request, exc)
    if isinstance(exc, BodyError):
        return render(request, Invalid(errors={exc.field or "request": [exc.message]}))
    if isinstance(exc, UnsupportedMediaType):
        error = DomainError(
            exc.detail
            or f"The request entity's media type '{exc.media_type or '(none)'}' is not supported "
            "for this resource."
        )
        error.status = 415
        return render(request, error)
    if database_unreachable(exc):
        log.warning("database_unavailable", error=type(exc).__name__, detail=str(exc)[:200])
        return render(request, database_unavailable())
    log.exception("unhandled_error", path=request.url.path)
    error = DomainError("An error has occurred.")
    error.status = 500
    return render(request, error)


def _message(err: Any) -> str:
    msg = str(err.get("msg", "is invalid"))
    return msg.removeprefix("Value error, ")
