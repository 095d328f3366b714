"""API keys: only a hash of each key is stored, next to its role and its rate-limit bucket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, Integer, String
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
    # Token bucket, see repository.take_token: `tokens` is the balance minus the token
    # the last request took; refilled_at is seconds since the epoch (portable arithmetic).
    tokens: Mapped[float] = mapped_column(Float, default=0.0)
    refilled_at: Mapped[float] = mapped_column(Float, default=0.0)
