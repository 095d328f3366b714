"""Reading price files for `evcharge prices import`: CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evcharge.compat.webapi import model_state
from evcharge.prices.entsoe import EntsoeError, EntsoePrices, parse_a44
from evcharge.prices.schemas import PriceSeriesPut

_START = ("start", "start_utc", "from")
_END = ("end", "end_utc", "to")


class PriceFileError(Exception):
    pass


def read_price_file(path: Path, currency: str | None) -> PriceSeriesPut:
    """CSV with a header (start, end, price columns; e.g. the ENTSO-E export's
    `start_utc,end_utc,price_eur_per_kwh`), JSON shaped like the PUT body, or ENTSO-E's
    own A44 XML document (`Publication_MarketDocument`)."""
    if path.suffix.lower() == ".xml":
        try:
            prices = parse_a44(path.read_bytes())
        except EntsoeError as exc:
            raise PriceFileError(f"{path}: {exc}") from None
        return entsoe_upload(prices, currency, str(path))
    text = path.read_text(encoding="utf-8-sig")
    data: dict[str, Any]
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PriceFileError(f"{path}: invalid JSON ({exc})") from None
        if currency:
            data["Currency"] = currency
    else:
        data = {"Currency": currency or "EUR", "Slots": _csv_slots(path, text)}
    try:
        return PriceSeriesPut.model_validate(data)
    except ValidationError as exc:
        first = next(iter(model_state(exc, prefix="file").items()))
        raise PriceFileError(f"{path}: {first[0]}: {first[1][0]}") from None


def entsoe_upload(prices: EntsoePrices, currency: str | None, source: str) -> PriceSeriesPut:
    """An ENTSO-E document as the PUT body it amounts to."""
    data = {
        "Currency": currency or prices.currency,
        "Slots": [
            {"Start": s.start.isoformat(), "End": s.end.isoformat(), "Price": s.price_per_kwh}
            for s in prices.slots
        ],
    }
    try:
        return PriceSeriesPut.model_validate(data)
    except ValidationError as exc:
        first = next(iter(model_state(exc, prefix="document").items()))
        raise PriceFileError(f"{source}: {first[0]}: {first[1][0]}") from None


def _csv_slots(path: Path, text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    names = {name.strip().lower(): name for name in reader.fieldnames or []}
    start = next((names[n] for n in _START if n in names), None)
    end = next((names[n] for n in _END if n in names), None)
    price = next((names[n] for n in names if n.startswith("price")), None)
    if start is None or end is None or price is None:
        raise PriceFileError(f"{path}: the header needs start, end and price columns")
    return [{"Start": row[start], "End": row[end], "Price": row[price]} for row in reader]
