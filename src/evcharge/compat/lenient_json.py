"""Json.NET's leniencies, as a rewrite into strict JSON.

Json.NET reads comments (`//`, `/* */`), single-quoted strings, unquoted property names
and trailing commas, and .NET clients (hand-written bodies, config files passed
through) send them. `body.parse_json` tries strict JSON first and rewrites only what
fails, so well-formed bodies never pay for this."""

from __future__ import annotations

import json
import re

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


class LenientJsonError(ValueError):
    pass


def to_strict(text: str) -> str:
    """The same document as strict JSON; raises LenientJsonError for an unclosed
    string or comment (the strict parser reports everything else)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "\"'":
            end, value = _string(text, i)
            out.append(json.dumps(value, ensure_ascii=False))
            i = end
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise LenientJsonError("unterminated comment")
            out.append(" ")
            i = close + 2
        elif char == ",":
            # A trailing comma (after a value, before `}` or `]`) is dropped; `{,}` stays.
            trailing = _next_significant(text, i + 1) in ("}", "]") and not _last_in(out, "{[,")
            if not trailing:
                out.append(char)
            i += 1
        elif (match := _IDENTIFIER.match(text, i)) is not None:
            word = match.group()
            if _next_significant(text, match.end()) == ":" and _after_object_start(out):
                out.append(json.dumps(word))
            else:
                out.append(word)
            i = match.end()
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _string(text: str, start: int) -> tuple[int, str]:
    """(index after the closing quote, decoded value) of the string at `start`."""
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return i + 1, "".join(chars)
        if char == "\\" and i + 1 < len(text):
            escaped = text[i + 1]
            if escaped == "u":
                try:
                    chars.append(chr(int(text[i + 2 : i + 6], 16)))
                except ValueError:
                    raise LenientJsonError("bad \\u escape") from None
                i += 6
                continue
            simple = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
            chars.append(simple.get(escaped, escaped))
            i += 2
            continue
        chars.append(char)
        i += 1
    raise LenientJsonError("unterminated string")


def _next_significant(text: str, i: int) -> str:
    """The next character after whitespace and comments, '' at the end."""
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
        else:
            return text[i]
    return ""


def _after_object_start(out: list[str]) -> bool:
    """A property name stands after `{` or `,` (so `true:` inside a value stays)."""
    return _last_in(out, "{,")


def _last_in(out: list[str], chars: str) -> bool:
    """Whether the last non-blank character written so far is one of `chars`."""
    for piece in reversed(out):
        stripped = piece.strip()
        if stripped:
            return stripped[-1] in chars
    return False
