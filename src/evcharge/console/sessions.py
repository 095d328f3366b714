"""Sign-in sessions: an API key, checked by the Authenticator, becomes a session cookie.

The cookie holds a random token; the database holds its SHA-256, the key's id and the
SHA-256 of the key. Every console request re-checks that key (not revoked, same hash;
for EVCHARGE_ADMIN_KEY: still the configured key), so revoking a key ends its sessions
at once, in every process. Role and customer come from the key's row, as for the API."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from evcharge.auth import keys
from evcharge.auth.models import ApiKey
from evcharge.auth.principal import Principal, Role
from evcharge.auth.service import ENV_ADMIN_KEY_ID, Authenticator
from evcharge.console.models import ConsoleSession
from evcharge.registry.models import Customer

COOKIE = "evcharge_session"
PRE_SIGN_IN_COOKIE = "evcharge_csrf"
"""Double-submit token of the sign-in form (there is no session yet to hold one)."""

_sessions = cast(Table, ConsoleSession.__table__)
_keys = cast(Table, ApiKey.__table__)
_customers = cast(Table, Customer.__table__)


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    csrf: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


async def sign_in(
    connection: AsyncConnection,
    authenticator: Authenticator,
    api_key: str,
    now: datetime,
    lifetime: timedelta,
) -> tuple[str, SignedIn]:
    """Check the key exactly as an API request would (DomainError when refused) and open a
    session; returns the cookie's token, which exists nowhere else."""
    principal = await authenticator.authenticate({"authorization": f"Bearer {api_key}"})
    token, csrf = new_token(), new_token()
    await connection.execute(delete(_sessions).where(_sessions.c.expires <= now))
    await connection.execute(
        insert(_sessions).values(
            id=_token_hash(token),
            key_id=principal.key_id,
            key_hash=keys.digest(api_key),
            role=principal.role,
            customer_number=principal.customer_number,
            csrf=csrf,
            created=now,
            expires=now + lifetime,
        )
    )
    return token, SignedIn(principal, csrf)


async def resolve(
    connection: AsyncConnection, token: str, now: datetime, env_key: str | None
) -> SignedIn | None:
    """The session's caller, or None when the session is unknown, expired, or its key has
    been revoked (or EVCHARGE_ADMIN_KEY changed)."""
    live_uuid = (
        select(_customers.c.id)
        .where(_customers.c.number == _keys.c.customer_number)
        .correlate(_keys)
        .scalar_subquery()
    )
    row: Any = (
        await connection.execute(
            select(
                _sessions.c.key_id,
                _sessions.c.key_hash,
                _sessions.c.csrf,
                _keys.c.key_hash.label("live_hash"),
                _keys.c.role,
                _keys.c.customer_number,
                _keys.c.revoked_at,
                live_uuid.label("customer_uuid"),
            )
            .select_from(_sessions.outerjoin(_keys, _keys.c.id == _sessions.c.key_id))
            .where(_sessions.c.id == _token_hash(token), _sessions.c.expires > now)
        )
    ).first()
    if row is None:
        return None
    if row.key_id == ENV_ADMIN_KEY_ID:
        if env_key is None or not hmac.compare_digest(keys.digest(env_key), row.key_hash):
            return None
        return SignedIn(Principal(ENV_ADMIN_KEY_ID, "admin"), row.csrf)
    if row.live_hash is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.live_hash, row.key_hash):
        return None
    role: Role = "admin" if row.role == "admin" else "customer"
    principal = Principal(row.key_id, role, row.customer_number, row.customer_uuid)
    return SignedIn(principal, row.csrf)


async def sign_out(connection: AsyncConnection, token: str) -> None:
    await connection.execute(delete(_sessions).where(_sessions.c.id == _token_hash(token)))
