"""One Settings object, read from the environment (prefix EVCHARGE_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "evcharge.db"


def async_database_url(url: str) -> str:
    """Map the URL an operator writes to the async driver SQLAlchemy needs."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


class Settings(BaseSettings):
    """Everything an operator can set; invalid values stop start-up with one line."""

    model_config = SettingsConfigDict(env_prefix="EVCHARGE_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{DEFAULT_SQLITE_PATH}")
    timezone: str = "UTC"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    db_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_pool_size: int = Field(default=20, ge=1, le=200)
    max_page_size: int = Field(default=100, ge=1, le=10_000)
    default_page_size: int = Field(default=50, ge=1, le=10_000)
    charging_efficiency: float = Field(default=0.9, gt=0, le=1)
    # Keys and limits (docs/security.md).
    admin_key: SecretStr | None = Field(default=None, min_length=16)
    admin_key_file: Path = Path("var") / "admin.key"
    rate_limit_per_second: float = Field(default=50.0, ge=0)
    rate_limit_burst: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    keep_alive_seconds: int = Field(default=5, ge=1)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # The replanning schedule (docs/sites.md): `serve` runs it unless disabled; one
    # process leads, the others poll every interval and take over when it dies.
    schedule_enabled: bool = True
    schedule_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    # ENTSO-E Transparency Platform token for `evcharge prices fetch`.
    entsoe_token: SecretStr | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        url = async_database_url(value)
        if not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must start with postgresql:// or sqlite:///")
        return url

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Oslo)"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, or None for PostgreSQL and in-memory SQLite."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        return Path(path) if path and path != ":memory:" else None


class ConfigError(Exception):
    """Raised with a one-line, operator-readable message."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"invalid configuration: EVCHARGE_{field.upper()}: {first['msg']}"
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
