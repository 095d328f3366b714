"""Charger passwords (OCPP security profiles 1 and 2): stored only as a salted scrypt hash.

A verified password is remembered in memory as a keyed BLAKE2 digest, bound to the stored
hash it was checked against: a reconnect storm of thousands of chargers costs one slow
hash per charger and process, not one per reconnect. Changing the password changes the
stored hash, which makes the remembered digest useless at once."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import string

MIN_LENGTH = 16
MAX_LENGTH = 40
"""OCPP 1.6 security whitepaper: AuthorizationKey is 16 to 40 characters."""

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_ALPHABET = string.ascii_letters + string.digits


def check_length(password: str) -> str | None:
    """What is wrong with the password, or None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long (it has {len(password)})"
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in password):
        return "must consist of printable ASCII characters without spaces"
    return None


def generate() -> str:
    """A random 32-character password (190 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(32))


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    """`scrypt$N$r$p$salt$key` (base64): the parameters travel with the hash."""
    salt = os.urandom(_SALT_BYTES)
    key = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P)
    return "$".join(["scrypt", str(n), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)])


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=256 * 1024 * 1024
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def verify(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; False for a malformed hash (fail closed)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)


class VerifiedCache:
    """Passwords verified in this process, as digests keyed by a per-process secret."""

    def __init__(self, limit: int = 200_000) -> None:
        self._secret = os.urandom(32)
        self._known: dict[str, bytes] = {}
        self._limit = limit

    def _digest(self, password: str, stored: str) -> bytes:
        return hashlib.blake2b(
            f"{stored}\x00{password}".encode(), key=self._secret, digest_size=32
        ).digest()

    async def verify(self, password: str, stored: str) -> bool:
        digest = self._digest(password, stored)
        known = self._known.get(stored)
        if known is not None and hmac.compare_digest(known, digest):
            return True
        # scrypt releases the GIL: keep the event loop serving other chargers meanwhile.
        ok = await asyncio.to_thread(verify, password, stored)
        if ok:
            if len(self._known) >= self._limit:
                self._known.clear()
            self._known[stored] = digest
        return ok
