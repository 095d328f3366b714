"""A plan's slots as an OCPP 1.6 charging profile, fitted to what the charger can take.

Pure functions, no I/O. The wanted state (`wanted_plan`, `wanted_share`) is what the
database keeps; `render` turns it into a SetChargingProfile at the moment it is sent,
with the charger's limits (ChargeProfileMaxStackLevel, ChargingScheduleMaxPeriods,
ChargingScheduleAllowedChargingRateUnit) and the device's phases and voltage.

Never above the plan: limits are rounded down (0.1 W or 0.1 A per phase), a period
boundary moves later where the power rises and earlier where it falls, and periods
merged to fit the charger take the lower of the two limits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

SITE_DEFAULT_PROFILE_ID = 9100
"""chargingProfileId of the gateway's fair-share profile (TxDefaultProfile, stack 0)."""
PLAN_PROFILE_ID = 9101
"""chargingProfileId of the plan's profile: the same id whether TxDefaultProfile or
TxProfile, so a new one replaces the old one (OCPP 1.6 §5.16.3)."""
TOLERANCE_KW = 1e-6

CONFIG_KEYS = (
    "ChargeProfileMaxStackLevel",
    "ChargingScheduleMaxPeriods",
    "ChargingScheduleAllowedChargingRateUnit",
)


@dataclass(frozen=True, slots=True)
class SmartConfig:
    """What the charger said at boot (GetConfiguration); OCPP requires these keys of a
    charger with the SmartCharging profile. Missing or unreadable: conservative values."""

    max_stack_level: int = 1
    max_periods: int = 24
    units: tuple[str, ...] = ("Current",)

    @classmethod
    def from_keys(cls, values: dict[str, str]) -> SmartConfig:
        default = cls()
        stack = _int(values.get("ChargeProfileMaxStackLevel"), default.max_stack_level)
        periods = _int(values.get("ChargingScheduleMaxPeriods"), default.max_periods)
        raw = values.get("ChargingScheduleAllowedChargingRateUnit")
        units = tuple(u.strip() for u in raw.split(",") if u.strip()) if raw else default.units
        known = tuple(u for u in units if u in ("Current", "Power")) or default.units
        return cls(max(stack, 0), max(periods, 1), known)

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> SmartConfig:
        if not stored:
            return cls()
        return cls(
            int(stored["max_stack_level"]), int(stored["max_periods"]), tuple(stored["units"])
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_stack_level": self.max_stack_level,
            "max_periods": self.max_periods,
            "units": list(self.units),
        }

    @property
    def unit(self) -> str:
        """W when the charger takes Power (exact: plans are in kW), else A."""
        return "W" if "Power" in self.units else "A"


def _int(raw: str | None, default: int) -> int:
    try:
        return int(str(raw).strip()) if raw is not None else default
    except ValueError:
        return default


@dataclass(frozen=True, slots=True)
class Electrical:
    phases: int = 3
    voltage: int = 230


# --- the wanted state (stored as JSON) ------------------------------------------------


