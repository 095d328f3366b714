"""A header timeout for uvicorn, which has none of its own: a connection that has not
finished sending a request's headers within EVCHARGE_HEADER_TIMEOUT_SECONDS of opening
(or of the first byte of a later request) is closed. Idle keep-alive connections are closed by
uvicorn's timeout_keep_alive; a slow body is answered 408 by `limits.BodyLimits`."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from evcharge.config import get_settings


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus a deadline for the request line and headers.

    A module-level class (not built per call) so uvicorn's worker processes can import it;
    each worker reads the timeout from its own settings."""

    header_timeout: float | None = None
    """Seconds; None reads EVCHARGE_HEADER_TIMEOUT_SECONDS."""
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        # The next request on a kept-alive connection: its headers get a deadline too.
        # (Idle time between requests is uvicorn's timeout_keep_alive.)
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
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
