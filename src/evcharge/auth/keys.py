"""The key format: `evk_<key id>_<secret>`; the id finds the row, the SHA-256 of the
whole key proves it (a fast hash is right for a 256-bit random secret)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "evk"


def new_key() -> tuple[str, str]:
    """(key id, the key): 64 bits of id, 256 bits of secret."""
    key_id = secrets.token_hex(8)
    return key_id, f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The id part of a well-formed key, else None."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(key_id) != 16 or not secret:
        return None
    try:
        int(key_id, 16)
    except ValueError:
        return None
    return key_id


def same(a: str, b: str) -> bool:
    """Constant-time equality of two keys (compared as digests of equal length)."""
    return hmac.compare_digest(digest(a), digest(b))


def presented_key(headers: dict[str, str]) -> str | None:
    """The key from `Authorization: Bearer`, `X-Api-Key`, or the password of HTTP Basic
    (the user name is ignored: family A's clients send whatever they were configured with)."""
    api_key = headers.get("x-api-key")
    if api_key:
        return api_key.strip()
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _user, colon, password = decoded.partition(":")
        return password if colon and password else None
    return None
