"""The apps and keys routes over real HTTP on both engines: a key made, listed by id and prefix
only, a second one for a switch, a third refused, a revoked key refused, a disabled app's keys
refused, and every bad input a 4xx naming its field. The key cache is off here
(``MULTICART_KEY_CACHE_S=0``) so a revocation shows at once; its bound across processes is
tests/e2e/test_key_bounds_e2e.py's."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from adapters.fake import FakeRegistry
from orchestrator.http.app import create_app
from orchestrator.http.auth import admin_token_id
from tests.api.conftest import ADMIN, EnvelopeTestServer
from tests.api.conftest import test_settings as settings_for

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def client(migrated_database_url: str) -> AsyncIterator[Client]:
    settings = settings_for(migrated_database_url, key_cache_s=0)
    app = create_app(settings, platforms=FakeRegistry(), run_worker=False)
    test_client = TestClient(EnvelopeTestServer(app))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()


async def answer(response: Any, status: int, error: str | None = None) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    if error is not None:
        assert body["error"] == error, body
    return body


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def new_app(client: Client, name: str = "shop") -> dict[str, Any]:
    return await answer(
        await client.post("/v1/admin/apps", json={"name": name}, headers=ADMIN), 201
    )


async def carts_status(client: Client, key: str) -> int:
    return (await client.get("/v1/carts", headers=bearer(key))).status


async def test_a_new_app_shows_its_key_once_then_only_its_id_and_prefix(client: Client) -> None:
    made = await new_app(client)
    assert set(made) == {"id", "name", "api_key", "key_id", "key_prefix"}
    assert made["api_key"].startswith(made["key_prefix"]) and len(made["key_prefix"]) == 16
    listed = await answer(await client.get("/v1/admin/apps", headers=ADMIN), 200)
    assert made["api_key"] not in str(listed)
    [app] = [a for a in listed["data"] if a["id"] == made["id"]]
    assert app["disabled_at"] is None
    assert [(k["id"], k["prefix"], k["revoked_at"]) for k in app["keys"]] == [
        (made["key_id"], made["key_prefix"], None)
    ]
    assert set(app["keys"][0]) == {"id", "prefix", "created_at", "last_used_at", "revoked_at"}


async def test_a_switch_to_a_new_key_without_downtime(client: Client) -> None:
    made = await new_app(client)
    path = f"/v1/admin/apps/{made['id']}/keys"
    second = await answer(await client.post(path, headers=ADMIN), 201)
    assert second["app_id"] == made["id"] and second["api_key"].startswith(second["prefix"])
    assert await carts_status(client, made["api_key"]) == 200  # both keys work meanwhile
    assert await carts_status(client, second["api_key"]) == 200
    third = await answer(await client.post(path, headers=ADMIN), 409, "app_key_limit")
    assert third["data"] == {"limit": 2} and "2 live keys" in third["message"]
    revoked = await answer(await client.delete(f"{path}/{made['key_id']}", headers=ADMIN), 200)
    assert revoked["id"] == made["key_id"] and revoked["revoked_at"] is not None
    assert "api_key" not in revoked
    assert await carts_status(client, made["api_key"]) == 401
    assert await carts_status(client, second["api_key"]) == 200
    again = await answer(
        await client.delete(f"{path}/{made['key_id']}", headers=ADMIN), 409, "app_key_revoked"
    )
    assert again["data"] == {"revoked_at": revoked["revoked_at"]}
    await answer(await client.post(path, headers=ADMIN), 201)  # a place again


async def test_a_disabled_app_has_every_key_refused(client: Client) -> None:
    made, other = await new_app(client), await new_app(client, "other")
    second = await answer(
        await client.post(f"/v1/admin/apps/{made['id']}/keys", headers=ADMIN), 201
    )
    disabled = await answer(
        await client.post(f"/v1/admin/apps/{made['id']}/disable", headers=ADMIN), 200
    )
    assert disabled["disabled_at"] is not None and len(disabled["keys"]) == 2
    assert await carts_status(client, made["api_key"]) == 401
    assert await carts_status(client, second["api_key"]) == 401
    assert await carts_status(client, other["api_key"]) == 200  # another app is untouched
    refused = await answer(
        await client.post(f"/v1/admin/apps/{made['id']}/keys", headers=ADMIN), 409, "app_disabled"
    )
    assert refused["data"] == {"disabled_at": disabled["disabled_at"]}
    again = await answer(
        await client.post(f"/v1/admin/apps/{made['id']}/disable", headers=ADMIN), 200
    )
    assert again["disabled_at"] == disabled["disabled_at"]


async def test_unknown_apps_and_keys_are_404s_naming_which(client: Client) -> None:
    made, other = await new_app(client), await new_app(client, "other")
    for response in (
        await client.post("/v1/admin/apps/app_nobody/keys", headers=ADMIN),
        await client.delete("/v1/admin/apps/app_nobody/keys/key_x", headers=ADMIN),
        await client.post("/v1/admin/apps/app_nobody/disable", headers=ADMIN),
    ):
        await answer(response, 404, "app_not_found")
    for key_id in ("key_nobody", other["key_id"]):  # another app's key is not this app's
        path = f"/v1/admin/apps/{made['id']}/keys/{key_id}"
        await answer(await client.delete(path, headers=ADMIN), 404, "app_key_not_found")
    assert await carts_status(client, other["api_key"]) == 200


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("POST", "/v1/admin/apps/a%00b/keys", "app_id"),
        ("POST", f"/v1/admin/apps/{'a' * 65}/disable", "app_id"),
        ("DELETE", "/v1/admin/apps/app_x/keys/%20", "key_id"),
        ("DELETE", f"/v1/admin/apps/app_x/keys/{'k' * 65}", "key_id"),
        ("GET", "/v1/admin/apps?limit=0", "limit"),
        ("GET", "/v1/admin/apps?limit=201", "limit"),
        ("GET", "/v1/admin/apps?limit=x", "limit"),
        ("GET", "/v1/admin/apps?cursor=%25%25", "cursor"),
        ("GET", "/v1/admin/apps?cursor=AAAA", "cursor"),
    ],
)
async def test_bad_inputs_are_a_400_naming_the_field(
    client: Client, method: str, path: str, field: str
) -> None:
    body = await answer(await client.request(method, path, headers=ADMIN), 400, "invalid_request")
    assert field in {f["field"] for f in body["data"]["fields"]}, body


async def test_the_routes_take_the_admin_token_only(client: Client) -> None:
    made = await new_app(client)
    as_app = bearer(made["api_key"])
    for method, path in (
        ("GET", "/v1/admin/apps"),
        ("POST", f"/v1/admin/apps/{made['id']}/keys"),
        ("DELETE", f"/v1/admin/apps/{made['id']}/keys/{made['key_id']}"),
        ("POST", f"/v1/admin/apps/{made['id']}/disable"),
    ):
        await answer(await client.request(method, path, headers=as_app), 401, "unauthorized")
    assert await carts_status(client, made["api_key"]) == 200


async def test_apps_are_listed_a_page_at_a_time(client: Client) -> None:
    made = {(await new_app(client, f"shop {n}"))["id"] for n in range(5)}
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await answer(await client.get(f"/v1/admin/apps{query}", headers=ADMIN), 200)
        assert len(page["data"]) <= 2
        seen += [a["id"] for a in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert made <= set(seen) and seen == sorted(seen) and len(seen) == len(set(seen))


async def test_a_keys_use_is_recorded_off_the_request_path(client: Client) -> None:
    made = await new_app(client)
    with capture_logs() as logs:
        assert await carts_status(client, made["api_key"]) == 200
    assert made["api_key"] not in str(logs)
    ends = time.monotonic() + 10
    used = None
    while used is None and time.monotonic() < ends:
        listed = await answer(await client.get("/v1/admin/apps?limit=200", headers=ADMIN), 200)
        [app] = [a for a in listed["data"] if a["id"] == made["id"]]
        used = app["keys"][0]["last_used_at"]
    assert used is not None


async def test_every_admin_token_listed_is_accepted(migrated_database_url: str) -> None:
    tokens = ["token-one-" + "a1b2c3d4e5f6", "token-two-" + "f6e5d4c3b2a1"]
    settings = settings_for(
        migrated_database_url, admin_token="token-zero-abcdefgh", admin_tokens=" , ".join(tokens)
    )
    assert settings.admin_token_list() == ["token-zero-abcdefgh", *tokens]
    client = TestClient(EnvelopeTestServer(create_app(settings, run_worker=False)))
    await client.start_server()
    try:
        for token in settings.admin_token_list():
            await answer(await client.get("/v1/admin/apps", headers=bearer(token)), 200)
        for wrong in ("admin-token", tokens[0] + "x", tokens[0][:-1], f"{tokens[0]},{tokens[1]}"):
            response = await client.get("/v1/admin/apps", headers=bearer(wrong))
            await answer(response, 401, "unauthorized")
    finally:
        await client.close()
    assert admin_token_id(tokens[0]) != admin_token_id(tokens[1])
    assert len(admin_token_id(tokens[0])) == 12 and tokens[0] not in admin_token_id(tokens[0])


async def test_a_key_made_again_with_its_idempotency_key_is_the_same_key(client: Client) -> None:
    made = await new_app(client)
    path, keyed = f"/v1/admin/apps/{made['id']}/keys", {**ADMIN, "Idempotency-Key": "k-1"}
    first = await answer(await client.post(path, headers=keyed), 201)
    again = await client.post(path, headers=keyed)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await answer(again, 201)) == first
    listed = await answer(await client.get("/v1/admin/apps?limit=200", headers=ADMIN), 200)
    [app] = [a for a in listed["data"] if a["id"] == made["id"]]
    assert len(app["keys"]) == 2


async def test_the_revoking_process_refuses_at_once_with_its_cache_on(
    migrated_database_url: str,
) -> None:
    settings = settings_for(migrated_database_url, key_cache_s=3600)
    client = TestClient(EnvelopeTestServer(create_app(settings, run_worker=False)))
    await client.start_server()
    try:
        made, kept = await new_app(client), await new_app(client, "kept")
        assert await carts_status(client, made["api_key"]) == 200  # cached for an hour
        assert await carts_status(client, kept["api_key"]) == 200
        path = f"/v1/admin/apps/{made['id']}/keys/{made['key_id']}"
        await answer(await client.delete(path, headers=ADMIN), 200)
        assert await carts_status(client, made["api_key"]) == 401
        await answer(await client.post(f"/v1/admin/apps/{kept['id']}/disable", headers=ADMIN), 200)
        assert await carts_status(client, kept["api_key"]) == 401
    finally:
        await client.close()
