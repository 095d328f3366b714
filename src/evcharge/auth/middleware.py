"""Pure ASGI middleware: authenticate every request before its unit of work starts,
and write one audit line per write once it has been answered (after its commit)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evcharge.auth.principal import Principal
from evcharge.auth.service import Authenticator
from evcharge.compat.errors import render
from evcharge.db import database_unavailable, database_unreachable
from evcharge.errors import DomainError

OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)
"""Answered without a key: probes of load balancers, and the API's own description."""

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

AUDIT_ENTITY = "audit_entity"
"""Request-state key a handler may set (see `audit_entity`) to name what it wrote."""

log = structlog.get_logger("evcharge.auth")
_AUDIT_WRAPPER = structlog.make_filtering_bound_logger(logging.INFO)


_audit: tuple[object, object, Any] | None = None


def _audit_logger() -> Any:
    """The audit logger: whatever EVCHARGE_LOG_LEVEL says, audit lines are written. Built
    again when logging is configured again (a new processor list) or standard output is
    replaced, so a reconfigured pipeline (log capture in tests) sees every line."""
    global _audit
    processors = structlog.get_config()["processors"]
    if _audit is None or _audit[0] is not processors or _audit[1] is not sys.stdout:
        logger = structlog.wrap_logger(
            None, wrapper_class=_AUDIT_WRAPPER, logger_factory_args=("evcharge.audit",)
        ).bind()
        _audit = (processors, sys.stdout, logger)
    return _audit[2]


def _entity(scope: Scope, location: str | None) -> dict[str, str | None]:
    """What a write touched, as far as the route says: the created thing's Location (kind:
    the segment before its id), else the path (kind: the route's last fixed segment)."""
    if location:
        parts = [p for p in location.split("?")[0].split("/") if p]
        return {"kind": parts[-2] if len(parts) > 1 else None, "id": location}
    template = str(getattr(scope.get("route"), "path", "") or "")
    fixed = [p for p in template.split("/") if p and not p.startswith("{")]
    return {"kind": fixed[-1] if fixed else None, "id": scope["path"]}


def audit_entity(request: Request, kind: str, entity_id: object) -> None:
    """Name the entity a write created or changed in its audit line (e.g. an order id)."""
    request.state.audit_entity = {"kind": kind, "id": str(entity_id)}


class Authenticate:
    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            principal = await self.authenticator.authenticate(headers)
        except DomainError as error:
            await render(Request(scope), error)(scope, receive, send)
            return
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            log.warning("database_unavailable", error=type(exc).__name__)
            await render(Request(scope), database_unavailable())(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        if scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        await self._audited(scope, receive, send, principal)

    async def _audited(self, scope: Scope, receive: Receive, send: Send, who: Principal) -> None:
        answer: dict[str, Any] = {"status": 500, "location": None}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                for key, value in message.get("headers", []):
                    if key.lower() == b"location":
                        answer["location"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            endpoint = scope.get("endpoint")
            entity = scope.get("state", {}).get(AUDIT_ENTITY) or _entity(scope, answer["location"])
            status = answer["status"]
            _audit_logger().info(
                "audit",
                key_id=who.key_id,
                role=who.role,
                method=scope["method"],
                path=scope["path"],
                action=getattr(endpoint, "__name__", None),
                entity_kind=entity["kind"],
                entity_id=entity["id"],
                status=status,
                outcome="ok" if status < 400 else "refused",
            )