def wanted_plan(slots: Sequence[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """A stored plan's slots from `now` on (None: nothing planned, the profile goes)."""
    periods = []
    for slot in slots:
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        if end <= now or float(slot["power_kw"]) <= 0:
            continue
        periods.append([max(start, now).isoformat(), end.isoformat(), float(slot["power_kw"])])
    return {"periods": periods} if periods else None


def wanted_share(limit_kw: float | None) -> dict[str, Any] | None:
    return None if limit_kw is None else {"limit_kw": round(limit_kw, 6)}


def same_from(old: dict[str, Any] | None, new: dict[str, Any] | None, now: datetime) -> bool:
    """Do two wanted states ask the same of the charger from `now` on? (A replan that
    changes nothing ahead sends nothing.)"""
    if old is None or new is None:
        return old is None and new is None
    if "limit_kw" in old or "limit_kw" in new:
        return old.get("limit_kw") == new.get("limit_kw")
    return _ahead(old, now) == _ahead(new, now)


def _ahead(wanted: dict[str, Any], now: datetime) -> list[tuple[datetime, datetime, float]]:
    kept = []
    for start, end, kw in wanted["periods"]:
        s, e = datetime.fromisoformat(start), datetime.fromisoformat(end)
        if e > now:
            kept.append((max(s, now), e, round(float(kw), 6)))
    return kept


# --- rendering --------------------------------------------------------------------------


def limit_for(kw: float, unit: str, electrical: Electrical) -> Decimal:
    """The largest OCPP limit (a multiple of 0.1) not above `kw`."""
    watts = Decimal(str(round(kw, 6))) * 1000
    value = watts if unit == "W" else watts / (electrical.phases * electrical.voltage)
    return value.quantize(Decimal("0.1"), rounding=ROUND_FLOOR)


def _floor_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def periods_from(
    wanted: dict[str, Any], now: datetime
) -> tuple[datetime, list[tuple[int, float]], int] | None:
    """(startSchedule, [(startPeriod s, kW)], duration s) from `now` on, gaps at 0 kW;
    None when nothing is left."""
    segments = _ahead(wanted, now)
    if not segments:
        return None
    begin = _floor_second(now)
    points: list[tuple[int, float]] = []
    previous_kw = 0.0
    cursor = begin
    for start, end, kw in segments:
        if start > cursor:  # a gap: nothing planned
            points.append((_offset(begin, cursor, previous_kw, 0.0), 0.0))
            previous_kw = 0.0
        points.append((_offset(begin, start, previous_kw, kw), kw))
        previous_kw, cursor = kw, end
    duration = math.floor((cursor - begin).total_seconds())
    points[0] = (0, points[0][1])
    cleaned: list[tuple[int, float]] = []
    for offset, kw in points:
        offset = max(offset, cleaned[-1][0] if cleaned else 0)
        if cleaned and offset == cleaned[-1][0]:
            # Zero length after rounding: keep the lower limit (never above the plan).
            cleaned[-1] = (offset, min(kw, cleaned[-1][1]) if offset > 0 else kw)
            continue
        cleaned.append((offset, kw))
    cleaned = [p for p in cleaned if p[0] < duration] or cleaned[:1]
    return begin, cleaned, max(duration, 1)


def _offset(begin: datetime, moment: datetime, before_kw: float, after_kw: float) -> int:
    """Seconds from `begin`: later where the power rises, earlier where it falls."""
    seconds = (moment - begin).total_seconds()
    return math.ceil(seconds) if after_kw > before_kw else math.floor(seconds)


def merge_to_fit(
    periods: list[tuple[int, Decimal]], duration: int, max_periods: int
) -> list[tuple[int, Decimal]]:
    """At most `max_periods` periods: neighbours are merged, the merged one taking the
    lower limit, choosing each time the merge that gives up the least energy."""
    merged = _join_equal(periods)
    while len(merged) > max(max_periods, 1):
        best, best_loss = 0, None
        for i in range(len(merged) - 1):
            (s1, l1), (s2, l2) = merged[i], merged[i + 1]
            e2 = merged[i + 2][0] if i + 2 < len(merged) else duration
            # Energy given up: the higher period's excess over the lower limit.
            loss = (l1 - l2) * (s2 - s1) if l1 > l2 else (l2 - l1) * (e2 - s2)
            if best_loss is None or loss < best_loss:
                best, best_loss = i, loss
        (s1, l1), (_s2, l2) = merged[best], merged[best + 1]
        merged[best : best + 2] = [(s1, min(l1, l2))]
        merged = _join_equal(merged)
    return merged


def _join_equal(periods: list[tuple[int, Decimal]]) -> list[tuple[int, Decimal]]:
    joined: list[tuple[int, Decimal]] = []
    for start, limit in periods:
        if joined and joined[-1][1] == limit:
            continue
        joined.append((start, limit))
    return joined


@dataclass(frozen=True, slots=True)
class Transaction:
    connector_id: int
    transaction_id: int


def render_plan(
    wanted: dict[str, Any],
    now: datetime,
    config: SmartConfig,
    electrical: Electrical,
    transaction: Transaction | None,
) -> dict[str, Any] | None:
    """The SetChargingProfile request (`connectorId`, `csChargingProfiles`) for a plan:
    a TxProfile of the running transaction, else a TxDefaultProfile for every connector;
    None when nothing of the plan is left."""
    found = periods_from(wanted, now)
    if found is None:
        return None
    begin, points, duration = found
    unit = config.unit
    limits = [(offset, limit_for(kw, unit, electrical)) for offset, kw in points]
    fitted = merge_to_fit(limits, duration, config.max_periods)
    profile: dict[str, Any] = {
        "chargingProfileId": PLAN_PROFILE_ID,
        "stackLevel": min(1, config.max_stack_level),
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "validTo": _iso(begin + timedelta(seconds=duration)),
        "chargingSchedule": _schedule(begin, fitted, unit, electrical, duration),
    }
    connector = 0
    if transaction is not None:
        profile["chargingProfilePurpose"] = "TxProfile"
        profile["transactionId"] = transaction.transaction_id
        connector = transaction.connector_id
    return {"connectorId": connector, "csChargingProfiles": profile}


def render_share(
    wanted: dict[str, Any], now: datetime, config: SmartConfig, electrical: Electrical
) -> dict[str, Any] | None:
    """The gateway's fair share as a relative TxDefaultProfile at stack level 0 for every
    connector, without end: what the charger keeps to when evcharge is unreachable.
    None when the charger has no stack level below the plan's (max stack level 0)."""
    if config.max_stack_level < 1:
        return None
    unit = config.unit
    limit = limit_for(float(wanted["limit_kw"]), unit, electrical)
    schedule = _schedule(None, [(0, limit)], unit, electrical, None)
    return {
        "connectorId": 0,
        "csChargingProfiles": {
            "chargingProfileId": SITE_DEFAULT_PROFILE_ID,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            # Relative, one period, no end: it holds from every session's start whatever
            # the charger's clock says (an unset clock cannot put it in the future).
            "chargingProfileKind": "Relative",
            "chargingSchedule": schedule,
        },
    }


def _schedule(
    begin: datetime | None,
    periods: list[tuple[int, Decimal]],
    unit: str,
    electrical: Electrical,
    duration: int | None,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for offset, limit in periods:
        row: dict[str, Any] = {"startPeriod": offset, "limit": _number(limit)}
        if unit == "A":
            row["numberPhases"] = electrical.phases
        rows.append(row)
    schedule: dict[str, Any] = {"chargingRateUnit": unit, "chargingSchedulePeriod": rows}
    if begin is not None:
        schedule["startSchedule"] = _iso(begin)
    if duration is not None:
        schedule["duration"] = duration
    return schedule


def _number(value: Decimal) -> float | int:
    """A JSON number with at most one decimal (OCPP: multiples of 0.1)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def schedule_power_w(payload: dict[str, Any], at: datetime, electrical: Electrical) -> float | None:
    """The limit (W) a rendered profile sets at `at` (None outside it): for tests and
    the console, the inverse of `render_*`."""
    schedule = payload["csChargingProfiles"]["chargingSchedule"]
    if "startSchedule" not in schedule:  # relative: from the session's start
        begin = at
    else:
        begin = datetime.fromisoformat(schedule["startSchedule"].replace("Z", "+00:00"))
    offset = (at - begin).total_seconds()
    duration = schedule.get("duration")
    if offset < 0 or (duration is not None and offset >= duration):
        return None
    limit = None
    for period in schedule["chargingSchedulePeriod"]:
        if period["startPeriod"] <= offset:
            limit = float(period["limit"])
            phases = int(period.get("numberPhases", electrical.phases))
    if limit is None:
        return None
    return limit if schedule["chargingRateUnit"] == "W" else limit * phases * electrical.voltage
