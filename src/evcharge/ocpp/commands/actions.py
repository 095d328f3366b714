"""The remote commands an operator may send, and their payloads checked against the
OCPP 1.6 JSON schemas before anything leaves (the `ocpp` library's own schema files)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError
from ocpp.messages import MessageType, get_validator

from evcharge.compat.numbers import OutOfRange
from evcharge.errors import Invalid

ACTIONS = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "GetConfiguration",
    "ChangeConfiguration",
    "TriggerMessage",
    "GetCompositeSchedule",
    "ClearChargingProfile",
)
CUSTOMER_ACTIONS = frozenset({"RemoteStartTransaction", "RemoteStopTransaction"})
"""What a customer key may send, to its own customer's chargers only."""

_BY_LOWER = {a.lower(): a for a in ACTIONS}
PREFIX = "request"


def canonical(raw: str) -> str | None:
    """The action's OCPP name, matched case-insensitively as every route is; None when
    it is not a command of this API."""
    return _BY_LOWER.get(raw.lower())


def _validator(action: str) -> Draft4Validator:
    # Decimals: the schemas' `multipleOf: 0.1` holds for 21.4 only when it stays exact.
    validator: Draft4Validator = get_validator(MessageType.Call, action, "1.6", parse_float=Decimal)
    return validator


def _path(error: ValidationError) -> str:
    key = PREFIX
    for part in error.absolute_path:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


def _field_errors(error: ValidationError) -> dict[str, list[str]]:
    where = _path(error)
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in (error.instance or {})]
        return {f"{where}.{n}": [f"The {n} field is required."] for n in missing}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = [n for n in error.instance if n not in known]
        return {f"{where}.{n}": [f"{n} is not a field of this OCPP 1.6 message."] for n in extra}
    message = error.message
    if len(message) > 200:
        message = message[:199] + "…"
    return {where: [message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")]}


def check(action: str, payload: Any) -> None:
    """400 naming every field that the OCPP 1.6 schema refuses."""
    if not isinstance(payload, dict):
        raise Invalid(errors={PREFIX: [f"The body must be the JSON object of a {action}."]})
    found: dict[str, list[str]] = {}
    _out_of_range(payload, PREFIX, found)
    if found:
        raise Invalid(errors=found)
    for error in _validator(action).iter_errors(payload):
        for key, messages in _field_errors(error).items():
            found.setdefault(key, []).extend(messages)
    if found:
        raise Invalid(errors=found)


def _out_of_range(value: Any, where: str, found: dict[str, list[str]]) -> None:
    """Numbers beyond every range (the JSON reader's `OutOfRange`) name their field."""
    if isinstance(value, OutOfRange):
        found.setdefault(where, []).append(value.message)
    elif isinstance(value, dict):
        for k, v in value.items():
            _out_of_range(v, f"{where}.{k}", found)
    elif isinstance(value, list):
        for n, v in enumerate(value):
            _out_of_range(v, f"{where}[{n}]", found)


def reply_payload(text: str | None) -> Any:
    return json.loads(text) if text else {}
