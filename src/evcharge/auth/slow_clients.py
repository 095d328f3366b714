"""Limits on the request head that uvicorn's httptools protocol does not have.

- A header timeout: a connection that has not finished sending a request's headers within
  EVCHARGE_HEADER_TIMEOUT_SECONDS of opening (or of the first byte of a later request) is
  closed. Idle keep-alive connections are closed by uvicorn's timeout_keep_alive; a slow
  body is answered 408 by `limits.BodyLimits`.
- A size limit: a request line plus headers longer than EVCHARGE_MAX_HEADER_BYTES (16 KiB)
  is answered 431 and the connection closed, so memory stays flat (httptools itself
  would buffer a header of any size; one of 200 MB once grew a server by 280 MB).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from evcharge.config import get_settings


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus a deadline and a size limit for the request line
    and headers.

    A module-level class (not built per call) so uvicorn's worker processes can import it;
    each worker reads its limits from its own settings."""

    header_timeout: float | None = None
    """Seconds; None reads EVCHARGE_HEADER_TIMEOUT_SECONDS."""
    max_header_bytes: int | None = None
    """Bytes of request line and headers; None reads EVCHARGE_MAX_HEADER_BYTES."""
    _header_timer: asyncio.TimerHandle | None = None
    _refused = False
    """The connection's current request was refused (431): ignore the rest of it."""
    _head_bytes: int | None = None
    """Bytes received of the current request's head; None while not reading a head."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._head_limit = self.max_header_bytes or get_settings().max_header_bytes
        self._head_bytes = 0
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is None:
            super().data_received(data)
            return
        self._head_bytes += len(data)
        # Fed first: the chunk may end this head and start a body. Memory stays within
        # the limit plus one read (the transport reads at most 256 KiB at a time).
        super().data_received(data)
        if self._head_bytes is not None and self._head_bytes > self._head_limit:
            self._refuse_large_head()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._head_bytes = 0  # a pipelined or kept-alive request's head follows

    def _refuse_large_head(self) -> None:
        """431 in the family's error shape (the path may be known by now), then close."""
        self._refused = True
        self._head_bytes = None
        self._disarm_header_timer()
        if self.transport.is_closing():  # the parser refused the request already (400)
            return
        message = (
            f"The request line and headers exceed {self._head_limit} bytes "
            "(EVCHARGE_MAX_HEADER_BYTES)."
        )
        if getattr(self, "url", b"").lower().startswith(b"/api/chargeorder"):
            body: dict[str, Any] = {"status": 0, "message": message, "errors": [], "url": None}
        else:
            body = {"Message": message}
        content = json.dumps(body).encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json; charset=utf-8\r\n"
            b"content-length: " + str(len(content)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + content
        )
        self.transport.close()

    def on_message_begin(self) -> None:
        # The next request on a kept-alive connection: its headers get a deadline too.
        # (Idle time between requests is uvicorn's timeout_keep_alive.)
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        self._head_bytes = None
        if self._refused:
            return
        # The whole head arrived in one read: measure what the parser holds of it.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self._head_limit:
            self._refuse_large_head()
            return
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        timeout = self.header_timeout or get_settings().header_timeout_seconds
        self._header_timer = self.loop.call_later(timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
