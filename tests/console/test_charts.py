"""The console's SVG charts: pure functions of their inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from evcharge.console.charts import Span, chart, stack

T0 = datetime(2026, 3, 2, tzinfo=UTC)

spans = st.lists(
    st.tuples(st.integers(0, 40), st.integers(1, 8), st.integers(0, 22)).map(
        lambda t: Span(
            T0 + timedelta(minutes=15 * t[0]),
            T0 + timedelta(minutes=15 * (t[0] + t[1])),
            float(t[2]),
        )
    ),
    max_size=6,
)


@settings(max_examples=60)
@given(st.lists(spans, max_size=5))
def test_site_power_is_the_sum_of_its_devices_at_every_moment(devices: list[list[Span]]) -> None:
    summed = stack(devices)
    for minute in range(0, 15 * 50, 5):
        moment = T0 + timedelta(minutes=minute)
        expected = sum(s.value for d in devices for s in d if s.start <= moment < s.end)
        found = [s.value for s in summed if s.start <= moment < s.end]
        assert (found[0] if found else 0.0) == expected


def test_chart_escapes_what_came_from_data_and_says_what_it_shows_in_words() -> None:
    bars = [Span(T0, T0 + timedelta(hours=1), 7.4)]
    line = [
        Span(T0, T0 + timedelta(hours=1), 0.12),
        Span(T0 + timedelta(hours=1), T0 + timedelta(hours=2), 0.3),
    ]
    svg = str(chart(title='Bay <1> & "2"', bars=bars, line=line, limit=11, line_unit="EUR/kWh",
                    zone=ZoneInfo("Europe/Oslo")))  # fmt: skip
    assert "<1>" not in svg and "Bay &lt;1&gt; &amp;" in svg
    assert 'role="img"' in svg
    assert "peak 7.4 kW" in svg and "Limit 11 kW" in svg and "Price from 0.12 to 0.3" in svg
    assert ">02:00<" in svg  # 01:00 UTC is 02:00 in Oslo: ticks are in the operator's zone


def test_an_empty_chart_says_so() -> None:
    assert "nothing to show" in str(chart(title="Prices", zone=ZoneInfo("UTC")))
