"""Console sign-in sessions: only a hash of the session token is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, UtcDateTime, utcnow


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the token in the cookie; the token itself is stored nowhere."""
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the API key signed in with: the session lives only as long as that key."""
    role: Mapped[str] = mapped_column(String(16))
    customer_number: Mapped[int | None] = mapped_column(Integer)
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
