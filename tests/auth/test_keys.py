"""API keys: the three header forms, 401 in the family's shape, revocation, storage."""

from __future__ import annotations

import base64

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from evcharge.auth.keys import key_id_of
from evcharge.auth.models import ApiKey
from tests.conftest import ADMIN_KEY, ClientFor
from tests.factories import create_key, revoke_key

WWW_AUTHENTICATE = 'Bearer realm="evcharge", Basic realm="evcharge"'


def basic(password: str, user: str = "anyone") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_a_stored_key_is_accepted_as_bearer_x_api_key_and_basic_password(
    app: FastAPI, client_for: ClientFor
) -> None:
    _key_id, key = await create_key(app)
    for headers in (
        {"Authorization": f"Bearer {key}"},
        {"X-Api-Key": key},
        basic(key),
        basic(key, user=""),
    ):
        response = await client_for(headers=headers).get("/api/customers")
        assert response.status_code == 200, (headers, response.text)


async def test_the_environment_admin_key_is_accepted_in_each_form(client_for: ClientFor) -> None:
    for headers in ({"Authorization": f"Bearer {ADMIN_KEY}"}, {"X-Api-Key": ADMIN_KEY}):
        assert (await client_for(headers=headers).get("/api/customers")).status_code == 200
    assert (await client_for(headers=basic(ADMIN_KEY)).get("/api/customers")).status_code == 200


async def test_missing_or_wrong_key_is_401_with_www_authenticate_in_web_api_shape(
    app: FastAPI, client_for: ClientFor
) -> None:
    _key_id, key = await create_key(app)
    wrong_secret = "_".join(key.split("_", 2)[:2]) + "_" + "A" * 43
    for headers in (
        {},
        {"Authorization": f"Bearer {wrong_secret}"},
        {"Authorization": "Bearer evk_nothex_secret"},
        {"Authorization": "Bearer "},
        {"X-Api-Key": ADMIN_KEY + "x"},
        {"Authorization": "Basic !!!notbase64"},
        basic(""),
        {"Authorization": f"Digest {key}"},
    ):
        response = await client_for(headers=headers).put(
            "/api/customers/1", json={"Name": "intruder"}
        )
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE
        assert set(response.json()) == {"Message"}
    # Nothing was written by any of them.
    assert (await client_for(key).get("/api/customers/1")).status_code == 404


async def test_unknown_paths_answer_401_without_a_key_so_routes_cannot_be_probed(
    client_for: ClientFor,
) -> None:
    response = await client_for().get("/api/nothing/here")
    assert response.status_code == 401


async def test_health_and_the_api_description_need_no_key(client_for: ClientFor) -> None:
    anonymous = client_for()
    assert (await anonymous.get("/healthz")).status_code == 200
    assert (await anonymous.get("/readyz")).status_code == 200
    assert (await anonymous.get("/openapi.json")).status_code == 200


async def test_a_revoked_key_is_refused_at_once(app: FastAPI, client_for: ClientFor) -> None:
    key_id, key = await create_key(app, customer=1)
    http = client_for(key)
    assert (await http.get("/api/customers")).status_code == 200
    await revoke_key(app, key_id)
    response = await http.get("/api/customers")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE


async def test_only_a_hash_of_the_key_is_stored_and_last_use_is_recorded(
    app: FastAPI, client_for: ClientFor
) -> None:
    key_id, key = await create_key(app, customer=7)
    assert key_id_of(key) == key_id
    secret = key.split("_", 2)[2]
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32  # 256 bits of entropy
    await client_for(key).get("/api/customers")
    async with app.state.sessions() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    assert row is not None
    stored = [str(getattr(row, column.key)) for column in ApiKey.__table__.columns]
    assert not any(secret in value for value in stored)
    assert row.key_hash != key and len(row.key_hash) == 64
    assert row.last_used is not None
    assert (row.role, row.customer_number) == ("customer", 7)


async def test_two_keys_are_different_and_neither_opens_the_other(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    _a, key_a = await create_key(app, customer=1)
    _b, key_b = await create_key(app, customer=1)
    assert key_a != key_b
    prefix, id_a, _secret_a = key_a.split("_", 2)
    forged = f"{prefix}_{id_a}_{key_b.split('_', 2)[2]}"
    assert (await client_for(forged).get("/api/customers")).status_code == 401


async def test_the_openapi_document_describes_keys_and_their_refusals(
    client_for: ClientFor,
) -> None:
    document = (await client_for().get("/openapi.json")).json()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey", "basic"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path in ("/healthz", "/readyz"):
                assert operation["security"] == []
                continue
            assert {"401", "429"} <= set(operation["responses"]), (method, path)
            assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"]
