"""What every replan needs from the request: the time, and the charging efficiency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request


@dataclass(frozen=True, slots=True)
class PlanContext:
    now: datetime
    efficiency: float


def system_clock() -> datetime:
    return datetime.now(UTC)


def planning_context(request: Request) -> PlanContext:
    """The app's clock (tests inject a fixed one) and the configured efficiency."""
    state = request.app.state
    return PlanContext(now=state.clock(), efficiency=state.settings.charging_efficiency)


Planning = Annotated[PlanContext, Depends(planning_context)]
