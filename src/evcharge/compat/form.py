"""application/x-www-form-urlencoded bodies, bound like ASP.NET's jQuery form formatter."""

from __future__ import annotations

from urllib.parse import parse_qsl

from evcharge.compat.body import BodyError, decode, text_codec

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 100


def parse_form(raw: bytes, charset: str) -> dict[str, str]:
    """{key: value} of a form body. Quirk kept: an empty value is as if not sent (MVC binds
    '' as null). A key sent twice is refused rather than silently picking one."""
    text = decode(raw, charset)
    codec = text_codec(charset)
    try:
        # %-escapes are bytes of the declared charset too (iso-8859-1: %E9 is é), and
        # bytes it cannot read are refused, never replaced.
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
            encoding=codec,
            errors="strict",
        )
    except UnicodeDecodeError as exc:
        raise BodyError(
            f"The form body is not valid {codec}: a %-escaped byte {exc.reason}."
        ) from None
    except ValueError as exc:
        raise BodyError(f"The form body cannot be read: {exc}.") from None
    fields: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in pairs:
        if key.lower() in seen:
            raise BodyError(f"Field '{key}' appears more than once.", key)
        seen.add(key.lower())
        if value:
            fields[key] = value
    return fields
