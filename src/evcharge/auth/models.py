"""API keys: only a hash of each key is stored, next to its role and its rate-limit bucket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, UtcDateTime, utcnow


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "(role = 'admin' AND customer_number IS NULL)"
            " OR (role = 'customer' AND customer_number IS NOT NULL)",
            name="role",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    customer_number: Mapped[int | None] = mapped_column(Integer, index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Token bucket shared by all processes, see repository.lease: `tokens` is the balance
    # the last request took; refilled_at is seconds since the epoch (portable arithmetic).
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    refilled_at: Mapped[float] = mapped_column(Float, default=0.0)
    # Tokens the last lease handed to a process (auth/limiter.py reads it in RETURNING).
    leased: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class ApiKeyChanges(Base):
    """One row whose `version` goes up with every change that a cached key could miss
    (revocation, a customer deleted): each process's key cache compares it (SQLite) or
    is told by NOTIFY (PostgreSQL), see auth/cache.py."""

    __tablename__ = "api_key_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
