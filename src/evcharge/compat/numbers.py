"""Numbers on the wire, read and written in one place.

Reading: every number a client sends — a JSON number, the text of an XML element or a
form value — becomes a `Decimal` (or an `int` for a JSON integer) through these
functions, or `OutOfRange` when it is beyond what any .NET numeric field but a double
holds (±10^29). Python would otherwise fail on such input outside validation
(`Decimal('1e99999999999999999999')` raises, `abs()` of `1e1000000` overflows the decimal
context, `int()` of a 4,301-digit text exceeds `sys.get_int_max_str_digits`) and answer
500. `OutOfRange` is refused by every field it reaches (400 naming the field) and, as
Json.NET does, ignored in a property nobody reads.

Writing: `dumps` writes a wire model as JSON with every `Decimal` exactly as stored, in
plain notation, as Json.NET writes a .NET `decimal` (`123456789012.345678`, `0.000001`,
`11.0`) — never through a float."""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from pydantic import BaseModel

from evcharge.compat.dates import format_datetime

MAX_ADJUSTED_EXPONENT: Final = 28
"""The largest power of ten a number may reach (.NET decimal's range is ±7.9·10^28)."""
_MIN_ADJUSTED_EXPONENT: Final = -400
"""Smaller magnitudes read as 0, as Json.NET's double does below ~4.9·10^-324. Above it
the value is kept: a decimal field rounds it to 6 places, but a text field is given the
number's own text (`2.5e-42` is no `PriceArea`), as Json.NET writes the double it read."""
_FAST_LENGTH: Final = 24

_NUMBER = re.compile(r"[ \t\r\n]*([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?[ \t\r\n]*")
"""A decimal number in the invariant culture: ASCII digits and white space only."""


class OutOfRange:
    """A number too large for any field; refused where bound, ignored where unknown."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text if len(text) <= 24 else text[:20] + "…"

    def __repr__(self) -> str:
        return self.text

    @property
    def message(self) -> str:
        return f"The number {self.text} is outside the range of this field."


def read_decimal(text: str) -> Decimal | OutOfRange | None:
    """The exact value of a decimal text (`12.5`, `-1e3`, ` 7 `), `OutOfRange` past
    ±10^29, None when the text is not a plain number (left to the field's own message)."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    sign, whole, fraction, exponent = match.groups()
    fraction = fraction or ""
    if not whole and not fraction:
        return None
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return Decimal(0)
    if exponent is None:
        power = 0
    elif len(exponent.lstrip("+-")) > 9:
        power = -(10**10) if exponent.startswith("-") else 10**10
    else:
        power = int(exponent)
    # Power of ten of the first significant digit.
    leading = (
        len(whole.lstrip("0")) - 1
        if whole.lstrip("0")
        else -(len(fraction) - len(fraction.lstrip("0")) + 1)
    )
    adjusted = leading + power
    if adjusted > MAX_ADJUSTED_EXPONENT:
        return OutOfRange(text.strip())
    if adjusted < _MIN_ADJUSTED_EXPONENT:
        return Decimal(0)
    return Decimal(f"{sign}{whole or '0'}.{fraction or '0'}e{power}")


def json_float(text: str) -> Decimal | OutOfRange:
    """`parse_float` of the JSON parser: exact decimals, no float on the way."""
    if len(text) <= _FAST_LENGTH and "e" not in text and "E" not in text:
        return Decimal(text)
    found = read_decimal(text)
    assert found is not None  # the JSON parser has matched a number already
    return found


def json_int(text: str) -> int | OutOfRange:
    """`parse_int` of the JSON parser: an int, or OutOfRange past 29 digits (before
    Python's int() refuses 4,301 digits with an error that is no 400)."""
    if len(text) <= _FAST_LENGTH:
        return int(text)
    digits = text.lstrip("-").lstrip("0")
    if len(digits) > MAX_ADJUSTED_EXPONENT + 1:
        return OutOfRange(text)
    return int(text)


def plain_decimal(value: Decimal) -> str:
    """Plain notation, exact at any size (no rounding to the context's 28 digits, as
    `normalize()` would), no trailing zeros, no negative zero: `11`, `0.000001`."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def decimal_text(value: Decimal) -> str:
    """A decimal as Json.NET writes a .NET decimal: plain notation, exact, at least one
    decimal place (`11.0`), no trailing zeros beyond it, no negative zero."""
    text = plain_decimal(value)
    return text if "." in text else text + ".0"


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, (bool, enum.Enum)) or type(value) is int:
        return json.dumps(value.value if isinstance(value, enum.Enum) else value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dict):
        items = ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, datetime):
        return json.dumps(format_datetime(value))
    if isinstance(value, uuid.UUID):
        return f'"{value}"'
    if isinstance(value, (int, float)):
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_text(value: Any) -> str:
    """Parsed JSON (dicts, lists, exact decimals) written back as compact JSON text."""
    return _encode(value)


def dumps(model: BaseModel) -> bytes:
    """A wire model as compact JSON (aliases as keys) with exact decimals."""
    return _encode(model.model_dump(mode="python", by_alias=True)).encode()


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The sum of decimals of at most 6 places, exact at any size (Decimal arithmetic
    would round to the context's 28 digits): added as integer millionths."""
    total = 0
    for value in values:
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)  # finite: stored values only
        number = int("".join(map(str, digits)) or "0")
        shift = exponent + 6
        number = number * 10**shift if shift >= 0 else number // 10**-shift
        total += -number if sign else number
    return Decimal(f"{total}e-6")
