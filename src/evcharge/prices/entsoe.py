"""ENTSO-E Transparency Platform day-ahead prices: the A44 document, and fetching it.

`Publication_MarketDocument` (document type A44): TimeSeries of Periods, each with a
UTC `timeInterval`, a `resolution` (PT60M, or PT15M for the 15-minute day-ahead products
since 1 October 2025) and Points (`position` from 1, `price.amount` in
`currency_Unit.name` per `price_Measure_Unit.name`, MWH). Curve type A03 leaves out a
position whose price equals the previous one: it repeats the previous price. Where
periods of two resolutions cover the same time, the finer one is kept. An
`Acknowledgement_MarketDocument` is ENTSO-E's way of saying "no data" or "refused".
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from defusedxml import DefusedXmlException, ElementTree

ENDPOINT = "https://web-api.tp.entsoe.eu/api"

#: Bidding zones by the price area names evcharge uses, and their EIC codes.
BIDDING_ZONES: dict[str, str] = {
    "AT": "10YAT-APG------L",
    "BE": "10YBE----------2",
    "BG": "10YCA-BULGARIA-R",
    "CH": "10YCH-SWISSGRIDZ",
    "CZ": "10YCZ-CEPS-----N",
    "DE-LU": "10Y1001A1001A82H",
    "DK1": "10YDK-1--------W",
    "DK2": "10YDK-2--------M",
    "EE": "10Y1001A1001A39I",
    "ES": "10YES-REE------0",
    "FI": "10YFI-1--------U",
    "FR": "10YFR-RTE------C",
    "GR": "10YGR-HTSO-----Y",
    "HR": "10YHR-HEP------M",
    "HU": "10YHU-MAVIR----U",
    "LT": "10YLT-1001A0008Q",
    "LV": "10YLV-1001A00074",
    "NL": "10YNL----------L",
    "NO1": "10YNO-1--------2",
    "NO2": "10YNO-2--------T",
    "NO3": "10YNO-3--------J",
    "NO4": "10YNO-4--------9",
    "NO5": "10Y1001A1001A48H",
    "PL": "10YPL-AREA-----S",
    "PT": "10YPT-REN------W",
    "RO": "10YRO-TEL------P",
    "SE1": "10Y1001A1001A44P",
    "SE2": "10Y1001A1001A45N",
    "SE3": "10Y1001A1001A46L",
    "SE4": "10Y1001A1001A47J",
    "SI": "10YSI-ELES-----O",
    "SK": "10YSK-SEPS-----K",
}

_RESOLUTIONS = {"PT15M": timedelta(minutes=15), "PT30M": timedelta(minutes=30),
                "PT60M": timedelta(hours=1), "PT1H": timedelta(hours=1)}  # fmt: skip
_PER_KWH = {"MWH": Decimal(1000), "KWH": Decimal(1)}


class EntsoeError(Exception):
    """A document that is not a usable A44 price document (the message says why)."""


@dataclass(frozen=True, slots=True)
class EntsoeSlot:
    start: datetime
    end: datetime
    price_per_kwh: Decimal


@dataclass(frozen=True, slots=True)
class EntsoePrices:
    currency: str
    slots: list[EntsoeSlot]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: Any, name: str) -> Any:
    for child in node:
        if _local(child.tag) == name:
            return child
    return None


def _children(node: Any, name: str) -> list[Any]:
    return [child for child in node if _local(child.tag) == name]


def _text(node: Any, name: str) -> str:
    child = _child(node, name)
    if child is None or child.text is None:
        raise EntsoeError(f"<{_local(node.tag)}> has no <{name}>")
    return str(child.text).strip()


def _utc(text: str) -> datetime:
    """ENTSO-E writes `2025-10-01T22:00Z` (no seconds)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EntsoeError(f"not a time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_a44(document: bytes) -> EntsoePrices:
    """The price slots of an A44 document, in time order, EUR (or the document's
    currency) per kWh, exactly (Decimal)."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError as exc:
        raise EntsoeError(f"not XML ({exc})") from None
    except DefusedXmlException as exc:  # entities, external references: refused
        raise EntsoeError(f"not XML that evcharge reads ({type(exc).__name__})") from None
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        reason = _child(root, "Reason")
        text = _text(reason, "text") if reason is not None else "no reason given"
        raise EntsoeError(f"ENTSO-E answered without prices: {text}")
    if kind != "Publication_MarketDocument":
        raise EntsoeError(f"expected a Publication_MarketDocument, got <{kind}>")
    doc_type = _child(root, "type")
    if doc_type is not None and (doc_type.text or "").strip() != "A44":
        raise EntsoeError(f"document type {doc_type.text!r} is not A44 (day-ahead prices)")
    currencies: set[str] = set()
    periods: list[tuple[timedelta, list[EntsoeSlot]]] = []
    for series in _children(root, "TimeSeries"):
        currencies.add(_text(series, "currency_Unit.name"))
        unit = _text(series, "price_Measure_Unit.name").upper()
        if unit not in _PER_KWH:
            raise EntsoeError(f"price unit {unit!r} is not MWH or KWH")
        curve = _child(series, "curveType")
        repeat = curve is None or (curve.text or "").strip() == "A03"
        for period in _children(series, "Period"):
            periods.append(_period(period, _PER_KWH[unit], repeat))
    if not periods:
        raise EntsoeError("the document has no TimeSeries with a Period")
    if len(currencies) != 1:
        raise EntsoeError(f"mixed currencies {sorted(currencies)}")
    # Finer resolution first; a coarser period only fills time the finer ones leave.
    periods.sort(key=lambda p: p[0])
    chosen: dict[datetime, EntsoeSlot] = {}
    covered: list[tuple[datetime, datetime]] = []
    for _step, slots in periods:
        if not slots:
            continue
        lo, hi = slots[0].start, slots[-1].end
        if any(a < hi and lo < b for a, b in covered):
            continue
        covered.append((lo, hi))
        for slot in slots:
            chosen[slot.start] = slot
    ordered = [chosen[k] for k in sorted(chosen)]
    return EntsoePrices(currencies.pop(), ordered)


def _period(period: Any, per_kwh: Decimal, repeat: bool) -> tuple[timedelta, list[EntsoeSlot]]:
    interval = _child(period, "timeInterval")
    if interval is None:
        raise EntsoeError("<Period> has no <timeInterval>")
    start, end = _utc(_text(interval, "start")), _utc(_text(interval, "end"))
    resolution = _text(period, "resolution")
    step = _RESOLUTIONS.get(resolution)
    if step is None:
        raise EntsoeError(f"resolution {resolution!r} is not supported")
    count = int((end - start) / step)
    if start + count * step != end or count <= 0:
        raise EntsoeError(f"the interval {start} to {end} is not whole {resolution} steps")
    prices: dict[int, Decimal] = {}
    for point in _children(period, "Point"):
        try:
            position = int(_text(point, "position"))
            amount = Decimal(_text(point, "price.amount"))
        except (ValueError, InvalidOperation):
            raise EntsoeError(
                "a <Point> has a position or price.amount that is not a number"
            ) from None
        if not 1 <= position <= count:
            raise EntsoeError(f"position {position} is outside 1..{count}")
        prices[position] = amount / per_kwh
    slots: list[EntsoeSlot] = []
    last: Decimal | None = None
    for position in range(1, count + 1):
        price = prices.get(position)
        if price is None:
            if not repeat or last is None:
                raise EntsoeError(f"position {position} is missing")
            price = last  # A03: an omitted point repeats the previous price
        slots.append(EntsoeSlot(start + (position - 1) * step, start + position * step, price))
        last = price
    return step, slots


def eic_code(area: str) -> str:
    try:
        return BIDDING_ZONES[area.upper()]
    except KeyError:
        known = ", ".join(sorted(BIDDING_ZONES))
        raise EntsoeError(
            f"no ENTSO-E bidding zone is known for {area!r} (known: {known})"
        ) from None


def request_url(token: str, area: str, start: datetime, end: datetime) -> str:
    """The Transparency Platform query for day-ahead prices of `area` in [start, end)."""
    code = eic_code(area)
    stamp = "%Y%m%d%H%M"
    query = {
        "securityToken": token,
        "documentType": "A44",
        "in_Domain": code,
        "out_Domain": code,
        "periodStart": start.astimezone(UTC).strftime(stamp),
        "periodEnd": end.astimezone(UTC).strftime(stamp),
    }
    return f"{ENDPOINT}?{urllib.parse.urlencode(query)}"


def http_get(url: str, timeout: float = 30.0) -> bytes:  # pragma: no cover - network
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https only)
        body: bytes = response.read()
        return body


def fetch_day_ahead(
    token: str,
    area: str,
    start: datetime,
    end: datetime,
    get: Callable[[str], bytes] = http_get,
) -> EntsoePrices:
    """Day-ahead prices of `area` from the Transparency Platform (`get` does the HTTP)."""
    if not token:
        raise EntsoeError("no token: set EVCHARGE_ENTSOE_TOKEN")
    try:
        document = get(request_url(token, area, start, end))
    except EntsoeError:
        raise
    except Exception as exc:  # the platform is away or refused (HTTP 401/400 with a body)
        body = getattr(exc, "read", None)
        if callable(body):
            try:
                return parse_a44(body())
            except EntsoeError as inner:
                raise EntsoeError(str(inner)) from None
        raise EntsoeError(f"ENTSO-E could not be reached ({type(exc).__name__}: {exc})") from None
    return parse_a44(document)
