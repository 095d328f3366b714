"""OCPP tables: credentials, id tags, live connections, connectors, transactions, meter values."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from evcharge.db import Base, UtcDateTime, utcnow

ID_TAG_LENGTH = 20
"""OCPP 1.6 IdToken: CiString20Type."""


class ChargePointCredential(Base):
    """Security profile 1/2: the charger's HTTP Basic password, as a salted slow hash."""

    __tablename__ = "ocpp_credentials"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_devices.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IdTag(Base):
    """An RFID card or app token that belongs to a customer."""

    __tablename__ = "ocpp_id_tags"

    id_tag: Mapped[str] = mapped_column(String(ID_TAG_LENGTH), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    expiry: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ServerProcess(Base):
    """A server process that holds charger sockets; alive while `last_seen` is recent."""

    __tablename__ = "ocpp_processes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Charger(Base):
    """The connection state of one charge point, readable by every process."""

    __tablename__ = "ocpp_chargers"

    charge_point_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_devices.id", ondelete="CASCADE"), index=True
    )
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    connected_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    disconnected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_heartbeat: Mapped[datetime | None] = mapped_column(UtcDateTime())
    process_id: Mapped[str | None] = mapped_column(String(64), index=True)
    connection_id: Mapped[str | None] = mapped_column(String(32))
    protocol: Mapped[str | None] = mapped_column(String(16))
    boot_status: Mapped[str | None] = mapped_column(String(16))
    boot: Mapped[dict[str, str] | None] = mapped_column(JSON)
    """The last BootNotification's vendor, model, serial and firmware fields."""
    smart_config: Mapped[dict[str, object] | None] = mapped_column(JSON)
    """What GetConfiguration said of smart charging at the last boot (`ocpp.smart`)."""


class ConnectorState(Base):
    """The last StatusNotification of one connector (0 = the charge point itself)."""

    __tablename__ = "ocpp_connectors"

    charge_point_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    connector_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[str] = mapped_column(String(32))
    info: Mapped[str | None] = mapped_column(String(50))
    vendor_id: Mapped[str | None] = mapped_column(String(255))
    vendor_error_code: Mapped[str | None] = mapped_column(String(50))
    timestamp: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Transaction(Base):
    """One charging session as the charger reported it, and what became of it.

    `id` is the OCPP transactionId the central system assigned. A start re-sent after a
    reconnect (same connector, id tag, timestamp and meterStart) finds its row again
    through the unique constraint instead of opening a second session."""

    __tablename__ = "ocpp_transactions"
    __table_args__ = (
        UniqueConstraint(
            "charge_point_id",
            "connector_id",
            "id_tag",
            "charger_start",
            "meter_start_wh",
            "claimed_id",
            name="uq_ocpp_transactions_start",
        ),
        Index("ix_ocpp_transactions_charger_state", "charge_point_id", "state"),
        Index("ix_ocpp_transactions_state_activity", "state", "last_activity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    charge_point_id: Mapped[str] = mapped_column(String(48))
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("charging_devices.id", ondelete="CASCADE"), index=True
    )
    connector_id: Mapped[int] = mapped_column(Integer)
    claimed_id: Mapped[int] = mapped_column(Integer, default=0)
    """0 for a started session; for an orphan stop, the transactionId the charger claimed."""
    id_tag: Mapped[str] = mapped_column(String(ID_TAG_LENGTH))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    charger_start: Mapped[datetime] = mapped_column(UtcDateTime())
    """The start timestamp exactly as the charger sent it (part of the idempotency key)."""
    start_time: Mapped[datetime] = mapped_column(UtcDateTime())
    """The start used for billing: the charger's, or the server's when its clock was unset."""
    meter_start_wh: Mapped[Decimal]
    stop_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    meter_stop_wh: Mapped[Decimal | None]
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    last_meter_wh: Mapped[Decimal | None]
    """The latest energy register (Wh) seen in MeterValues of this transaction."""
    last_activity: Mapped[datetime] = mapped_column(UtcDateTime())
    """Server time of the last message about this transaction (the lost-stop rule)."""
    state: Mapped[str] = mapped_column(String(16))
    """active | stopped | closed_by_rule | orphan_stop"""
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    """clock_not_set, meter_reset, unit_corrected, closed_by_rule, stop_after_rule, …"""
    energy_kwh: Mapped[Decimal | None]
    order_id: Mapped[str | None] = mapped_column(String(64))
    order_error: Mapped[str | None] = mapped_column(Text)
    """Why an order rule refused the stopped session: kept for the operator, never dropped."""
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class MeterValue(Base):
    """One sampled value of a transaction's MeterValues or StopTransaction.transactionData."""

    __tablename__ = "ocpp_meter_values"
    __table_args__ = (Index("ix_ocpp_meter_values_transaction", "transaction_id", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ocpp_transactions.id", ondelete="CASCADE")
    )
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime())
    measurand: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal]
    unit: Mapped[str | None] = mapped_column(String(16))
    context: Mapped[str | None] = mapped_column(String(32))
    phase: Mapped[str | None] = mapped_column(String(8))
    location: Mapped[str | None] = mapped_column(String(8))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)


FrameId = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit on PostgreSQL (billions of frames over the retention); SQLite's rowid is 64-bit."""


class Frame(Base):
    """One OCPP frame in or out (the message log), kept `EVCHARGE_OCPP_LOG_DAYS` days.
    `frame` holds at most `EVCHARGE_OCPP_LOG_FRAME_CHARS` characters; `size` is the whole
    frame's length, so a shortened one says so."""

    __tablename__ = "ocpp_frames"
    __table_args__ = (Index("ix_ocpp_frames_charger", "charge_point_id", "id"),)

    id: Mapped[int] = mapped_column(FrameId, primary_key=True, autoincrement=True)
    charge_point_id: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    """in (from the charger) | out (to the charger)"""
    frame: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)


class Command(Base):
    """A remote command on its way to the process that holds the charger's socket, and
    its outcome on the way back (docs/ocpp.md, "Remote commands"). Payloads are stored as
    JSON text, exact as sent; a row lives only while its command is pending."""

    __tablename__ = "ocpp_commands"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    charge_point_id: Mapped[str] = mapped_column(String(48))
    action: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    holder: Mapped[str] = mapped_column(String(64))
    """The process expected to hold the charger's socket."""
    reply_to: Mapped[str] = mapped_column(String(64))
    """The process that waits for the outcome."""
    created: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    """pending | result | call_error | not_connected | timeout | lost"""
    reply: Mapped[str | None] = mapped_column(Text)
    """The charger's CALLRESULT payload, or the CALLERROR's [code, description, details]."""


class BusMessage(Base):
    """A notification between the processes of one host on SQLite (PostgreSQL uses
    LISTEN/NOTIFY and leaves this table empty): `ocpp/bus.py`."""

    __tablename__ = "ocpp_bus"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
