"""Domain errors raised by services; each API family renders them in its own shape."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse. `errors` maps a field to what is wrong with it."""

    status = 400
    default_message = "The request is invalid."
    detail: str | None = None
    """Web API's `MessageDetail` (routing and parameter-binding failures carry one)."""

    def __init__(
        self,
        message: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors = errors or {}
        self.headers = headers or {}
        super().__init__(self.message)

    @classmethod
    def field(cls, name: str, problem: str, message: str | None = None) -> DomainError:
        return cls(message, {name: [problem]})


class Invalid(DomainError):
    status = 400


class NotFound(DomainError):
    status = 404
    default_message = "The resource was not found."


class Conflict(DomainError):
    status = 409
    default_message = "The request conflicts with the current state."


class Unavailable(DomainError):
    status = 503
    default_message = "The database is unavailable; retry shortly."


class Unauthorized(DomainError):
    status = 401
    default_message = "Authorization has been denied for this request."


class Forbidden(DomainError):
    status = 403
    default_message = "This API key may not do that."


class RequestTimeout(DomainError):
    status = 408
    default_message = "The request body did not arrive in time."


class PayloadTooLarge(DomainError):
    status = 413
    default_message = "The request body is too large."


class TooManyRequests(DomainError):
    status = 429
    default_message = "Too many requests for this API key; retry after the time in Retry-After."


class Unprocessable(DomainError):
    status = 422
    default_message = "The request is well-formed but cannot be processed."


class GatewayTimeout(DomainError):
    status = 504
    default_message = "The charger did not answer in time."
