"""Per server process: sends its chargers the charging profiles they should have and do
not (`ocpp_charging_profiles`), through each charger's call path (one outstanding call).

Woken directly (`wake`) when a change is committed in this process or the charger
reconnects; woken by the bus (`ocpp/bus.py`: LISTEN/NOTIFY, polled rows on SQLite) when
another process commits a change, and by a poll every `EVCHARGE_OCPP_PROFILE_POLL_SECONDS`
should a notification be lost (the rows are the truth, the notification only says "now").
A refused profile is retried with back-off; a plan profile the charger refuses (Rejected,
NotSupported) makes the device unsteerable: its gateway is replanned with it as a Normal
device."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import ocpp.exceptions as ocpp_errors
import structlog
from ocpp.v16 import call
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.ocpp.bus import channel_name
from evcharge.ocpp.models import Charger
from evcharge.ocpp.smart import schedule, wanted
from evcharge.ocpp.smart.boot import boot_state, read_config, stored_config
from evcharge.ocpp.smart.models import PLAN, SITE_DEFAULT, ChargingProfileState
from evcharge.ocpp.smart.work import Work, load_work
from evcharge.registry.models import ChargingDevice

if TYPE_CHECKING:
    from evcharge.ocpp.central import CentralSystem

log = structlog.get_logger("evcharge.ocpp.smart")

PROFILE_CHANNEL = channel_name("profiles", "every process")
"""Charge point ids whose wanted profiles changed, one per line: every process holding
chargers listens; each wakes for the ones it holds."""
ANNOUNCE_BYTES = 7_900
"""At most this much per notification (NOTIFY takes 8,000 bytes)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # Accepted, Rejected, NotSupported, Unknown, Failed, Cleared
    error: str | None = None


