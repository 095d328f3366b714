"""The bus between server processes (`ocpp/bus.py`), on the test database: two buses stand
for two processes (on SQLite each has its own connection to the file, as workers do)."""

from __future__ import annotations

import asyncio

import pytest

from evcharge.config import Settings
from evcharge.ocpp.bus import MAX_PAYLOAD, channel_name, create_bus


async def test_a_notification_reaches_the_subscribers_of_its_channel_only(
    settings: Settings,
) -> None:
    first, second = create_bus(settings), create_bus(settings)
    heard: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    try:
        mine, other = channel_name("test", "process-a"), channel_name("test", "process-b")
        await first.subscribe(mine, lambda p: heard.put_nowait(("sync", p)))

        async def later(payload: str) -> None:
            heard.put_nowait(("async", payload))

        await first.subscribe(mine, later)
        await second.notify(other, "not for me")
        await second.notify(mine, "command-1")
        got = {await asyncio.wait_for(heard.get(), 10) for _ in range(2)}
        assert got == {("sync", "command-1"), ("async", "command-1")}
        await second.notify(mine, "command-2")
        assert await asyncio.wait_for(heard.get(), 10) in {
            ("sync", "command-2"),
            ("async", "command-2"),
        }
        await asyncio.wait_for(heard.get(), 10)
        assert heard.empty()  # "not for me" never arrived
    finally:
        await first.close()
        await second.close()


async def test_a_payload_beyond_notifys_limit_is_refused_before_it_is_sent(
    settings: Settings,
) -> None:
    bus = create_bus(settings)
    try:
        with pytest.raises(ValueError, match="store it, notify its id"):
            await bus.notify(channel_name("test", "x"), "é" * (MAX_PAYLOAD // 2 + 1))
    finally:
        await bus.close()


def test_channel_names_are_short_identifiers_the_same_in_every_process() -> None:
    name = channel_name("cmd", "host.example:1234:abcdef12")
    assert name == channel_name("cmd", "host.example:1234:abcdef12")
    assert name != channel_name("reply", "host.example:1234:abcdef12")
    assert len(name) < 63 and name.replace("_", "").isalnum() and name == name.lower()
