"""The per-key rate limit without a database write per request: each process leases a
share of the key's token bucket from the database and spends it from memory.

The bucket itself stays in `api_keys` (shared by every process and host). A process
that needs a token and has none left takes a lease: one UPDATE that refills the bucket
and hands over up to `lease_size` tokens (`repository.lease`). Tokens are only ever
spent after they left the shared bucket, so all processes together never admit more
than the bucket allows; what a process holds unused is the only inaccuracy, bounded by
`lease_size` per process (≤ 10 % of the burst, ≤ 0.1 s of the rate) and dropped after
`LEASE_TTL` so an idle process cannot save tokens for a later burst."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from evcharge.auth.repository import Lease
from evcharge.errors import TooManyRequests

LEASE_SECONDS = 0.1
"""A lease holds at most this many seconds' worth of the key's rate…"""
LEASE_SHARE_OF_BURST = 0.1
"""…and at most this share of its burst."""
LEASE_TTL = 1.0
"""Leased tokens not spent within this many seconds are dropped."""


class KeyGone(Exception):
    """The lease found no unrevoked key: it was revoked since it was cached."""


@dataclass(slots=True)
class _Local:
    tokens: float = 0.0
    expires: float = 0.0
    empty_until: float = 0.0
    retry_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


LeaseFn = Callable[[str, float, float], Awaitable[Lease]]
"""(key id, now, tokens wanted) → what the shared bucket handed over."""


def lease_size(rate: float, burst: float) -> float:
    return float(max(1, math.floor(min(rate * LEASE_SECONDS, burst * LEASE_SHARE_OF_BURST))))


class LeasedLimiter:
    def __init__(self, rate: float, burst: float, lease: LeaseFn, clock: Callable[[], float]):
        self.rate = rate
        self.want = lease_size(rate, burst)
        self.lease = lease
        self.clock = clock
        self.buckets: dict[str, _Local] = {}

    async def take(self, key_id: str) -> None:
        """Spend one token of the key, leasing more when this process has none left;
        TooManyRequests (with Retry-After) when the shared bucket is empty too."""
        local = self.buckets.get(key_id)
        if local is None:
            local = self.buckets[key_id] = _Local()
        if self._spend(local, self.clock()):
            return
        async with local.lock:  # one lease at a time per key; the others wait for it
            now = self.clock()
            if self._spend(local, now):
                return
            got = await self.lease(key_id, now, self.want)
            if got.key is None:
                del self.buckets[key_id]
                raise KeyGone(key_id)
            if got.granted >= 1:
                local.tokens, local.expires = got.granted - 1, now + LEASE_TTL
                return
            # Empty: refuse from memory until the bucket holds a whole lease again (the
            # tokens wait there for whoever comes first; none is lost), so an over-limit
            # flood costs a write per lease period and process, not one per request.
            local.retry_at = now + (1 - got.balance) / self.rate
            local.empty_until = now + (self.want - got.balance) / self.rate
        self._refuse(local, now)

    def _spend(self, local: _Local, now: float) -> bool:
        if local.tokens >= 1 and now < local.expires:
            local.tokens -= 1
            return True
        if now < local.empty_until:
            self._refuse(local, now)
        return False

    @staticmethod
    def _refuse(local: _Local, now: float) -> None:
        wait = max(1, math.ceil(local.retry_at - now))
        raise TooManyRequests(headers={"Retry-After": str(wait)})
