"""Model binding the way ASP.NET Web API + Json.NET do it."""

from __future__ import annotations

import enum
import typing
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_pascal

from evcharge.compat import wire_schema
from evcharge.compat.dates import format_datetime, parse_datetime
from evcharge.compat.numbers import OutOfRange, read_decimal

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

NAIVE_ZONE = "naive_zone"
"""Validation-context key: the zone a date without offset is read in."""


class AspNetModel(BaseModel):
    """PascalCase on the wire, bound like Json.NET binds a .NET class."""

    model_config = ConfigDict(
        alias_generator=to_pascal,
        populate_by_name=True,
        # Quirk: unknown properties are ignored, as Json.NET does by default.
        extra="ignore",
        # Quirk: Json.NET converts a JSON number into a string property.
        coerce_numbers_to_str=True,
        str_strip_whitespace=False,
        # The documented schema says what this binder accepts (compat/wire_schema.py).
        json_schema_extra=lambda schema, cls: wire_schema.describe(
            schema, getattr(cls, "_blank_is_null", frozenset())
        ),
    )

    _aliases_by_lower: ClassVar[dict[str, str]] = {}
    _blank_is_null: ClassVar[frozenset[str]] = frozenset()
    _text_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._aliases_by_lower = {}
        for name, field in cls.model_fields.items():
            alias = field.alias or name
            cls._aliases_by_lower[name.lower()] = alias
            cls._aliases_by_lower[alias.lower()] = alias
        cls._blank_is_null = frozenset(
            field.alias or name
            for name, field in cls.model_fields.items()
            if _nullable_value_type(field.annotation)
        )
        cls._text_fields = frozenset(
            field.alias or name
            for name, field in cls.model_fields.items()
            if str in _inner_types(field.annotation)
        )

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000: refused per field, on both databases.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character (\\u0000)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive_names(cls, data: Any) -> Any:
        # Quirk: Json.NET matches property names case-insensitively
        # ("batteryLevel", "batterylevel" and "BatteryLevel" all bind).
        if not isinstance(data, dict):
            return data
        bound: dict[str, Any] = {}
        for key, value in data.items():
            alias = cls._aliases_by_lower.get(str(key).lower())
            if alias is not None:
                # Quirk: Json.NET reads "" for a nullable value type (date, number) as null.
                if value == "" and alias in cls._blank_is_null:
                    value = None
                elif isinstance(value, Decimal) and alias in cls._text_fields:
                    value = _number_text(value)
                bound[alias] = value
        return bound


def _inner_types(annotation: Any) -> list[Any]:
    """The types of `X | Y`, each unwrapped from `Annotated` (just [X] for a plain X)."""
    args = typing.get_args(annotation) if typing.get_origin(annotation) is not Annotated else ()
    types = list(args) if args else [annotation]
    return [typing.get_args(t)[0] if typing.get_origin(t) is Annotated else t for t in types]


def _nullable_value_type(annotation: Any) -> bool:
    """`X | None` where X is not text: a .NET `Nullable<T>` of a value type."""
    inner = _inner_types(annotation)
    return type(None) in inner and str not in inner


def _number_text(value: Decimal) -> str:
    """A JSON number bound to a string property, as Json.NET writes the double it read
    (2940.0 → "2940", 1.5 → "1.5")."""
    if value == value.to_integral_value() and abs(value) < 10**15:
        return str(int(value))
    return str(value.normalize())


def _to_datetime(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError("must be a date string, e.g. 2025-05-19T22:44:01+00:00")
    zone: tzinfo = (info.context or {}).get(NAIVE_ZONE, UTC)
    return parse_datetime(value, zone)


DotNetDateTime = Annotated[
    datetime,
    BeforeValidator(_to_datetime),
    PlainSerializer(format_datetime, return_type=str, when_used="json"),
]
"""A date as Json.NET reads it; written back as UTC ISO 8601."""


def _to_decimal(value: Any) -> Any:
    # Json.NET refuses true/false for a decimal; pydantic's lax mode would take them.
    if isinstance(value, bool):
        raise ValueError("must be a decimal number")
    if isinstance(value, str):  # XML, form and JSON strings: the one reader of decimal text
        found = read_decimal(value)
        if found is None:
            raise ValueError("must be a decimal number such as 12.5")
        value = found
    if isinstance(value, OutOfRange):
        raise ValueError(value.message)
    return value


_SCALE = Decimal("0.000001")
_LIMIT = Decimal(10) ** 12


def _to_scale(value: Decimal) -> Decimal:
    # Stored as NUMERIC(18,6): round half-even to 6 places (as SQL Server's
    # decimal(18,6) column of the original would) instead of refusing floats.
    if abs(value) >= _LIMIT:
        raise ValueError("must be less than 10^12 in magnitude")
    return value.quantize(_SCALE).normalize()


def decimal_field(
    *, ge: float | None = None, le: float | None = None, gt: float | None = None
) -> Any:
    return Field(default=None, ge=ge, le=le, gt=gt)


WireDecimal = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    BeforeValidator(_to_decimal),
    AfterValidator(_to_scale),
    PlainSerializer(float, return_type=float, when_used="json"),
]
"""A decimal number: exact in (6 places), a JSON number out (as Json.NET writes decimal)."""

Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]

E = TypeVar("E", bound=enum.IntEnum)


def enum_by_int_or_name(enum_type: type[E]) -> Any:
    """Quirk: Json.NET reads an enum from its integer or its name (any case)."""
    by_name = {member.name.lower(): member for member in enum_type}
    allowed = ", ".join(f"{m.value} {m.name}" for m in enum_type)

    def convert(value: Any) -> E:
        if isinstance(value, bool):
            raise ValueError(f"must be one of {allowed}")
        if isinstance(value, int):
            try:
                return enum_type(value)
            except ValueError:
                raise ValueError(f"must be one of {allowed}") from None
        if isinstance(value, str):
            text = value.strip()
            if text.lstrip("-").isdigit():
                return convert(int(text))
            member = by_name.get(text.lower())
            if member is not None:
                return member
        raise ValueError(f"must be one of {allowed}")

    return BeforeValidator(convert)