class Reconciler:
    def __init__(self, central: CentralSystem) -> None:
        self.central = central
        self.settings = central.settings
        self._woken: set[str] = set()
        self._resend: dict[str, set[str]] = {}
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._booting = 0
        self._boots: set[asyncio.Task[None]] = set()
        self.idle = asyncio.Event()
        """Set whenever no reconciliation or boot runs and none is waiting (tests await it)."""
        self.idle.set()
        self._to_announce: set[str] = set()
        self._announcing: asyncio.Task[None] | None = None
        self._listening = False
        self._listen_lock = asyncio.Lock()
        wanted.register_waker(self.wake)
        wanted.register_waker(self._announce)

    # --- entry points ------------------------------------------------------------------

    def wake(self, charge_point_id: str) -> None:
        """Something about this charger's profiles changed: look now (if it is ours)."""
        if charge_point_id not in self.central.charge_points:
            return
        self._woken.add(charge_point_id)
        self.idle.clear()
        self._event.set()
        self.ensure_running()

    def resend(self, charge_point_id: str, kinds: tuple[str, ...] = (SITE_DEFAULT, PLAN)) -> None:
        """Send these profiles again (the charger rebooted or reconnected; a transaction
        started or ended, so the plan's profile changes purpose)."""
        self._resend.setdefault(charge_point_id, set()).update(kinds)
        self.wake(charge_point_id)

    # --- between processes ---------------------------------------------------------------

    def _announce(self, charge_point_id: str) -> None:
        """A change committed here: tell the process that holds the charger (all listen on
        one channel; this one was woken directly). Sent after the current step, batched."""
        if charge_point_id in self.central.charge_points:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous tool): the holders' poll finds it
            return
        self._to_announce.add(charge_point_id)
        if self._announcing is None or self._announcing.done():
            self._announcing = loop.create_task(self._send_announcements(), name="ocpp-announce")

    async def _send_announcements(self) -> None:
        await asyncio.sleep(0)  # gather what this commit changed
        while self._to_announce:
            batch: list[str] = []
            size = 0
            while self._to_announce and size + 200 < ANNOUNCE_BYTES:
                charge_point_id = self._to_announce.pop()
                batch.append(charge_point_id)
                size += len(charge_point_id.encode()) + 1
            try:
                await self.central.bus.notify(PROFILE_CHANNEL, "\n".join(batch))
            except Exception as exc:  # the bus is away: the holders' poll finds it
                log.warning("ocpp_profiles_announce_failed", error=repr(exc))
                self._to_announce.clear()

    async def _listen(self) -> None:
        """Listen for other processes' changes (once, with the first charger held)."""
        if self._listening or self._listen_lock.locked():
            return
        async with self._listen_lock:
            try:
                await self.central.bus.subscribe(PROFILE_CHANNEL, self._on_announcement)
                self._listening = True
            except Exception as exc:  # tried again with the next charger; the poll holds
                log.warning("ocpp_profiles_listen_failed", error=repr(exc))

    def _on_announcement(self, payload: str) -> None:
        for charge_point_id in payload.split("\n"):
            self.wake(charge_point_id)

    # --- connections ---------------------------------------------------------------------

    def connection_ready(self, charge_point: Any, booted: bool) -> None:
        """Start `charger_ready` as a task of its own (counted: `idle` waits for it)."""
        self._booting += 1
        self.idle.clear()
        task = asyncio.create_task(self._boot(charge_point, booted), name="ocpp-profile-boot")
        self._boots.add(task)
        task.add_done_callback(self._boots.discard)

    async def _boot(self, charge_point: Any, booted: bool) -> None:
        try:
            await self._listen()
            await self.charger_ready(charge_point, booted)
        except Exception as exc:
            log.warning("ocpp_profile_boot_failed", charge_point=charge_point.id, error=repr(exc))
        finally:
            self._booting -= 1
            self._check_idle()

    async def charger_ready(self, charge_point: Any, booted: bool = True) -> None:
        """A connection's first message was handled: read the charger's smart-charging
        limits, set its default and plan profiles from the stored state, send them.
        `booted`: it sent a BootNotification (it may have lost its profiles and changed
        its firmware: read its limits and send everything); else it only reconnected
        (its stored limits hold; only what changed meanwhile is sent, as a reconnect
        storm of thousands of chargers must stay cheap). A task of its own (a handler
        never awaits a call to its own charger)."""
        charge_point_id = charge_point.id
        if not self._holds(charge_point):
            return  # gone (or replaced) already
        stored = None
        if not booted:
            stored = await self.central.in_unit(
                lambda s, _t: stored_config(s, charge_point_id), soft=True
            )
        config = stored or await read_config(charge_point)
        if not self._holds(charge_point):
            return  # it went while we asked: what it answered (if anything) is not stored

        async def store(session: AsyncSession, now: datetime) -> None:
            await boot_state(session, charge_point_id, config, now)

        try:
            await self.central.in_unit(store)
        except Exception as exc:
            log.warning("ocpp_profile_boot_failed", charge_point=charge_point_id, error=repr(exc))
        # Nothing is sent before the charger's limits are known (a profile that does not
        # fit them would be refused, and the device taken for unsteerable).
        charge_point.configured.set()
        if booted:
            self.resend(charge_point_id)
        else:
            self.wake(charge_point_id)

    def _holds(self, charge_point: Any) -> bool:
        return self.central.charge_points.get(charge_point.id) is charge_point

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ocpp-profiles")

    async def close(self) -> None:
        """Stop sending (the process shuts down; it stays registered: wake() is a no-op
        for chargers it does not hold; it stops announcing)."""
        wanted.unregister_waker(self._announce)
        every = (self._task, self._announcing, *self._running.values(), *self._boots)
        tasks = [t for t in every if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        interval = self.settings.ocpp_profile_poll_seconds
        last_poll = asyncio.get_running_loop().time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=interval)
            self._event.clear()
            clock = asyncio.get_running_loop().time
            if clock() >= last_poll + interval:  # also when wakes keep coming
                last_poll = clock()
                try:
                    self._woken |= await self.due()
                except Exception as exc:  # the database is away: next round
                    log.warning("ocpp_profiles_poll_failed", error=repr(exc))
            woken, self._woken = self._woken, set()
            for charge_point_id in woken:
                self._start(charge_point_id)
            self._check_idle()

    def _start(self, charge_point_id: str) -> None:
        self.idle.clear()
        running = self._running.get(charge_point_id)
        if running is not None and not running.done():
            self._again.add(charge_point_id)  # once more when this round ends
            return
        task = asyncio.create_task(self._guarded(charge_point_id), name="ocpp-profile")
        self._running[charge_point_id] = task

    async def _guarded(self, charge_point_id: str) -> None:
        try:
            await self.reconcile(charge_point_id)
        except Exception as exc:
            log.warning("ocpp_profile_failed", charge_point=charge_point_id, error=repr(exc))
        finally:
            self._running.pop(charge_point_id, None)
            if charge_point_id in self._again:
                self._again.discard(charge_point_id)
                self._start(charge_point_id)
            self._check_idle()

    def _check_idle(self) -> None:
        if not self._running and not self._woken and not self._booting:
            self.idle.set()

    async def due(self) -> set[str]:
        """This process's chargers with a profile pending whose attempt is due."""
        now = self.central.now()

        async def query(session: AsyncSession, _now: datetime) -> set[str]:
            rows = await session.scalars(
                select(ChargingProfileState.charge_point_id)
                .join(Charger, Charger.charge_point_id == ChargingProfileState.charge_point_id)
                .where(
                    ChargingProfileState.pending.is_(True),
                    Charger.process_id == self.central.process.id,
                    (ChargingProfileState.next_attempt.is_(None))
                    | (ChargingProfileState.next_attempt <= now),
                )
            )
            return {cp for cp in rows if cp in self.central.charge_points}

        return await self.central.in_unit(query, soft=True)

    # --- one charger -------------------------------------------------------------------

    async def reconcile(self, charge_point_id: str) -> None:
        """Send this charger what it should have and does not, one profile at a time."""
        charge_point = self.central.charge_points.get(charge_point_id)
        if charge_point is None or not charge_point.configured.is_set():
            return
        resend = self._resend.pop(charge_point_id, set())
        work = await self.central.in_unit(lambda s, t: load_work(s, charge_point_id, t, resend))
        for item in work:
            outcome, payload = await self._send(charge_point, item, item.render(self.central.now()))
            changed = await self.central.in_unit(
                functools.partial(self._record_for, item, payload, outcome)
            )
            log.info(
                "ocpp_profile",
                charge_point=charge_point_id,
                kind=item.kind,
                status=outcome.status,
                error=outcome.error,
            )
            if changed and item.kind == PLAN:
                await self._steerability_changed(item.device_id)

    async def _send(
        self, charge_point: Any, item: Work, payload: dict[str, Any] | None
    ) -> tuple[Outcome, dict[str, Any] | None]:
        """Send one profile (or clear it); the answer and what the charger now has."""
        try:
            if payload is None:
                if item.acked is None and not item.resend_clear:
                    return Outcome("Cleared"), None
                profile_id = (
                    schedule.PLAN_PROFILE_ID
                    if item.kind == PLAN
                    else schedule.SITE_DEFAULT_PROFILE_ID
                )
                result = await charge_point.call(
                    call.ClearChargingProfile(id=profile_id), suppress=False
                )
                # Unknown: the charger has no such profile, which is what we want.
                return Outcome("Cleared", None if result.status == "Accepted" else "Unknown"), None
            status = await _set(charge_point, payload)
            if status == "Rejected" and item.transaction is not None:
                # The charger may know no such transaction (it ended unreported) or take no
                # TxProfile: the plan as the default of its sessions is the next best.
                fallback = item.render(self.central.now(), with_transaction=False)
                if fallback is not None and await _set(charge_point, fallback) == "Accepted":
                    note = "TxProfile refused; the plan is installed as TxDefaultProfile."
                    return Outcome("Accepted", note), fallback
            return Outcome(status), payload
        except (ocpp_errors.NotImplementedError, ocpp_errors.NotSupportedError) as exc:
            # A charger without the SmartCharging feature profile: it cannot be steered.
            return Outcome("NotSupported", f"{type(exc).__name__}: {exc}"[:500]), payload
        except Exception as exc:  # no answer in time, another CALLERROR, the socket went
            return Outcome("Failed", f"{type(exc).__name__}: {exc}"[:500]), payload

    async def _record_for(
        self,
        item: Work,
        payload: dict[str, Any] | None,
        outcome: Outcome,
        session: AsyncSession,
        now: datetime,
    ) -> bool:
        return await self._record(session, item, payload, outcome, now)

    async def _record(
        self,
        session: AsyncSession,
        item: Work,
        payload: dict[str, Any] | None,
        outcome: Outcome,
        now: datetime,
    ) -> bool:
        """Store the answer; True when the plan profile's steerability changed."""
        row = await session.get(
            ChargingProfileState, (item.charge_point_id, item.kind), with_for_update=True
        )
        if row is None:
            return False
        before = row.status in wanted.UNSTEERABLE
        settled = outcome.status in ("Accepted", "Cleared")
        if not settled and row.version != item.version:
            return False  # superseded meanwhile: the new version is tried at once
        if settled:
            if row.version == item.version:  # else it changed meanwhile: still pending
                row.pending = False
            row.acked_version = item.version
            row.acked = payload
            row.status = outcome.status
            row.error = outcome.error
            row.attempts = 0
            row.next_attempt = None
        else:
            row.status = outcome.status
            row.error = outcome.error or f"The charger answered {outcome.status}."
            row.attempts = (row.attempts or 0) + 1
            row.next_attempt = now + self._backoff(row.attempts)
        row.updated = now
        await session.flush()
        return before != (row.status in wanted.UNSTEERABLE)

    def _backoff(self, attempts: int) -> timedelta:
        first = self.settings.ocpp_profile_retry_seconds
        seconds = min(
            first * 2 ** max(attempts - 1, 0), self.settings.ocpp_profile_retry_max_seconds
        )
        return timedelta(seconds=seconds)

    async def _steerability_changed(self, device_id: uuid.UUID | None) -> None:
        """Tell the planner: replan the device's gateway (as Normal when unsteerable)."""
        if device_id is None:
            return
        from evcharge.plans import service as plans  # plans import this package's wanted state
        from evcharge.plans.context import PlanContext

        async def replan(session: AsyncSession, now: datetime) -> None:
            gateway_id = await session.scalar(
                select(ChargingDevice.gateway_id).where(ChargingDevice.id == device_id)
            )
            if gateway_id is not None:
                context = PlanContext(now=now, efficiency=self.settings.charging_efficiency)
                await plans.replan_gateways(session, [gateway_id], context, trigger="Charger")

        try:
            await self.central.in_unit(replan)
        except Exception as exc:  # the schedule will catch up
            log.warning("ocpp_profile_replan_failed", device=str(device_id), error=repr(exc))


async def _set(charge_point: Any, payload: dict[str, Any]) -> str:
    result = await charge_point.call(
        call.SetChargingProfile(
            connector_id=payload["connectorId"], cs_charging_profiles=payload["csChargingProfiles"]
        ),
        suppress=False,
    )
    return str(result.status)
