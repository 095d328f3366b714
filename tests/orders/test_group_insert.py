"""CreateOrder's group insert (PostgreSQL): orders that arrive together share one
statement, and each is still decided on its own — refused, left out for a busy device,
or stored — exactly as if it had come alone."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from fastapi import FastAPI

from evcharge import metrics
from evcharge.config import Settings
from evcharge.db import pooled_driver
from evcharge.errors import Unavailable
from evcharge.orders.group_insert import GroupInsert
from evcharge.orders.repository import Insert, NewOrder, OrderContent, insert_postgresql
from evcharge.orders.service import minimum_power
from tests.factories import order_body, order_parties
from tests.orders.wire import CREATE, total_orders

START = datetime(2031, 5, 1, 8, tzinfo=UTC)


@pytest.fixture(autouse=True)
def postgresql_only(settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("the group insert is PostgreSQL's hot path")


def new_order(client_id: str, device: str, customer: str, hour: int, kwh: str = "5") -> NewOrder:
    start = START + timedelta(hours=hour)
    end = start + timedelta(hours=1)
    content = OrderContent(
        device_id=uuid.UUID(device),
        customer_id=uuid.UUID(customer),
        start_time=start,
        end_time=end,
        electric_quantity=Decimal(kwh),
        discount_price=Decimal("1.5"),
        remark=client_id,
    )
    return NewOrder(client_id, content, minimum_power(Decimal(kwh), start, end), START)


async def test_each_order_of_one_statement_is_decided_on_its_own(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    device, customer = await order_parties(client, device=1)
    other_device, _ = await order_parties(client, device=2)
    group = [
        new_order("first", device, customer, 0),
        new_order("first", device, customer, 5),  # its Id is taken (by the row above)
        new_order("overlaps-first", device, customer, 0),  # same device, same hour
        new_order("no-device", str(uuid.uuid4()), customer, 0),
        new_order("no-customer", other_device, str(uuid.uuid4()), 3),
        new_order("too-much", other_device, customer, 0, kwh="500"),  # 11 kW for an hour
        new_order("other-device", other_device, customer, 0),
        new_order("later", device, customer, 1),  # same device, next hour: no overlap
    ]
    async with pooled_driver(app.state.engine) as driver:
        outcomes = await insert_postgresql(driver, group, group=True)
    stored, left_out = Insert.STORED, Insert.NOT_STORED
    assert outcomes == [stored, left_out, left_out, left_out, left_out, left_out, stored, stored]
    assert await total_orders(client) == 3


async def test_a_device_another_transaction_holds_does_not_hold_up_the_others(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    busy, customer = await order_parties(client, device=1)
    free, _ = await order_parties(client, device=2)
    async with pooled_driver(app.state.engine) as holder:
        # A replan or a device PUT in progress: the device row is locked until it ends.
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "SELECT id FROM charging_devices WHERE id = $1 FOR UPDATE", uuid.UUID(busy)
        )
        try:
            async with pooled_driver(app.state.engine) as driver:
                group = [new_order("busy", busy, customer, 0), new_order("free", free, customer, 0)]
                outcomes = await asyncio.wait_for(insert_postgresql(driver, group, group=True), 5)
            assert outcomes == [Insert.NOT_STORED, Insert.STORED]
            # Over HTTP: the free device's order is answered while the busy one's waits
            # (alone, on its own connection) for the lock, and is stored once it ends.
            waiting = asyncio.create_task(
                client.post(CREATE, json=order_body(busy, customer, Id="waits"))
            )
            answered = await asyncio.wait_for(
                client.post(
                    CREATE,
                    json=order_body(
                        free, customer, Id="goes", StartTime="2031-06-01T00:00:00Z",
                        EndTime="2031-06-01T01:00:00Z",
                    ),
                ),
                10,
            )  # fmt: skip
            assert answered.status_code == 200, answered.text
            assert not waiting.done()
        finally:
            await transaction.rollback()
    reply = await asyncio.wait_for(waiting, 10)
    assert reply.status_code == 200, reply.text
    assert reply.json()["message"] == "The order was created."
    assert await total_orders(client) == 3


def _groups() -> tuple[float, float]:
    """(statements, orders) of the group insert so far, from its metric."""
    samples = {s.name: s.value for m in metrics.order_groups.collect() for s in m.samples}
    return samples["evcharge_order_insert_group_size_count"], samples[
        "evcharge_order_insert_group_size_sum"
    ]


async def test_orders_that_arrive_together_share_statements_and_all_are_answered(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    statements, orders = _groups()
    bodies = [
        order_body(
            device,
            customer,
            Id=f"together-{n}",
            StartTime=(START + timedelta(hours=n)).isoformat(),
            EndTime=(START + timedelta(hours=n + 1)).isoformat(),
        )
        for n in range(40)
    ]
    stranger = str(uuid.uuid4())
    bodies.insert(20, order_body(stranger, customer, Id="no-such-device"))
    replies = await asyncio.gather(*(client.post(CREATE, json=body) for body in bodies))
    statuses = [r.status_code for r in replies]
    assert statuses == [200] * 20 + [400] + [200] * 20, [
        r.text for r in replies if r.status_code != 200
    ]
    assert all(
        r.json()["message"] == "The order was created." for r in replies if r.status_code == 200
    )
    assert stranger in replies[20].text
    more_statements, more_orders = _groups()
    assert more_orders - orders == 41
    assert more_statements - statements < 41  # some went together
    assert await total_orders(client) == 40


async def test_a_group_cut_off_by_shutdown_answers_every_order_503(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    device, customer = await order_parties(client)
    group = GroupInsert(app.state.engine)
    async with pooled_driver(app.state.engine) as holder:
        transaction = holder.transaction()
        await transaction.start()
        # The statement waits for this lock (a table lock is not skipped), so the group
        # is out when the process stops.
        await holder.execute("LOCK TABLE charge_orders IN ACCESS EXCLUSIVE MODE")
        try:
            waiting = [
                asyncio.create_task(group.insert(new_order(f"cut-{n}", device, customer, n)))
                for n in range(5)
            ]
            await asyncio.sleep(0.3)
            assert group.lanes and not group.waiting  # the statement is out
            for lane in group.lanes:
                lane.cancel()
            outcomes = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 5)
        finally:
            await transaction.rollback()
    assert [type(o) for o in outcomes] == [Unavailable] * 5
    assert group.free_lanes == 1 and not group.waiting


async def test_a_value_the_database_refuses_fails_only_its_own_order(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    device, customer = await order_parties(client)
    bad = new_order("bad", device, customer, 1)
    # Past the API's own checks (they refuse a NUL first): PostgreSQL's text cannot hold it.
    bad = NewOrder(bad.client_id, replace(bad.content, remark="nul \x00"), bad.min_power, START)
    async with pooled_driver(app.state.engine) as driver:
        group = [new_order("good", device, customer, 0), bad]
        assert await insert_postgresql(driver, group, group=True) == [Insert.NOT_STORED] * 2
        # Alone, the good one is stored and the bad one is the database's error.
        assert await insert_postgresql(driver, group[:1]) == [Insert.STORED]
        with pytest.raises(asyncpg.DataError):
            await insert_postgresql(driver, [bad])
