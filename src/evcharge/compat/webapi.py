"""API family A (ASP.NET Web API 2 + Json.NET): binding bodies, replies, documentation."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from evcharge.compat.body import WEB_API_JSON_TYPES, read_json
from evcharge.compat.numbers import OutOfRange, dumps
from evcharge.errors import Invalid

M = TypeVar("M", bound=BaseModel)

PARAMETER = "request"
"""Web API names ModelState keys after the action parameter: `request.BatteryLevel`."""


def model_state_key(prefix: str, loc: tuple[int | str, ...]) -> str:
    """ASP.NET's ModelState key: `request.Slots[0].Price`."""
    key = prefix
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


def model_state(exc: ValidationError, prefix: str = PARAMETER) -> dict[str, list[str]]:
    state: dict[str, list[str]] = {}
    for err in exc.errors():
        key = model_state_key(prefix, err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        value = err.get("input")
        if isinstance(value, OutOfRange):
            msg = value.message
        elif err["type"] not in ("missing", "value_error") and isinstance(value, (str, int, float)):
            shown = repr(value)
            msg = f"{msg} (got {shown if len(shown) <= 60 else shown[:56] + '…'})"
        state.setdefault(key, []).append(msg if msg.endswith(".") else msg + ".")
    return state


def bind(model: type[M], data: Any, **context: Any) -> M:
    """Bind parsed JSON to `model` like Web API: a missing body or a bad value is a 400."""
    if data is None:
        raise Invalid(errors={PARAMETER: ["A non-empty request body is required."]})
    if not isinstance(data, dict):
        raise Invalid(errors={PARAMETER: ["The request body must be a JSON object."]})
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise Invalid(errors=model_state(exc)) from None


async def read_body(request: Request, model: type[M]) -> M:
    """Read, parse and bind a JSON body; dates without offset are UTC in family A."""
    return bind(model, await read_json(request, WEB_API_JSON_TYPES))


def reply(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """PascalCase JSON of a wire model, serialised once (no second validation pass),
    decimals exact (`compat.numbers.dumps`)."""
    return Response(
        dumps(model),
        status_code=status,
        headers=checked_headers(headers),
        media_type="application/json; charset=utf-8",
    )


_FIELD_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")


def checked_headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    """Refuse (as a bug, before the unit of work commits) a header value the HTTP server
    could not send: a write must never be committed with a reply that cannot go out.
    Header values are built from canonical values (parsed ids), so this never fires."""
    for name, value in (headers or {}).items():
        if _FIELD_VALUE.fullmatch(value) is None:
            raise ValueError(f"header {name} would not be a valid HTTP field value")
    return headers


class WebApiError(BaseModel):
    """ASP.NET Web API's error body."""

    Message: str
    ModelState: dict[str, list[str]] | None = None


_BODY_MODELS: dict[str, type[BaseModel]] = {}


def body_doc(
    model: type[BaseModel], media_types: tuple[str, ...] = tuple(sorted(WEB_API_JSON_TYPES))
) -> dict[str, Any]:
    """`openapi_extra` documenting a body that the handler reads itself."""
    _BODY_MODELS[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "requestBody": {
            "required": True,
            "content": {media: {"schema": schema} for media in media_types},
        }
    }


def finish_openapi(openapi: dict[str, Any]) -> None:
    """Put the models named by `body_doc` into the document's components, and drop
    FastAPI's 422 responses: validation failures here are 400 in the family's shape."""
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "HTTPValidationError" in str(responses.get("422", "")):
                del responses["422"]  # FastAPI's own; a documented 422 (family B) stays
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for name, model in _BODY_MODELS.items():
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(def_name, definition)
        schemas[name] = schema


def errors_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the error statuses a family-A endpoint can answer."""
    text = {
        400: "The request is invalid; ModelState names each field and why.",
        401: "Missing or wrong API key.",
        403: "This API key may not do that.",
        404: "The resource (or one of its parents) does not exist.",
        409: "Conflicts with the current state (e.g. children still exist).",
        413: "Request body too large.",
        415: "Unsupported media type.",
        429: "Rate limit exceeded; see Retry-After.",
        503: "The database is unavailable; see Retry-After.",
        504: "The charger did not answer in time.",
    }
    return {code: {"model": WebApiError, "description": text[code]} for code in statuses}
