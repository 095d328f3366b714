"""Reading a request body the way the originals' media-type formatters did."""

from __future__ import annotations

import codecs
import json
from typing import Any

from starlette.requests import Request

from evcharge.compat import lenient_json
from evcharge.compat.numbers import json_float, json_int

JSON_TYPES = frozenset({"application/json", "text/json"})
WEB_API_JSON_TYPES = JSON_TYPES | {"text/html"}
"""Family A's JSON formatter was also registered for text/html (the seed lists it)."""
MAX_JSON_DEPTH = 32


class BodyError(Exception):
    """The body cannot be read as the declared media type; `field` is '' for the whole body."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class UnsupportedMediaType(Exception):
    """415; `detail`, when given, is the whole message (e.g. naming a charset)."""

    def __init__(self, media_type: str, detail: str = "") -> None:
        super().__init__(media_type)
        self.media_type = media_type
        self.detail = detail


NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"})
"""Python text codecs that are transformations, not character sets a client may declare."""


def text_codec(charset: str) -> str:
    """Python's codec for a declared charset (default UTF-8). A charset that is unknown or
    not a text encoding (`zlib`, `base64`, `rot13`: Python codecs, not charsets) is 415."""
    name = charset or "utf-8"
    try:
        info = codecs.lookup(name)
        # CodecInfo says whether a codec turns bytes into text (documented on
        # codecs.CodecInfo only as a private flag; bytes.decode checks the same flag).
        codec = info.name if getattr(info, "_is_text_encoding", True) else ""
    except LookupError:
        codec = ""
    if not codec or codec in NOT_CHARSETS:
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise UnsupportedMediaType(
            "", f"The charset '{shown}' is not supported: declare a text encoding such as utf-8."
        ) from None
    return codec


def media_type(request: Request) -> tuple[str, str]:
    """(type/subtype lower-cased, charset or '')."""
    raw = request.headers.get("content-type", "")
    main, _, params = raw.partition(";")
    charset = ""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset":
            charset = value.strip().strip('"').lower()
    return main.strip().lower(), charset


def decode(raw: bytes, charset: str) -> str:
    """The body as text in its declared charset; bytes that charset cannot read are a
    400, never replaced."""
    codec = text_codec(charset)
    # Quirk: .NET clients often send a UTF-8 byte order mark; the originals skipped it.
    if codec == "utf-8" and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise BodyError(f"The body is not valid {codec}: byte {exc.start}.") from None


def parse_json(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON keeping decimals exact; nesting deeper than `max_depth` is refused."""
    if not text.strip():
        return None
    _check_depth(text, max_depth)
    try:
        value = _loads(text)
    except json.JSONDecodeError as exc:
        raise BodyError(
            f"Invalid JSON at line {exc.lineno}, position {exc.colno}: {exc.msg}."
        ) from None
    except RecursionError:
        raise BodyError(f"JSON nested deeper than {max_depth} levels.") from None
    return value


def _loads(text: str) -> Any:
    """Strict JSON; on failure, once more after rewriting Json.NET's leniencies
    (comments, single quotes, trailing commas); the strict error is the one reported."""
    try:
        return _strict(text)
    except json.JSONDecodeError as strict:
        try:
            rewritten = lenient_json.to_strict(text)
        except lenient_json.LenientJsonError:
            raise strict from None
        if rewritten == text:
            raise
        try:
            return _strict(rewritten)
        except json.JSONDecodeError:
            raise strict from None


def _strict(text: str) -> Any:
    return json.loads(text, parse_float=json_float, parse_int=json_int, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise BodyError(f"Invalid JSON: {name} is not a JSON value.")


def _check_depth(text: str, max_depth: int) -> None:
    """Refuse deep nesting before the parser recurses into it (bracket depth outside strings)."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                raise BodyError(f"JSON nested deeper than {max_depth} levels.")
        elif char in "]}":
            depth -= 1


async def read_json(request: Request, types: frozenset[str] = JSON_TYPES) -> Any:
    """The JSON body of a request whose media type must be one of `types`."""
    kind, charset = media_type(request)
    if kind not in types:
        raise UnsupportedMediaType(kind)
    return parse_json(decode(await request.body(), charset))
