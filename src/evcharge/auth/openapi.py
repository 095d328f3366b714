"""What keys and limits add to the OpenAPI document: the three ways to send a key, and
the 401/408/413/429 answers each protected operation can give, in its family's shape."""

from __future__ import annotations

import copy
from typing import Any

from evcharge.auth.middleware import OPEN_PATHS

SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "The key as the password; the user name is ignored.",
    },
}
ANY_KEY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}, {"basic": []}]

_TEXT = {
    "401": ("Missing, wrong or revoked API key.", "WWW-Authenticate"),
    "403": ("A customer key may not make this change (its own registry entries).", None),
    "408": ("The request body did not arrive within the body timeout.", None),
    "413": ("The request body is larger than EVCHARGE_MAX_BODY_BYTES.", None),
    "429": ("This key's rate limit is exhausted; retry after Retry-After seconds.", "Retry-After"),
}


def document_security(openapi: dict[str, Any]) -> None:
    openapi.setdefault("components", {})["securitySchemes"] = SCHEMES
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            if path in OPEN_PATHS:
                operation["security"] = []
                continue
            operation["security"] = ANY_KEY
            responses = operation.setdefault("responses", {})
            family_error = responses.get("400") or responses.get("404") or {}
            statuses = ["401", "429"]
            if method != "get":
                statuses.append("403")
            if "requestBody" in operation:
                statuses += ["408", "413"]
            for status in statuses:
                if status in responses:
                    continue
                description, header = _TEXT[status]
                answer: dict[str, Any] = {"description": description}
                if "content" in family_error:
                    answer["content"] = copy.deepcopy(family_error["content"])
                if header is not None:
                    answer["headers"] = {header: {"required": True, "schema": {"type": "string"}}}
                responses[status] = answer
