"""Smart charging in the simulated charger: a configuration store (GetConfiguration,
ChangeConfiguration), charging profiles (SetChargingProfile, ClearChargingProfile,
GetCompositeSchedule) kept as a charger keeps them (over reconnects), and a car that
draws min(its own maximum, the charger's maximum, the composite schedule's limit).

Time is the charger's simulated clock, so hours of charging take a moment."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import ocpp.exceptions as ocpp_errors
from ocpp.routing import on as _on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

PROFILE_STATUSES = ("Accepted", "Rejected", "NotSupported")
H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


def on(action: Action) -> Callable[[H], H]:
    """The library's `@on(action)`, typed."""
    return cast(Callable[[H], H], _on(action))


def default_configuration() -> dict[str, str]:
    return {
        "ChargeProfileMaxStackLevel": "8",
        "ChargingScheduleMaxPeriods": "48",
        "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
        "MeterValueSampleInterval": "60",
        "HeartbeatInterval": "300",
        "NumberOfConnectors": "1",
    }


READ_ONLY = frozenset(
    {
        "ChargeProfileMaxStackLevel",
        "ChargingScheduleMaxPeriods",
        "ChargingScheduleAllowedChargingRateUnit",
        "NumberOfConnectors",
    }
)


@dataclass
class Car:
    """The car behind the connector: it takes at most `max_kw` until it is full."""

    max_kw: float = 11.0
    battery_kwh: float = 60.0
    soc: float = 50.0
    efficiency: float = 0.9

    def wants_w(self) -> float:
        return 0.0 if self.soc >= 100.0 else self.max_kw * 1000

    def take(self, wh: float) -> None:
        self.soc = min(100.0, self.soc + wh / 1000 * self.efficiency / self.battery_kwh * 100)


@dataclass
class Session:
    connector_id: int
    transaction_id: int
    start: datetime


