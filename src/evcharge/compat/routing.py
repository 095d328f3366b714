"""Route matching as ASP.NET does it."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from starlette.routing import BaseRoute
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


class CaseInsensitivePaths:
    """Quirk: ASP.NET routing ignores case (`/api/Customers/1` is `/api/customers/1`).

    Fixed segments are rewritten to the spelling the routes use; parameter values
    (anything that is not one of those words) are passed on exactly as sent."""

    def __init__(self, app: ASGIApp, words: dict[str, str]) -> None:
        self.app = app
        self.words = words

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            segments = path.split("/")
            canonical = [self.words.get(s.lower(), s) if s else s for s in segments]
            if canonical != segments:
                scope = {**scope, "path": "/".join(canonical)}
        await self.app(scope, receive, send)
