"""Charts as server-rendered SVG (no script, no external asset): planned power as bars,
the price as a step line, the limit as a dashed line. Pure functions of their inputs."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 60, 26, 40


@dataclass(frozen=True, slots=True)
class Span:
    """A value over [start, end)."""

    start: datetime
    end: datetime
    value: float


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _ticks(start: datetime, end: datetime, zone: tzinfo) -> list[tuple[datetime, str]]:
    """About six local-time ticks on whole hours; the date is shown at local midnight."""
    hours = max(1.0, (end - start).total_seconds() / 3600)
    step = next(s for s in (1, 2, 3, 4, 6, 12, 24, 48, 96, 168) if hours / s <= 8)
    local = start.astimezone(zone)
    tick = local.replace(minute=0, second=0, microsecond=0)
    if tick < local:
        tick += timedelta(hours=1)
    found: list[tuple[datetime, str]] = []
    while tick <= end.astimezone(zone) and len(found) < 40:
        if tick.hour % step == 0 or (step >= 24 and tick.hour == 0):
            label = tick.strftime("%a %d %b") if tick.hour == 0 else tick.strftime("%H:%M")
            found.append((tick, label))
        tick = (tick + timedelta(hours=1)).astimezone(zone)
    return found


def chart(
    *,
    title: str,
    bars: Sequence[Span] = (),
    line: Sequence[Span] = (),
    limit: float | None = None,
    bar_unit: str = "kW",
    line_unit: str = "",
    zone: tzinfo,
) -> Markup:
    """One chart: `bars` on the left axis (with `limit`), `line` on the right axis."""
    spans = [*bars, *line]
    if not spans:
        return Markup('<p class="empty">{}</p>').format(f"{title}: nothing to show yet.")
    start = min(s.start for s in spans)
    end = max(s.end for s in spans)
    total = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: datetime) -> float:
        return LEFT + plot_w * (moment - start).total_seconds() / total

    bar_top = max([s.value for s in bars] + ([limit] if limit is not None else []) + [0.0])
    bar_top = bar_top * 1.1 or 1.0

    def y_bar(value: float) -> float:
        return TOP + plot_h * (1 - value / bar_top)

    low = min([s.value for s in line] + [0.0])
    high = max([s.value for s in line] + [0.0])
    span = (high - low) or 1.0

    def y_line(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / span)

    parts: list[str] = []
    for s in bars:
        if s.value <= 0:
            continue
        top = y_bar(s.value)
        parts.append(
            f'<rect class="bar" x="{x(s.start):.1f}" y="{top:.1f}" '
            f'width="{max(x(s.end) - x(s.start) - 0.5, 0.5):.1f}" '
            f'height="{TOP + plot_h - top:.1f}"><title>{escape(_when(s, zone))}: '
            f"{_fmt(s.value)} {escape(bar_unit)}</title></rect>"
        )
    if line:
        points: list[str] = []
        for s in line:
            points += [
                f"{x(s.start):.1f},{y_line(s.value):.1f}",
                f"{x(s.end):.1f},{y_line(s.value):.1f}",
            ]
        parts.append(f'<polyline class="price" fill="none" points="{" ".join(points)}"/>')
        for value in (low, high):
            parts.append(
                f'<text class="axis" x="{WIDTH - RIGHT + 4}" y="{y_line(value) + 4:.1f}">'
                f"{_fmt(value)}</text>"
            )
        parts.append(
            f'<text class="axis" x="{WIDTH - 4}" y="{TOP - 12}" text-anchor="end">'
            f"{escape(line_unit)}</text>"
        )
    if limit is not None:
        parts.append(
            f'<line class="limit" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y_bar(limit):.1f}" '
            f'y2="{y_bar(limit):.1f}"><title>limit {_fmt(limit)} kW</title></line>'
        )
    if bars or limit is not None:
        for value in (0.0, bar_top / 1.1):
            parts.append(
                f'<text class="axis" x="{LEFT - 4}" y="{y_bar(value) + 4:.1f}" '
                f'text-anchor="end">{_fmt(value)}</text>'
            )
        parts.append(f'<text class="axis" x="4" y="{TOP - 12}">{escape(bar_unit)}</text>')
    for moment, label in _ticks(start, end, zone):
        px = x(moment)
        parts.append(
            f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>'
            f'<text class="axis" x="{px:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append(
        f'<line class="frame" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" '
        f'y2="{TOP + plot_h}"/>'
    )
    summary = _summary(title, bars, line, limit, bar_unit, line_unit)
    # Every text that came from data went through escape() above.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(summary)}</title>{''.join(parts)}</svg>"
    )


def _when(span: Span, zone: tzinfo) -> str:
    return f"{span.start.astimezone(zone):%a %H:%M}–{span.end.astimezone(zone):%H:%M}"


def _summary(
    title: str,
    bars: Sequence[Span],
    line: Sequence[Span],
    limit: float | None,
    bar_unit: str,
    line_unit: str,
) -> str:
    """What the chart shows, in words (screen readers read this instead of the shapes)."""
    said = [title + "."]
    if bars:
        hours = sum((s.end - s.start).total_seconds() for s in bars if s.value > 0) / 3600
        peak = max(s.value for s in bars)
        said.append(f"Planned: {hours:.2g} h of charging, peak {_fmt(peak)} {bar_unit}.")
    if line:
        said.append(
            f"Price from {_fmt(min(s.value for s in line))} to "
            f"{_fmt(max(s.value for s in line))} {line_unit}."
        )
    if limit is not None:
        said.append(f"Limit {_fmt(limit)} kW.")
    return " ".join(said)


def stack(per_device: Sequence[Sequence[Span]]) -> list[Span]:
    """The site's planned power: the devices' powers summed between every boundary (a sweep
    over start/end events, so a depot of 1,000 devices costs n log n, not n²)."""
    changes: dict[datetime, float] = {}
    for spans in per_device:
        for s in spans:
            changes[s.start] = changes.get(s.start, 0.0) + s.value
            changes[s.end] = changes.get(s.end, 0.0) - s.value
    edges = sorted(changes)
    summed: list[Span] = []
    level = 0.0
    for left, right in itertools.pairwise(edges):
        level += changes[left]
        summed.append(Span(left, right, round(level, 9)))
    return summed
