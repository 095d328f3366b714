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
    worker_healthcheck_seconds: int = Field(default=60, ge=1, le=600)
    """How long uvicorn waits for a worker's answer before killing it as hung: its own default
    (5 s) restarted starting workers forever on a loaded machine (spawning one takes longer)."""
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
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    # Charge orders (docs/orders.md): the longest session one order may cover.
    max_order_days: int = Field(default=31, ge=1, le=3660)
    # Operations: /metrics and the console (docs/operations.md).
    metrics_key: SecretStr | None = Field(default=None, min_length=16)
    metrics_open_on_loopback: bool = True
    console_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    console_secure_cookies: bool | None = None
    """None: Secure cookies when the request came over https; True behind a TLS proxy."""
    console_event_seconds: float = Field(default=5.0, gt=0, le=300)
    # OCPP central system (docs/ocpp.md).
    ocpp_heartbeat_seconds: int = Field(default=300, ge=10, le=86_400)
    ocpp_response_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    ocpp_process_ttl_seconds: float = Field(default=90.0, ge=3, le=3600)
    ocpp_transaction_silence_seconds: float = Field(default=6 * 3600, ge=60)
    ocpp_ws_ping_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    ocpp_ws_ping_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    ocpp_password_scrypt_n: int = Field(default=2**14, ge=2**10, le=2**20)
    ocpp_admit_wait_seconds: float = Field(default=2.0, gt=0, le=600)
    """While the chargers' database work waits longer than this for its turn, a new
    connection is refused before the upgrade (503, Retry-After): it comes back later
    instead of adding to a queue its handshake would time out in (a reconnect storm)."""
    # Smart charging (docs/ocpp.md): how often a process looks for charging profiles its
    # chargers should have and do not (a cheap indexed query), and the back-off of a
    # profile the charger refused or did not answer (doubling from first to max).
    ocpp_profile_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    ocpp_profile_retry_seconds: float = Field(default=30.0, gt=0, le=86_400)
    ocpp_profile_retry_max_seconds: float = Field(default=1800.0, gt=0, le=86_400)
    # Remote commands and the message log (docs/ocpp.md).
    ocpp_command_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """How long a remote command waits for the charger's answer, queue included (504 after)."""
    ocpp_bus_poll_seconds: float = Field(default=0.1, gt=0, le=10)
    """SQLite only: how often a process looks for notifications of the other processes."""
    ocpp_log_days: float = Field(default=7.0, ge=0, le=3660)
    """How long the OCPP message log keeps frames (0: not kept at all)."""
    ocpp_log_frame_chars: int = Field(default=8192, ge=256, le=1_000_000)
    """The longest frame stored whole; a longer one keeps its beginning and its full size."""
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