@dataclass
class SmartState:
    """What a charger keeps across connections: its configuration and its profiles."""

    clock: Callable[[], datetime]
    configuration: dict[str, str] = field(default_factory=default_configuration)
    read_only: frozenset[str] = READ_ONLY
    profile_answer: str = "Accepted"
    """What SetChargingProfile answers (Rejected, NotSupported: tests of refusals;
    NotImplemented: a CALLERROR, as from a charger without the SmartCharging profile)."""
    max_w: float = 11_000.0
    voltage: float = 230.0
    phases: int = 3
    profiles: list[dict[str, Any]] = field(default_factory=list)
    """Installed profiles: `connector_id` and the profile (snake_case, as received)."""
    received: list[dict[str, Any]] = field(default_factory=list)
    """Every SetChargingProfile, whatever the answer (tests read it)."""
    cleared: list[dict[str, Any]] = field(default_factory=list)
    session: Session | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set whenever the central system sent a profile or cleared one (tests await it)."""

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 10.0) -> None:
        """Until `predicate()` holds, woken by every profile message; TimeoutError else."""
        async with asyncio.timeout(seconds):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    # --- profiles ------------------------------------------------------------------

    def set_profile(self, connector_id: int, profile: dict[str, Any]) -> str:
        self.received.append({"connector_id": connector_id, "profile": profile})
        self.changed.set()
        if self.profile_answer != "Accepted":
            return self.profile_answer
        schedule = profile["charging_schedule"]
        units = self.configuration["ChargingScheduleAllowedChargingRateUnit"]
        unit_name = "Current" if schedule["charging_rate_unit"] == "A" else "Power"
        purpose = profile["charging_profile_purpose"]
        if (
            profile["stack_level"] > int(self.configuration["ChargeProfileMaxStackLevel"])
            or len(schedule["charging_schedule_period"])
            > int(self.configuration["ChargingScheduleMaxPeriods"])
            or unit_name not in units
            or (purpose == "ChargePointMaxProfile" and connector_id != 0)
            or (purpose == "TxProfile" and not self._is_session(connector_id, profile))
        ):
            return "Rejected"
        self.profiles = [
            p
            for p in self.profiles
            if p["profile"]["charging_profile_id"] != profile["charging_profile_id"]
            and not (
                p["connector_id"] == connector_id
                and p["profile"]["stack_level"] == profile["stack_level"]
                and p["profile"]["charging_profile_purpose"] == purpose
            )
        ]
        self.profiles.append({"connector_id": connector_id, "profile": profile})
        return "Accepted"

    def _is_session(self, connector_id: int, profile: dict[str, Any]) -> bool:
        s = self.session
        return (
            s is not None
            and connector_id == s.connector_id
            and profile.get("transaction_id") == s.transaction_id
        )

    def clear(self, criteria: dict[str, Any]) -> str:
        self.cleared.append(criteria)
        self.changed.set()

        def matches(p: dict[str, Any]) -> bool:
            profile = p["profile"]
            if criteria.get("id") is not None:
                return bool(profile["charging_profile_id"] == criteria["id"])
            checks = (
                ("connector_id", p["connector_id"]),
                ("charging_profile_purpose", profile["charging_profile_purpose"]),
                ("stack_level", profile["stack_level"]),
            )
            return all(criteria.get(k) is None or criteria[k] == v for k, v in checks)

        kept = [p for p in self.profiles if not matches(p)]
        found = len(kept) != len(self.profiles)
        self.profiles = kept
        return "Accepted" if found else "Unknown"

    def session_ended(self) -> None:
        """OCPP 1.6: a TxProfile ends with its transaction."""
        self.profiles = [
            p for p in self.profiles if p["profile"]["charging_profile_purpose"] != "TxProfile"
        ]
        self.session = None

    # --- the composite schedule ------------------------------------------------------

    def limit_w(self, connector_id: int, at: datetime) -> float:
        """What the connector may draw at `at` (W): the charger's maximum, the highest
        valid ChargePointMaxProfile, and the session's TxProfile or else the highest
        TxDefaultProfile (this connector's or the charge point's)."""
        limits = [self.max_w]
        cap = self._highest(
            at, lambda p, c: p["charging_profile_purpose"] == "ChargePointMaxProfile"
        )
        if cap is not None:
            limits.append(cap)
        session = self.session
        tx = None
        if session is not None and session.connector_id == connector_id:
            tx = self._highest(
                at,
                lambda p, c: (
                    p["charging_profile_purpose"] == "TxProfile"
                    and p.get("transaction_id") == session.transaction_id
                ),
            )
        if tx is None:
            tx = self._highest(
                at,
                lambda p, c: (
                    p["charging_profile_purpose"] == "TxDefaultProfile" and c in (0, connector_id)
                ),
            )
        if tx is not None:
            limits.append(tx)
        return max(0.0, min(limits))

    def _highest(self, at: datetime, wanted: Callable[[dict[str, Any], int], bool]) -> float | None:
        best: tuple[int, int, float] | None = None
        for p in self.profiles:
            profile, connector = p["profile"], p["connector_id"]
            if not wanted(profile, connector):
                continue
            value = self._profile_limit(profile, at)
            if value is None:
                continue
            rank = (profile["stack_level"], connector)  # a connector's own wins a tie
            if best is None or rank > best[:2]:
                best = (*rank, value)
        return None if best is None else best[2]

    def _profile_limit(self, profile: dict[str, Any], at: datetime) -> float | None:
        """The profile's limit at `at` in W; None where it does not apply (not valid,
        before its start or after its duration: the next stack level applies)."""
        if "valid_from" in profile and at < _time(profile["valid_from"]):
            return None
        if "valid_to" in profile and at >= _time(profile["valid_to"]):
            return None
        schedule = profile["charging_schedule"]
        kind = profile["charging_profile_kind"]
        if kind == "Relative":
            start = self.session.start if self.session is not None else at
        else:
            start = _time(schedule.get("start_schedule")) if schedule.get("start_schedule") else at
            if kind == "Recurring":
                period = timedelta(days=7 if profile.get("recurrency_kind") == "Weekly" else 1)
                while start + period <= at:
                    start += period
        offset = (at - start).total_seconds()
        duration = schedule.get("duration")
        if offset < 0 or (duration is not None and offset >= duration):
            return None
        limit: float | None = None
        phases = self.phases
        for period in schedule["charging_schedule_period"]:
            if period["start_period"] <= offset:
                limit = float(period["limit"])
                phases = int(period.get("number_phases", self.phases))
        if limit is None:
            return None
        if schedule["charging_rate_unit"] == "A":
            return limit * min(phases, self.phases) * self.voltage
        return limit

    def composite(self, connector_id: int, duration: int, unit: str) -> dict[str, Any]:
        """The composite schedule from now, minute by minute, merged where equal."""
        start = self.clock().replace(microsecond=0)
        periods: list[dict[str, Any]] = []
        for minute in range(0, max(duration, 1), 60):
            watts = self.limit_w(connector_id, start + timedelta(seconds=minute))
            limit = watts if unit == "W" else watts / (self.phases * self.voltage)
            limit = round(limit, 1)
            if not periods or periods[-1]["limit"] != limit:
                periods.append({"start_period": minute, "limit": limit})
        return {
            "duration": duration,
            "start_schedule": start.isoformat(),
            "charging_rate_unit": unit,
            "charging_schedule_period": periods,
        }


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class SmartChargingHandlers:
    """The charger-side handlers of smart charging and configuration (a mixin of the
    simulated ChargePoint; `smart` is the charger's state, kept across connections)."""

    smart: SmartState

    @on(Action.get_configuration)
    async def on_get_configuration(self, key: list[str] | None = None) -> Any:
        config = self.smart.configuration
        wanted = key if key else list(config)
        known = [
            {"key": k, "readonly": k in self.smart.read_only, "value": config[k]}
            for k in wanted
            if k in config
        ]
        unknown = [k for k in wanted if k not in config]
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.change_configuration)
    async def on_change_configuration(self, key: str, value: str) -> Any:
        if key not in self.smart.configuration:
            return call_result.ChangeConfiguration(status="NotSupported")
        if key in self.smart.read_only:
            return call_result.ChangeConfiguration(status="Rejected")
        self.smart.configuration[key] = value
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any]
    ) -> Any:
        status = self.smart.set_profile(connector_id, cs_charging_profiles)
        if status == "NotImplemented":
            raise ocpp_errors.NotImplementedError(description="No SmartCharging here")
        return call_result.SetChargingProfile(status=status)

    @on(Action.clear_charging_profile)
    async def on_clear_charging_profile(self, **criteria: Any) -> Any:
        return call_result.ClearChargingProfile(status=self.smart.clear(criteria))

    @on(Action.get_composite_schedule)
    async def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None
    ) -> Any:
        unit = charging_rate_unit or "W"
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=self.smart.clock().replace(microsecond=0).isoformat(),
            charging_schedule=self.smart.composite(connector_id, duration, unit),
        )


