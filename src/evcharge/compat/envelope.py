"""API family B's "Util" framework: the ResultMessage envelope, content negotiation and
reading a body in any of the media types the original's formatters accepted."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from evcharge.compat import xml
from evcharge.compat.body import (
    JSON_TYPES,
    UnsupportedMediaType,
    decode,
    media_type,
    parse_json,
)
from evcharge.compat.form import FORM_TYPE, parse_form
from evcharge.compat.negotiation import choose
from evcharge.errors import DomainError

RESULT_NAMESPACE = xml.DATA_CONTRACT + "Applications.WebApi.Common"
ARRAYS_NAMESPACE = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"


class Status(enum.IntEnum):
    """MStatusCode: an integer in JSON, its name in XML."""

    Fail = 0
    Success = 1


@dataclass(frozen=True, slots=True)
class Format:
    """The negotiated reply: 'json' or 'xml', and the media type to send."""

    kind: str
    media_type: str

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


JSON = Format("json", "application/json")
_KNOWN = {
    "application/json": Format("json", "application/json"),
    "text/json": Format("json", "text/json"),
    "application/xml": Format("xml", "application/xml"),
    "text/xml": Format("xml", "text/xml"),
}


def request_format(request: Request) -> Format:
    """The format of the request body; form and bodiless requests are answered in JSON."""
    kind, _ = media_type(request)
    return _KNOWN.get(kind, JSON)


def negotiate(request: Request) -> Format:
    """Web API's conneg: Accept decides (highest q, then a literal type over `type/*`
    over `*/*`, then the first formatter: JSON); `*/*` is JSON as in Web API 2. Without
    a usable Accept, the request's own format (form and bodiless requests: JSON)."""
    chosen = choose(request.headers.get("accept", ""), "", tuple(_KNOWN))
    return _KNOWN[chosen] if chosen is not None else request_format(request)


@dataclass(slots=True)
class ResultMessage:
    status: Status
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    url: str | None = None

    def json(self) -> bytes:
        body = {
            "status": int(self.status),
            "message": self.message,
            "errors": [
                {"field": name, "errorMessages": list(problems)}
                for name, problems in self.errors.items()
            ],
            "url": self.url,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def xml(self) -> bytes:
        # Quirk: ValidErrors is a [Serializable] class, so DataContractSerializer names
        # its members after the compiler's backing fields (<ErrorMessages>k__BackingField).
        errors = "".join(
            "<ValidErrors>"
            "<_x003C_ErrorMessages_x003E_k__BackingField"
            f' xmlns:d4p1="{ARRAYS_NAMESPACE}">'
            + "".join(f"<d4p1:string>{xml.escape(p)}</d4p1:string>" for p in problems)
            + "</_x003C_ErrorMessages_x003E_k__BackingField>"
            f"<_x003C_Field_x003E_k__BackingField>{xml.escape(name)}"
            "</_x003C_Field_x003E_k__BackingField>"
            "</ValidErrors>"
            for name, problems in self.errors.items()
        )
        url = '<Url i:nil="true" />' if self.url is None else f"<Url>{xml.escape(self.url)}</Url>"
        inner = (
            f"<Status>{self.status.name}</Status>"
            f"<Message>{xml.escape(self.message)}</Message>"
            f"{url}" + (f"<Errors>{errors}</Errors>" if errors else "<Errors />")
        )
        return f'<Result xmlns:i="{xml.XSI}" xmlns="{RESULT_NAMESPACE}">{inner}</Result>'.encode()

    def render(
        self, fmt: Format, status_code: int, headers: dict[str, str] | None = None
    ) -> Response:
        content = self.xml() if fmt.kind == "xml" else self.json()
        return Response(content, status_code, headers, media_type=fmt.content_type)


def render_error(request: Request, error: DomainError) -> Response:
    """Every failure under family B's prefix: the envelope with status Fail."""
    message = error.message
    retry_after = error.headers.get("Retry-After")
    if retry_after and "Retry-After" not in message:
        message = f"{message} Retry-After: {retry_after} seconds."
    result = ResultMessage(Status.Fail, message, error.errors)
    return result.render(negotiate(request), error.status, error.headers)


def data(request: Request, to_json: Callable[[], bytes], to_xml: Callable[[], bytes]) -> Response:
    """Plain data (not the envelope) in the negotiated format."""
    fmt = negotiate(request)
    body = to_xml() if fmt.kind == "xml" else to_json()
    return Response(body, 200, media_type=fmt.content_type)


async def read_object(request: Request, xml_root: str, xml_namespace: str) -> Any:
    """The body as JSON value or {name: text} (XML, form); other media types are a 415."""
    kind, charset = media_type(request)
    raw = await request.body()
    if kind in JSON_TYPES:
        return parse_json(decode(raw, charset))
    if kind in xml.XML_TYPES:
        return xml.parse_object(raw, charset, xml_root, xml_namespace) if raw.strip() else None
    if kind == FORM_TYPE:
        return parse_form(raw, charset) if raw.strip() else None
    raise UnsupportedMediaType(kind)


class ValidErrorsDoc(BaseModel):
    field: str
    errorMessages: list[str]  # the seed's camelCase key


class ResultMessageDoc(BaseModel):
    """The envelope, for OpenAPI: `status` 0 Fail / 1 Success."""

    status: Literal[0, 1]
    message: str
    errors: list[ValidErrorsDoc]
    url: str | None


def envelope_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        200: "Success: status 1, url where the order can be read.",
        400: "Invalid: errors name each field and why.",
        404: "Not found.",
        409: "Overlaps another order of the device (named in message and errors).",
        415: "Unsupported media type.",
        422: "The Id is already used by an order with different content.",
        503: "The database is unavailable; see Retry-After.",
    }
    media: dict[str, Any] = {
        "application/json": {},
        "application/xml": {},
        "text/xml": {},
        "text/json": {},
    }
    return {
        code: {"model": ResultMessageDoc, "description": text[code], "content": media}
        for code in statuses
    }
