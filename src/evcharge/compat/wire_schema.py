"""JSON Schema that says what the binder really accepts (OpenAPI for the .NET-style wire).

pydantic describes the Python types; the binder (compat/binding.py) is more lenient in
the ways Json.NET is, and stricter in one way PostgreSQL needs. Each rule below names
the binder behaviour it documents, so that schema-driven clients and fuzzers see the
truth (schemathesis `--checks all` runs against it)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

NO_NUL = "^[^\\x00]*$"
"""Text never holds U+0000 (PostgreSQL cannot store it; refused on both databases)."""

DECIMAL_LIMIT = 10**12
"""WireDecimal refuses magnitudes from 10^12 up (NUMERIC(18,6))."""

_NUMBER_AS_TEXT = {"type": "number", "exclusiveMinimum": -(10**29), "exclusiveMaximum": 10**29}
"""Json.NET writes a JSON number into a string property (coerce_numbers_to_str); a
number beyond ±10^29 is refused wherever a field reads it (compat/numbers.py)."""

_EMPTY_TEXT = {"type": "string", "maxLength": 0}
"""Json.NET reads "" for a nullable value type (number, date, enum) as null."""

_KEEP = ("title", "description", "default")

_YEAR = r"(000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})"
_MONTH_DAY = r"(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
_CLOCK = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,7})?)?"
DATE_ALTERNATIVES: list[dict[str, Any]] = [
    {
        "type": "string",
        "format": "date-time",
        "pattern": rf"^{_YEAR}-\d{{2}}-\d{{2}}T{_CLOCK}([Zz]|[+-](0\d|1[0-4]):[0-5]\d)$",
    },
    {"type": "string", "pattern": rf"^{_YEAR}-{_MONTH_DAY}[T ]{_CLOCK}$"},
    {"type": "string", "pattern": r"^/Date\(-?\d{1,13}([+-](0\d|1[0-4])[0-5]\d)?\)/$"},
]
"""A date as compat/dates.py reads it: ISO 8601 with up to 7 fractional digits and an
offset of at most ±14:59; without offset (`2025-11-08 18:49:22`, the zone's local
time); Json.NET's `/Date(ms±hhmm)/`."""


def describe(schema: dict[str, Any], blank_is_null: frozenset[str]) -> None:
    """Rewrite a model's properties in place (pydantic's `json_schema_extra` hook)."""
    for name, prop in schema.get("properties", {}).items():
        if "anyOf" not in prop:
            described_text = dict(_text(prop))
            prop.clear()
            prop.update(described_text)
            continue
        alternatives = [alt for nested in prop["anyOf"] for alt in _expand(nested)]
        numbers = [alt for alt in alternatives if alt.get("type") == "number"]
        described: list[dict[str, Any]] = []
        for alt in alternatives:
            if alt == {"type": "string"} and numbers:
                described.append(_decimal_text(numbers[0]))
            elif alt.get("type") == "number":
                described.append(_bounded(alt))
            else:
                described.extend(_flatten(_text(alt)))
        if name in blank_is_null:
            described.append(dict(_EMPTY_TEXT))
        prop["anyOf"] = described


_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def _expand(alt: dict[str, Any]) -> list[dict[str, Any]]:
    """pydantic nests a constrained `Decimal | None` as {"anyOf": [...], "ge": 0}, with
    pydantic's own keyword names: flatten it, the bounds moved onto the number."""
    if "anyOf" not in alt or "type" in alt:
        return [alt]
    bounds = {_BOUNDS[k]: v for k, v in alt.items() if k in _BOUNDS}
    return [
        {**inner, **bounds} if inner.get("type") == "number" else inner for inner in alt["anyOf"]
    ]


def _flatten(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return list(schema["anyOf"]) if "anyOf" in schema and "type" not in schema else [schema]


_BOUND_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _numeric_bounds(number: dict[str, Any]) -> dict[str, Any]:
    """Bounds as JSON numbers: pydantic writes a `Decimal` bound (`ge=Decimal(0)`) as a
    string, which no JSON Schema validator compares with a number."""
    fixed = dict(number)
    for key in _BOUND_KEYS:
        if isinstance(fixed.get(key), str):
            value = Decimal(fixed[key])
            fixed[key] = int(value) if value == value.to_integral_value() else float(value)
    return fixed


def _bounded(number: dict[str, Any]) -> dict[str, Any]:
    """A decimal's JSON number: inside WireDecimal's ±10^12; "positive" means at least
    0.000001 once rounded to the stored 6 places."""
    bounded = _numeric_bounds(number)
    if bounded.get("exclusiveMinimum") == 0:
        del bounded["exclusiveMinimum"]
        bounded["minimum"] = 0.000001
    if "maximum" not in bounded and "exclusiveMaximum" not in bounded:
        bounded["exclusiveMaximum"] = DECIMAL_LIMIT
    if "minimum" not in bounded and "exclusiveMinimum" not in bounded:
        bounded["exclusiveMinimum"] = -DECIMAL_LIMIT
    return bounded


def _decimal_text(number: dict[str, Any]) -> dict[str, Any]:
    """A decimal written as a JSON string ("7.5"), limited to what the number's own
    bounds accept: no sign when it must not be negative, a non-zero digit when it must
    be positive, and few enough integer digits to stay below the maximum."""
    number = _numeric_bounds(number)
    low = number.get("minimum", number.get("exclusiveMinimum", -DECIMAL_LIMIT))
    high = number.get("maximum", number.get("exclusiveMaximum", DECIMAL_LIMIT))
    digits = max(1, len(str(int(min(abs(low), abs(high)) if low < 0 else high))) - 1)
    if high >= DECIMAL_LIMIT and low < 0:
        digits = 12
    # At most 6 decimals: more are rounded half-even, which can cross a bound.
    integer = rf"0*\d{{1,{digits}}}"
    if "exclusiveMinimum" in number and number["exclusiveMinimum"] >= 0:
        body = rf"(0*[1-9]\d{{0,{digits - 1}}}(\.\d{{0,6}})?|0*\.\d{{0,5}}[1-9]\d{{0,5}})"
    else:
        body = rf"({integer}(\.\d{{0,6}})?|\.\d{{1,6}})"
    sign = "[+-]?" if low < 0 else r"\+?"
    return {"type": "string", "pattern": f"^{sign}{body}$"}


def _text(prop: dict[str, Any]) -> dict[str, Any]:
    """A plain string schema: no NUL, and numbers too where their text would pass."""
    if prop.get("format") == "date-time":
        keep = {k: v for k, v in prop.items() if k in _KEEP}
        return {**keep, "anyOf": [dict(alt) for alt in DATE_ALTERNATIVES]}
    if prop.get("type") != "string" or "format" in prop or "enum" in prop:
        return prop
    text = dict(prop)
    text.setdefault("pattern", NO_NUL)
    number = _number_alternative(text["pattern"])
    if number is None:
        return text
    keep = {k: v for k, v in text.items() if k in _KEEP}
    bare = {k: v for k, v in text.items() if k not in _KEEP}
    return {**keep, "anyOf": [bare, number]}


def _number_alternative(pattern_text: str) -> dict[str, Any] | None:
    """The numbers whose text the string's own pattern still accepts."""
    pattern = re.compile(pattern_text)
    if pattern.search("-1.5") and pattern.search("1E+20"):
        return dict(_NUMBER_AS_TEXT)
    if pattern.search("0") and pattern.search("123"):
        digits = next(n for n in range(1, 40) if not pattern.search("1" * n))
        return {"type": "integer", "minimum": 0, "maximum": 10 ** (digits - 1) - 1}
    return None
