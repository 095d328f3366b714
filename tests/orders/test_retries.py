"""A 503 may have stored the order (docs/orders.md): retries with the same Id are safe, and
a retry without Id that repeats a stored order is told so, naming that order."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.exc import DBAPIError

from evcharge.db import database_unreachable, lost_a_race
from tests.factories import order_body, order_parties
from tests.orders.wire import CREATE


async def test_a_retry_without_id_that_repeats_a_stored_order_names_it_in_the_409(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer)  # no Id: the server assigns one
    first = await client.post(CREATE, json=body)
    assert first.status_code == 200, first.text
    stored_id = first.json()["url"].split("=", 1)[1]
    retry = await client.post(CREATE, json=body)
    assert retry.status_code == 409, retry.text
    reply = retry.json()
    assert f"already stored as order {stored_id}" in reply["message"]
    assert "retry" in reply["message"]
    assert reply["errors"][0]["field"] == "Id"
    assert stored_id in reply["errors"][0]["errorMessages"][0]
    # A different order that merely overlaps is the plain overlap 409, not a "repeat".
    other = await client.post(CREATE, json={**body, "ElectricQuantity": 1})
    assert other.status_code == 409
    assert "already stored" not in other.json()["message"]
    assert other.json()["errors"][0]["field"] == "StartTime"


async def test_a_retry_with_the_same_id_after_a_lost_reply_stores_nothing_twice(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer, Id="client-42")
    assert (await client.post(CREATE, json=body)).status_code == 200
    again = await client.post(CREATE, json=body)
    assert again.status_code == 200
    assert "already exists" in again.json()["message"]


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_asyncpg_client_errors_at_the_instant_the_server_dies_read_as_database_away() -> None:
    assert database_unreachable(asyncpg.InternalClientError("cannot switch to state 12"))
    assert database_unreachable(asyncpg.ConnectionDoesNotExistError("connection was closed"))
    wrapped = RuntimeError("adapter")
    wrapped.__cause__ = asyncpg.InternalClientError("another operation is in progress")
    assert database_unreachable(DBAPIError("SELECT 1", {}, wrapped))
    full = RuntimeError("adapter")
    full.__cause__ = asyncpg.TooManyConnectionsError("sorry, too many clients already")
    assert database_unreachable(DBAPIError("connect", {}, full))
    assert not database_unreachable(ValueError("a bug"))


def test_a_deadlock_or_serialization_failure_is_a_retryable_conflict_not_a_500() -> None:
    assert lost_a_race(DBAPIError("UPDATE", {}, _Orig("40P01")))
    assert lost_a_race(DBAPIError("UPDATE", {}, _Orig("40001")))
    assert not lost_a_race(DBAPIError("UPDATE", {}, _Orig("23505")))
