""".NET-style dates: up to 7 fractional digits (ticks), optional offset, space or T."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_MS_DATE = re.compile(r"^/Date\((?P<ms>-?\d{1,15})(?P<tz>[+-]\d{4})?\)/$")
"""Json.NET's Microsoft date format (`"\\/Date(1747694641157+0200)\\/"` on the wire):
milliseconds since 1970 UTC; the offset only says which zone the sender was in."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_DATE = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?)?)?"
    r"\s*(?P<tz>Z|z|[+-]\d{2}:?\d{2})?$"
)


class TickDateTime(datetime):
    """A datetime that also carries .NET's 7th fractional digit (`hundred_ns`, 0–9).

    Python and both databases stop at microseconds; the digit beyond travels beside
    the instant (stored in a column of its own) so `.1571182` reads back as written."""

    hundred_ns: int = 0


def with_hundred_ns(value: datetime, hundred_ns: int) -> datetime:
    """`value` carrying the 100-ns digit beyond its microseconds (0 gives `value` itself)."""
    if not hundred_ns:
        return value
    result = TickDateTime(
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond, value.tzinfo, fold=value.fold,
    )  # fmt: skip
    result.hundred_ns = hundred_ns
    return result


def hundred_ns(value: datetime | None) -> int:
    """The 100-ns digit a date carries beyond its microseconds (0 for a plain datetime)."""
    return getattr(value, "hundred_ns", 0)


def parse_datetime(text: str, naive_zone: tzinfo) -> datetime:
    """Parse a date as Json.NET / DataContract write it; no offset means `naive_zone`.

    Up to 7 fractional digits (.NET ticks): the 7th is kept as `hundred_ns`.
    Json.NET's `/Date(ms±hhmm)/` is read too."""
    ms_date = _MS_DATE.match(text.strip())
    if ms_date is not None:
        try:
            return _EPOCH + timedelta(milliseconds=int(ms_date["ms"]))
        except OverflowError:
            raise ValueError(f"'{text}' is outside the supported range of dates") from None
    match = _DATE.match(text.strip())
    if match is None:
        raise ValueError(
            f"'{text}' is not a valid date (expected ISO 8601, e.g. 2025-05-19T22:44:01+00:00)"
        )
    g = match.groupdict()
    micro = int((g["f"] or "0").ljust(7, "0")[:6])
    try:
        naive = datetime(
            int(g["y"]), int(g["mo"]), int(g["d"]),
            int(g["h"] or 0), int(g["mi"] or 0), int(g["s"] or 0), micro,
        )  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid date ({exc})") from None
    try:
        return with_hundred_ns(
            _to_utc(naive, g["tz"], naive_zone, text), int((g["f"] or "")[6:] or 0)
        )
    except OverflowError:
        raise ValueError(f"'{text}' is outside the supported range of dates") from None


def _to_utc(naive: datetime, tz: str | None, naive_zone: tzinfo, text: str) -> datetime:
    if tz is None:
        return naive.replace(tzinfo=naive_zone).astimezone(UTC)
    if tz in ("Z", "z"):
        return naive.replace(tzinfo=UTC)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise ValueError(f"'{text}' has an impossible UTC offset")
    offset_seconds = sign * (hours * 3600 + minutes * 60)
    return (naive - timedelta(seconds=offset_seconds)).replace(tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """UTC ISO 8601 the way Json.NET writes a UTC DateTime: trailing zeros of the
    fraction dropped (format "FFFFFFF"), then Z."""
    extra = hundred_ns(value)
    value = value.astimezone(UTC)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond or extra:
        text += "." + f"{value.microsecond:06d}{extra}".rstrip("0")
    return text + "Z"


def format_timespan(seconds: float) -> str:
    """A duration as Json.NET writes a TimeSpan ("c" format): [d.]hh:mm:ss[.fffffff]."""
    ticks = round(seconds * 10_000_000)
    days, rest = divmod(ticks, 86_400 * 10_000_000)
    hours, rest = divmod(rest, 3600 * 10_000_000)
    minutes, rest = divmod(rest, 60 * 10_000_000)
    whole, fraction = divmod(rest, 10_000_000)
    text = f"{hours:02d}:{minutes:02d}:{whole:02d}"
    if fraction:
        text += f".{fraction:07d}"
    return f"{days}.{text}" if days else text
