"""Prometheus metrics: what an operator's monitoring scrapes at `/metrics`.

Every metric is defined here, with a small function per event, so feature code calls
`metrics.order_created(new=True)` or `metrics.ocpp_message("Heartbeat", "in", 0.002)` and
never touches prometheus_client itself. With several workers `evcharge serve` sets
PROMETHEUS_MULTIPROC_DIR (a fresh directory per start) before any worker imports this
module, and a scrape of any worker sums every worker's files (docs/operations.md).

On the request path the cost is a dict lookup and two value updates (microseconds):
label children are cached per (method, route, status).
"""

from __future__ import annotations

import glob
import hashlib
import hmac
import ipaddress
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"
ROUTE_STATE = "metrics_route"
"""Request-state key where `RouteTemplate` leaves the matched route's template."""
UNROUTED = "unrouted"
"""The route label of a request answered before routing (401, 413, unknown paths)."""
CREATE_ORDER = "/api/ChargeOrder/CreateOrder"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PLAN_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

requests_total = Counter(
    "evcharge_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
request_seconds = Histogram(
    "evcharge_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by method and route.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
orders_created = Counter(
    "evcharge_orders_created_total",
    "Charge orders stored (outcome=created) or answered again for a repeated Id (repeated).",
    ["outcome"],
)
orders_refused = Counter(
    "evcharge_orders_refused_total",
    "CreateOrder requests refused, by reason.",
    ["reason"],
)
plans_computed = Counter("evcharge_plans_computed_total", "Device plans computed and stored.")
planning_seconds = Histogram(
    "evcharge_planning_duration_seconds",
    "Time to compute and store the plans of one replanning (one or more gateways).",
    buckets=_PLAN_BUCKETS,
)
chargers_connected = Gauge(
    "evcharge_chargers_connected",
    "Chargers connected over OCPP (summed over live server processes).",
    multiprocess_mode="livesum",
)
ocpp_messages = Counter(
    "evcharge_ocpp_messages_total",
    "OCPP messages handled, by action and direction (in: from the charger).",
    ["action", "direction"],
)
ocpp_seconds = Histogram(
    "evcharge_ocpp_message_duration_seconds",
    "OCPP message handling time (in: our handler; out: until the charger's reply).",
    ["action", "direction"],
    buckets=_LATENCY_BUCKETS,
)
ocpp_shed = Counter(
    "evcharge_ocpp_connections_shed_total",
    "Charger connections refused before the upgrade because the chargers' database work "
    "was queueing too long (503, retried by the charger later).",
)
scheduler_runs = Counter(
    "evcharge_scheduler_runs_total", "Scheduler runs, by job and outcome.", ["job", "outcome"]
)
order_groups = Histogram(
    "evcharge_order_insert_group_size",
    "Orders stored by one statement of CreateOrder's group insert (PostgreSQL).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
scheduler_seconds = Histogram(
    "evcharge_scheduler_run_duration_seconds",
    "Duration of scheduler runs, by job.",
    ["job"],
    buckets=_PLAN_BUCKETS,
)
scheduler_leader = Gauge(
    "evcharge_scheduler_leader",
    "1 in the process that holds the scheduler's leadership, else 0 (summed: 1 is healthy).",
    multiprocess_mode="livesum",
)
db_pool_in_use = Gauge(
    "evcharge_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live processes).",
    multiprocess_mode="livesum",
)
db_pool_size = Gauge(
    "evcharge_db_pool_size",
    "Configured pool size (summed over live processes).",
    multiprocess_mode="livesum",
)
db_errors = Counter(
    "evcharge_db_errors_total",
    "Errors raised by the database driver, by error class (disconnects are kind=disconnect).",
    ["kind"],
)

# --- hooks for feature code ---------------------------------------------------------------


_CREATED = orders_created.labels("created")
_REPEATED = orders_created.labels("repeated")


def order_created(*, new: bool) -> None:
    """CreateOrder (or an OCPP stop) stored an order, or answered a repeated Id again."""
    (_CREATED if new else _REPEATED).inc()


def order_group(size: int) -> None:
    """One statement of the group insert went out with `size` orders."""
    order_groups.observe(size)


def order_refused(reason: str) -> None:
    orders_refused.labels(reason).inc()


def plans_stored(count: int, seconds: float) -> None:
    """A replanning (of one or more gateways) stored `count` device plans in `seconds`."""
    plans_computed.inc(count)
    planning_seconds.observe(seconds)


_OCPP_CHILDREN: dict[tuple[str, str], tuple[Any, Any]] = {}


def ocpp_message(action: str, direction: str, seconds: float) -> None:
    """An OCPP message handled: direction "in" (from the charger) or "out" (a command).
    Label children are cached per (action, direction): a dict lookup and two updates."""
    children = _OCPP_CHILDREN.get((action, direction))
    if children is None:
        children = (
            ocpp_messages.labels(action, direction),
            ocpp_seconds.labels(action, direction),
        )
        _OCPP_CHILDREN[(action, direction)] = children
    children[0].inc()
    children[1].observe(seconds)


def ocpp_connection_shed() -> None:
    ocpp_shed.inc()


def charger_connected(delta: int) -> None:
    """+1 when a charger's socket is accepted, -1 when it closes."""
    chargers_connected.inc(delta)


def scheduler_run(job: str, seconds: float, *, ok: bool = True) -> None:
    scheduler_runs.labels(job, "ok" if ok else "failed").inc()
    scheduler_seconds.labels(job).observe(seconds)


def scheduler_leadership(held: bool) -> None:
    """The scheduler took (True) or lost (False) leadership in this process."""
    scheduler_leader.set(1 if held else 0)


# --- database ------------------------------------------------------------------------------


def instrument_engine(engine: AsyncEngine, pool_size: int) -> None:
    """Pool use from checkout/checkin events, driver errors from `handle_error`."""
    sync_engine = engine.sync_engine
    db_pool_size.set(pool_size)

    @event.listens_for(sync_engine, "checkout")
    def _checkout(*_args: Any) -> None:
        db_pool_in_use.inc()

    @event.listens_for(sync_engine, "checkin")
    def _checkin(*_args: Any) -> None:
        db_pool_in_use.dec()

    @event.listens_for(sync_engine, "handle_error")
    def _error(context: Any) -> None:
        if context.is_disconnect:
            kind = "disconnect"
        else:
            original = context.original_exception
            kind = type(original).__name__ if original is not None else "unknown"
        db_errors.labels(kind).inc()


# --- requests ------------------------------------------------------------------------------

_REFUSALS = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    408: "body_timeout",
    409: "overlap",
    413: "too_large",
    415: "unsupported_media_type",
    422: "id_reused",
    429: "rate_limited",
    503: "database_unavailable",
}
_CREATE_ORDER_LOWER = CREATE_ORDER.lower()


class RequestMetrics:
    """Pure ASGI, outermost: count and time every HTTP request by its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = state.get(ROUTE_STATE) or self._unrouted(scope)
            self._observe(scope["method"], route, status, time.perf_counter() - started)

    @staticmethod
    def _unrouted(scope: Scope) -> str:
        path: str = scope["path"]
        return CREATE_ORDER if path.lower() == _CREATE_ORDER_LOWER else UNROUTED

    def _observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            if len(self._children) > 10_000:  # bounded: methods are free text
                method = "OTHER"
            children = (
                requests_total.labels(method, route, str(status)),
                request_seconds.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if route == CREATE_ORDER and status != 200:
            order_refused(_REFUSALS.get(status, str(status)))


class RouteTemplate:
    """Pure ASGI, innermost (around the router): leave the matched route's template in the
    request state for `RequestMetrics` (middlewares between them may copy the scope)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None)
            if template is not None and "state" in scope:
                scope["state"][ROUTE_STATE] = template


# --- exposition ----------------------------------------------------------------------------

_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(directory: str) -> list[int]:
    """Drop the live gauges of worker processes that are gone (a restarted worker must not
    count its predecessor's connections); counters of dead workers stay (they are totals)."""
    dead: set[int] = set()
    for path in glob.glob(os.path.join(directory, "gauge_live*.db")):
        found = _LIVE_FILE.search(os.path.basename(path))
        if found and not _alive(int(found.group(1))):
            dead.add(int(found.group(1)))
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    return sorted(dead)


def exposition() -> tuple[bytes, str]:
    """The text format of every metric: summed over the workers in multiprocess mode."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    forget_dead_processes(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def prepare_directory(directory: str) -> None:
    """Empty a multiprocess directory before a server starts (old pids' files would be
    summed in otherwise)."""
    os.makedirs(directory, exist_ok=True)
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.remove(path)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextmanager
def timed() -> Iterator[list[float]]:
    """`with timed() as took: ...` then `took[0]` is the block's duration in seconds."""
    took = [0.0]
    started = time.perf_counter()
    try:
        yield took
    finally:
        took[0] = time.perf_counter() - started


class MetricsEndpoint:
    """Pure ASGI, outside authentication: `GET /metrics` with its own protection —
    open to loopback clients (EVCHARGE_METRICS_OPEN_ON_LOOPBACK, default on), otherwise
    `Authorization: Bearer <EVCHARGE_METRICS_KEY>`; without a metrics key only loopback
    may scrape."""

    def __init__(self, app: ASGIApp, key: str | None, open_on_loopback: bool) -> None:
        self.app = app
        self.key_digest = hashlib.sha256(key.encode()).digest() if key else None
        self.open_on_loopback = open_on_loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[ROUTE_STATE] = PATH
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, b"Only GET.\n", [(b"allow", b"GET, HEAD")])
            return
        if not self._allowed(scope):
            challenge = [(b"www-authenticate", b'Bearer realm="evcharge-metrics"')]
            body = (
                b"Metrics need Authorization: Bearer <EVCHARGE_METRICS_KEY>.\n"
                if self.key_digest
                else b"Metrics are served to loopback clients only (set EVCHARGE_METRICS_KEY).\n"
            )
            await _plain(send, 401 if self.key_digest else 403, body, challenge)
            return
        payload, media_type = exposition()
        await _plain(send, 200, payload, [], media_type)

    def _allowed(self, scope: Scope) -> bool:
        client = scope.get("client")
        if self.open_on_loopback and is_loopback(client[0] if client else None):
            return True
        if self.key_digest is None:
            return False
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    presented = hashlib.sha256(token.strip().encode()).digest()
                    return hmac.compare_digest(presented, self.key_digest)
        return False


async def _plain(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    media_type: str = "text/plain; charset=utf-8",
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
