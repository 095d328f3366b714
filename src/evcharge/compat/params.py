"""Parameters of the seed routes: path numbers as .NET Int32 values, named as in the
seeds; query values bound as ASP.NET binds them."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import Path
from starlette.requests import Request

from evcharge.compat.binding import INT32_MAX, INT32_MIN
from evcharge.compat.dates import parse_datetime
from evcharge.compat.wire_schema import DATE_ALTERNATIVES
from evcharge.errors import Invalid

CustomerNo = Annotated[int, Path(alias="customerId", ge=INT32_MIN, le=INT32_MAX)]
ContractNo = Annotated[int, Path(alias="contractNo", ge=INT32_MIN, le=INT32_MAX)]
GatewayNo = Annotated[int, Path(alias="gatewayAssetId", ge=INT32_MIN, le=INT32_MAX)]
DeviceNo = Annotated[int, Path(alias="deviceAssetId", ge=INT32_MIN, le=INT32_MAX)]


QUERY_DATE_DOC: dict[str, Any] = {"anyOf": [*DATE_ALTERNATIVES, {"type": "string", "maxLength": 0}]}
"""A query date's schema (`Query(json_schema_extra=…)`): ISO 8601, or empty for "not given"."""
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
