"""Web API 2's content negotiation (DefaultContentNegotiator), for family A's replies.

Family A's only formatter is Json.NET's, registered for application/json, text/json and
text/html (the seed lists all three). The reply's media type is chosen as Web API
chooses it: the best `Accept` match (quality first, then a literal type over `text/*`
over `*/*`), else the request's own content type, else application/json."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB_API_MEDIA_TYPES = ("application/json", "text/json", "text/html")
_DEFAULT = "application/json"


def choose(accept: str, content_type: str, supported: tuple[str, ...]) -> str | None:
    """The media type Web API's negotiator picks among `supported` (first = default), or
    None when neither Accept nor the request's content type names one."""
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        kind = kind.lower()
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        found = _match(kind, supported)
        if found is not None and (best is None or (quality, found[0]) > best[:2]):
            best = (quality, found[0], found[1])
    if best is not None:
        return best[2]
    requested = content_type.partition(";")[0].strip().lower()
    return requested if requested in supported else None


def _match(kind: str, supported: tuple[str, ...]) -> tuple[int, str] | None:
    """(rank, media type): a literal match ranks 2, `type/*` 1, `*/*` 0."""
    if kind in supported:
        return 2, kind
    if kind == "*/*":
        return 0, supported[0]
    if kind.endswith("/*"):
        prefix = kind[:-1]
        for media in supported:
            if media.startswith(prefix):
                return 1, media
    return None


class WebApiNegotiation:
    """Family A replies (JSON, written as application/json) get the negotiated media type,
    e.g. text/json for a text/json request or text/html for `Accept: text/html`.
    Family B (`excluded` prefix) negotiates its own JSON/XML replies."""

    def __init__(
        self, app: ASGIApp, prefix: str = "/api/", excluded: str = "/api/chargeorder"
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.excluded = excluded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "")).lower()
        if (
            scope["type"] != "http"
            or not path.startswith(self.prefix)
            or path.startswith(self.excluded)
        ):
            await self.app(scope, receive, send)
            return
        request = Headers(scope=scope)
        media = choose(
            request.get("accept", ""), request.get("content-type", ""), WEB_API_MEDIA_TYPES
        )
        if media is None or media == _DEFAULT:
            await self.app(scope, receive, send)
            return

        async def send_negotiated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                current = headers.get("content-type", "")
                if current.startswith(_DEFAULT):
                    headers["content-type"] = media + current[len(_DEFAULT) :]
            await send(message)

        await self.app(scope, receive, send_negotiated)
