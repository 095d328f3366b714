""".NET-style dates: up to 7 fractional digits (ticks), optional offset, space or T."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_DATE = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?)?)?"
    r"\s*(?P<tz>Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_datetime(text: str, naive_zone: tzinfo) -> datetime:
    """Parse a date as Json.NET / DataContract write it; no offset means `naive_zone`.

    The 7th fractional digit (100 ns) is dropped: Python and both databases keep
    microseconds, so the instant is kept to the microsecond."""
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
        return _to_utc(naive, g["tz"], naive_zone, text)
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
    value = value.astimezone(UTC)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
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
