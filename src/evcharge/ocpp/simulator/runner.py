"""Scenarios of real chargers' behaviour, run over N simulated charge points."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from evcharge.ocpp.simulator.charger import EPOCH_1970, Charger

STEP = timedelta(minutes=15)
CONNECTOR = 1


@dataclass(frozen=True)
class Scenario:
    sessions: int = 1
    meter_values: int = 3
    interval: float = 0.0
    """Real seconds between MeterValues (the charger's own clock moves by STEP each)."""
    id_tag: str = "SIMTAG"
    offline_queue: bool = False
    lost_stop: bool = False
    meter_reset: bool = False
    clock_1970: bool = False
    reconnect_storm: bool = False
    kwh_as_wh: bool = False


@dataclass
class Outcome:
    charge_point_id: str
    boot: str = ""
    transactions: list[int] = field(default_factory=list)
    stops_answered: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Report:
    outcomes: list[Outcome]

    @property
    def failed(self) -> bool:
        return any(o.errors for o in self.outcomes)

    def summary(self) -> str:
        transactions = sum(len(o.transactions) for o in self.outcomes)
        stops = sum(o.stops_answered for o in self.outcomes)
        errors = [f"{o.charge_point_id}: {e}" for o in self.outcomes for e in o.errors]
        lines = [
            f"chargers: {len(self.outcomes)}, transactions: {transactions}, "
            f"stops answered: {stops}, errors: {len(errors)}"
        ]
        return "\n".join(lines + errors[:20])


async def run_charger(
    url: str, charge_point_id: str, password: str | None, scenario: Scenario, **options: Any
) -> Outcome:
    outcome = Outcome(charge_point_id)
    charger = Charger(url, charge_point_id, password, **options)
    if scenario.clock_1970:
        charger.meter.clock = EPOCH_1970
    try:
        await charger.connect()
        outcome.boot = await charger.boot()
        await charger.send(charger.status(CONNECTOR, "Available"))
        for _ in range(scenario.sessions):
            await _session(charger, scenario, outcome)
        if scenario.sessions == 0:  # stay connected, answering remote commands, until closed
            await charger.closed()
    except Exception as exc:
        outcome.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        await charger.drop()
    return outcome


async def _session(charger: Charger, scenario: Scenario, outcome: Outcome) -> None:
    tag = scenario.id_tag
    await charger.send(charger.status(CONNECTOR, "Preparing"))
    await charger.send(_authorize(tag))
    if scenario.offline_queue:
        await _offline_session(charger, scenario, outcome)
        return
    start = charger.start(CONNECTOR, tag)
    result = await charger.send(start)
    transaction_id = int(result.transaction_id)
    outcome.transactions.append(transaction_id)
    await charger.send(charger.status(CONNECTOR, "Charging"))
    for n in range(scenario.meter_values):
        charger.advance(STEP)
        if scenario.meter_reset and n == scenario.meter_values // 2:
            charger.meter.wh = 500  # the register restarts after a firmware reset
        if scenario.reconnect_storm and n == 0:
            await charger.drop()
            await charger.connect()
            await charger.boot()
            # The start's answer was "lost": the charger sends the same start again.
            again = await charger.send(start)
            if int(again.transaction_id) != transaction_id:
                outcome.errors.append(
                    f"re-sent start got transaction {again.transaction_id}, not {transaction_id}"
                )
        await charger.send(
            charger.meter_value(CONNECTOR, transaction_id, kwh_as_wh=scenario.kwh_as_wh)
        )
        if scenario.interval:
            await asyncio.sleep(scenario.interval)
    charger.advance(STEP)
    if scenario.lost_stop:
        await charger.send(charger.status(CONNECTOR, "Available"))
        return
    await charger.send(charger.stop(transaction_id, tag))
    outcome.stops_answered += 1
    await charger.send(charger.status(CONNECTOR, "Finishing"))
    await charger.send(charger.status(CONNECTOR, "Available"))


async def _offline_session(charger: Charger, scenario: Scenario, outcome: Outcome) -> None:
    """The network is gone for the whole session: the charger keeps Start, MeterValues
    and Stop (with their own, now old, timestamps) and replays them in order later."""
    tag = scenario.id_tag
    await charger.drop()
    start = charger.start(CONNECTOR, tag)
    queued = []
    for _ in range(scenario.meter_values):
        charger.advance(STEP)
        queued.append(charger.meter_value(CONNECTOR, None))
    charger.advance(STEP)
    stop_template = charger.stop(0, tag)
    await charger.connect()
    await charger.boot()
    result = await charger.send(start)
    transaction_id = int(result.transaction_id)
    outcome.transactions.append(transaction_id)
    for message in queued:
        message.transaction_id = transaction_id
        await charger.send(message)
    stop_template.transaction_id = transaction_id
    await charger.send(stop_template)
    outcome.stops_answered += 1
    await charger.send(charger.status(CONNECTOR, "Available"))


def _authorize(tag: str) -> Any:
    from ocpp.v16 import call

    return call.Authorize(id_tag=tag)


async def run(
    url: str,
    charge_point_ids: list[str],
    password: str | None,
    scenario: Scenario,
    **options: Any,
) -> Report:
    outcomes = await asyncio.gather(
        *(run_charger(url, cpid, password, scenario, **options) for cpid in charge_point_ids)
    )
    return Report(list(outcomes))
