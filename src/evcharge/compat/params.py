"""Parameters of the seed routes: path numbers as .NET Int32 values, named as in the
seeds; query values bound as ASP.NET binds them.

One parser of path ids (`parse_int32`) serves routing (the route's parameters),
validation (its message) and authorisation (`auth.principal.CustomerTree`): two parsers
that disagreed on `2.0` once let a customer key into another customer's tree."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import PlainValidator, WithJsonSchema
from starlette.requests import Request

from evcharge.compat.binding import INT32_MAX, INT32_MIN
from evcharge.compat.dates import parse_datetime
from evcharge.compat.wire_schema import DATE_ALTERNATIVES
from evcharge.errors import Invalid

_INT32_TEXT = re.compile(r"[+-]?[0-9]{1,32}")
"""What Int32.Parse takes in the invariant culture (NumberStyles.Integer), minus the
white space: an optional sign and ASCII digits. Leading zeros are part of it."""


class NotInt32(ValueError):
    """The text is not a .NET Int32 as the seeds' routes bind one."""


def parse_int32(text: str, name: str) -> int:
    """The one parser of path ids: optional `+`/`-`, ASCII digits 0-9 (leading zeros
    allowed: `02` is 2), within Int32. Anything else (`2.0`, `2e0`, ` 2`, full-width
    digits, `0x2`) raises NotInt32 naming `name`. Callers use the returned int, never
    the text, so every layer and every header sees the same canonical number."""
    if _INT32_TEXT.fullmatch(text) is not None:
        value = int(text)
        if INT32_MIN <= value <= INT32_MAX:
            return value
    shown = text if len(text) <= 40 else text[:40] + "…"
    raise NotInt32(
        f"The value '{shown}' is not valid for {name}: a whole number from {INT32_MIN} "
        f"to {INT32_MAX}, written with an optional sign and the digits 0-9."
    )


def _path_int32(name: str) -> object:
    def validate(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise NotInt32(f"The value is not valid for {name}.")
        return parse_int32(value, name)

    return PlainValidator(validate)


_INT32_SCHEMA = WithJsonSchema(
    {"type": "integer", "format": "int32", "minimum": INT32_MIN, "maximum": INT32_MAX}
)

CustomerNo = Annotated[int, _path_int32("customerId"), _INT32_SCHEMA, Path(alias="customerId")]
ContractNo = Annotated[int, _path_int32("contractNo"), _INT32_SCHEMA, Path(alias="contractNo")]
GatewayNo = Annotated[
    int, _path_int32("gatewayAssetId"), _INT32_SCHEMA, Path(alias="gatewayAssetId")
]
DeviceNo = Annotated[int, _path_int32("deviceAssetId"), _INT32_SCHEMA, Path(alias="deviceAssetId")]


QUERY_DATE_DOC: dict[str, Any] = {"anyOf": [*DATE_ALTERNATIVES, {"type": "string", "maxLength": 0}]}
"""A query date's schema (`Query(json_schema_extra=…)`): ISO 8601, or empty for "not given"."""

FromQuery = Annotated[
    str | None,
    Query(alias="from", description="ISO 8601; default: now", json_schema_extra=QUERY_DATE_DOC),
]
"""`?from=` of a time-range read, documented as the dates `query_date` reads."""
QUERY_GUID_DOC: dict[str, Any] = {
    "anyOf": [{"type": "string", "format": "uuid"}, {"type": "string", "maxLength": 0}]
}
"""A query Guid's schema: a uuid, or empty for "not given"."""


def query_value(request: Request, name: str) -> str | None:
    """A query parameter's value, None when absent or empty.

    Quirk: ASP.NET binds query parameters case-insensitively (?pagesize=10 works)."""
    wanted = name.lower()
    for key, value in request.query_params.multi_items():
        if key.lower() == wanted and value != "":
            return value
    return None


def query_date(request: Request, name: str, naive_zone: tzinfo) -> datetime | None:
    """A date from the query (a .NET date; without offset it is in `naive_zone`)."""
    raw = query_value(request, name)
    if raw is None:
        return None
    try:
        return parse_datetime(raw, naive_zone)
    except ValueError as exc:
        raise Invalid(errors={name: [str(exc) + "."]}) from None