# --- driving a session by the profile --------------------------------------------------

SUBSTEP = timedelta(minutes=1)


def drive(state: SmartState, meter: Any, car: Car, step: timedelta, connector_id: int = 1) -> float:
    """Let `step` of simulated time pass while the car charges as the profiles allow;
    the register and the clock move on. Returns the average power (W) over the step."""
    total_wh = 0.0
    remaining = step
    while remaining > timedelta(0):
        dt = min(SUBSTEP, remaining)
        watts = min(car.wants_w(), state.limit_w(connector_id, meter.clock))
        wh = watts * dt.total_seconds() / 3600
        car.take(wh)
        total_wh += wh
        meter.clock += dt
        remaining -= dt
    meter.wh += round(total_wh)
    return total_wh * 3600 / step.total_seconds()


def meter_values(
    meter: Any, connector_id: int, transaction_id: int | None, power_w: float, soc: float
) -> call.MeterValues:
    """A periodic sample as a real charger sends it: register, power, the car's SoC."""
    return call.MeterValues(
        connector_id=connector_id,
        transaction_id=transaction_id,
        meter_value=[
            {
                "timestamp": meter.stamp(),
                "sampledValue": [
                    {
                        "value": str(meter.wh),
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh",
                        "context": "Sample.Periodic",
                    },
                    {
                        "value": f"{power_w:.0f}",
                        "measurand": "Power.Active.Import",
                        "unit": "W",
                        "context": "Sample.Periodic",
                    },
                    {
                        "value": f"{soc:.1f}",
                        "measurand": "SoC",
                        "unit": "Percent",
                        "context": "Sample.Periodic",
                    },
                ],
            }
        ],
    )
