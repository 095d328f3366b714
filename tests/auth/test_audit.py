"""Audit: every write says which key did what to which entity, after it was committed."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from structlog.testing import capture_logs

from tests.conftest import ClientFor
from tests.factories import create_key, device_path, register_device


def audit_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in logs if line.get("event") == "audit"]


async def test_each_write_logs_key_action_entity_and_outcome_and_reads_log_nothing(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    await register_device(client)
    key_id, key = await create_key(app, customer=1)
    customer = client_for(key)
    with capture_logs() as logs:
        await client.put("/api/customers/9", json={"Name": "Nine"})
        created = await customer.post(device_path(), json={"BatteryLevel": 10})
        await customer.delete(device_path() + "/charginginformation")
        await customer.get(device_path())
    lines = audit_lines(logs)
    assert len(lines) == 3
    put, post, refused = lines
    assert put | {"key_id": "env", "method": "PUT", "action": "put_customer"} == put
    assert (put["entity_kind"], put["entity_id"]) == ("customers", "/api/customers/9")
    assert (put["status"], put["outcome"]) == (201, "ok")
    assert post["key_id"] == key_id
    assert post["action"] == "create_charging_information"
    assert post["entity_id"] == created.headers["Location"]
    assert post["entity_kind"] == "charginginformation"
    assert post["outcome"] == "ok"
    assert (refused["key_id"], refused["status"], refused["outcome"]) == (key_id, 403, "refused")


async def test_the_audit_line_follows_the_commit(app: FastAPI, client: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        response = await client.put("/api/customers/3", json={"Name": "Three"})
    assert response.status_code == 201
    (line,) = audit_lines(logs)
    # What the line reports is visible to another connection: it was committed first.
    async with app.state.engine.connect() as other:
        from sqlalchemy import text

        count = await other.scalar(text("SELECT count(*) FROM customers WHERE number = 3"))
    assert count == 1 and line["status"] == 201
