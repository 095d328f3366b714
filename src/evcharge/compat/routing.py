"""Route matching as ASP.NET does it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from fastapi import APIRouter
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send


def literal_segments(routers: Iterable[APIRouter]) -> dict[str, str]:
    """Every fixed path segment of the routes, keyed by its lower-case form."""
    words: dict[str, str] = {}
    for router in routers:
        routes: list[BaseRoute] = list(router.routes)
        for route in routes:
            template = router.prefix + str(getattr(route, "path", ""))
            for segment in template.split("/"):
                if segment and not segment.startswith("{"):
                    words[segment.lower()] = segment
    return words


def route_methods(routers: Iterable[APIRouter]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path pattern, methods) of every route: what a 405's `Allow` is computed from."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] = []
    for router in routers:
        for route in list(router.routes):
            methods = getattr(route, "methods", None)
            if methods:
                pattern, _, _ = compile_path(str(getattr(route, "path", "")))
                table.append((pattern, frozenset(methods)))
    return table


class CaseInsensitivePaths:
    """Quirk: ASP.NET routing ignores case (`/api/Customers/1` is `/api/customers/1`)
    and one trailing slash (`…/evchargingdevices/8/` is `…/evchargingdevices/8`).

    Fixed segments are rewritten to the spelling the routes use; parameter values
    (anything that is not one of those words) are passed on exactly as sent. The slash
    is dropped here rather than redirected: a 307 would make HttpClient repeat the
    request without its Authorization header."""

    def __init__(self, app: ASGIApp, words: dict[str, str]) -> None:
        self.app = app
        self.words = words

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/") and not path.endswith("//"):
                path = path[:-1]
            segments = path.split("/")
            canonical = [self.words.get(s.lower(), s) if s else s for s in segments]
            if canonical != segments or path != scope["path"]:
                scope = {**scope, "path": "/".join(canonical)}
        await self.app(scope, receive, send)
