"""The baseline: a bare ASGI app doing one asyncpg INSERT of the same row per request.

No framework, no validation, no rules beyond the table's own constraints: the floor
that CreateOrder is measured against (`uvicorn bench.create_order.baseline:app`)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

INSERT = (
    "INSERT INTO charge_orders (id, client_id, device_id, customer_id, start_time, end_time,"
    " electric_quantity, discount_price, remark, created)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
REPLY = (
    b'{"status":1,"message":"The order was created.","errors":[],'
    b'"url":"/api/ChargeOrder/GetOrder?id='
)
HEADERS = [(b"content-type", b"application/json; charset=utf-8")]

pool: asyncpg.Pool | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                url = os.environ["BASELINE_DATABASE_URL"]
                size = int(os.environ.get("BASELINE_POOL_SIZE", "20"))
                # Opened as the load needs them and then kept (a backend that ended would
                # take its CPU out of the benchmark's PostgreSQL figures), so that the
                # benchmark's servers fit in PostgreSQL's max_connections together.
                pool = await asyncpg.create_pool(
                    url, min_size=0, max_size=size, max_inactive_connection_lifetime=0
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if pool is not None:
                    await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    order = json.loads(body, parse_float=Decimal)
    client_id = order["Id"]
    assert pool is not None
    await pool.execute(
        INSERT,
        uuid.uuid4(),
        client_id,
        uuid.UUID(order["ChargingDeviceId"]),
        uuid.UUID(order["CustomerId"]),
        datetime.fromisoformat(order["StartTime"]),
        datetime.fromisoformat(order["EndTime"]),
        order["ElectricQuantity"],
        order["DiscountPrice"],
        order["Remark"],
        datetime.now(UTC),
    )
    content = REPLY + client_id.encode() + b'"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [*HEADERS, (b"content-length", str(len(content)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": content})
