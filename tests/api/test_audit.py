"""The admin audit log (``orchestrator/http/audit.py``): every admin change is recorded after its
answer, whatever the outcome, with the token's id and never a secret; ``GET /v1/admin/audit``
pages and filters it. On both engines, through the real app on a real socket."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from adapters.fake import FakeRegistry
from errors import NotFound
from orchestrator.http.admin_identity import admin_token_id
from orchestrator.http.app import create_app
from orchestrator.http.auth import guarded
from orchestrator.http.keys import SERVICES, SETTINGS
from orchestrator.http.routes import Route
from orchestrator.store.tables import audit_log
from tests.api.conftest import ADMIN, Api, EnvelopeTestServer
from tests.api.conftest import test_settings as api_settings

TOKEN_ID = hashlib.sha256(b"admin-token").hexdigest()[:12]


async def entries(api: Api, **query: str) -> list[dict[str, Any]]:
    response = await api.client.get("/v1/admin/audit", params=query, headers=ADMIN)
    assert response.status == 200, await response.text()
    return list((await response.json())["data"])


async def raw_rows(api: Api) -> list[dict[str, Any]]:
    async with api.store.db.read(single_statement=True) as conn:
        return [dict(r) for r in (await conn.execute(select(audit_log))).mappings().all()]


def test_the_token_id_is_the_sha256_prefix() -> None:
    assert admin_token_id("admin-token") == TOKEN_ID
    assert len(TOKEN_ID) == 12 and "admin" not in TOKEN_ID


async def test_every_admin_change_of_the_seed_is_recorded_newest_first(api: Api) -> None:
    found = await entries(api)
    # seed: three merchants, one SKU upsert, one app; the GETs of this test are not recorded
    assert [(e["method"], e["route"], e["status"]) for e in found] == [
        ("POST", "/v1/admin/apps", 201),
        ("PUT", "/v1/admin/skus", 200),
        ("POST", "/v1/admin/merchants", 201),
        ("POST", "/v1/admin/merchants", 201),
        ("POST", "/v1/admin/merchants", 201),
    ]
    assert {e["token_id"] for e in found} == {TOKEN_ID}
    assert [e["resource_id"] for e in found[2:]] == list(reversed(api.merchants))
    assert found[1]["resource_id"] is None and found[1]["path_ids"] == {}
    assert all(e["request_id"] for e in found)
    assert [e["seq"] for e in found] == sorted((e["seq"] for e in found), reverse=True)
    assert all(e["at"] for e in found)


async def test_refusals_are_recorded_with_their_status_and_path_ids(api: Api) -> None:
    bad = await api.client.post(
        "/v1/admin/merchants",
        json={"name": "x", "platform": "NOPE"},
        headers={**ADMIN, "X-Request-ID": "req-audit-1"},
    )
    assert bad.status == 400
    missing = await api.client.post("/v1/admin/outbox/ext_nothing/retry", headers=ADMIN)
    assert missing.status == 404
    newest, before = (await entries(api, limit="2"))[:2]
    assert newest["route"] == "/v1/admin/outbox/{entry_id}/retry" and newest["status"] == 404
    assert newest["path_ids"] == {"entry_id": "ext_nothing"}
    assert newest["resource_id"] == "ext_nothing"
    assert before["route"] == "/v1/admin/merchants" and before["status"] == 400
    assert before["request_id"] == "req-audit-1" and before["resource_id"] is None


async def test_reads_and_refused_authentications_are_not_recorded(api: Api) -> None:
    count = len(await raw_rows(api))
    assert (await api.client.get("/v1/admin/merchants", headers=ADMIN)).status == 200
    wrong = {"Authorization": "Bearer not-the-admin-token"}
    refused = await api.client.post("/v1/admin/apps", json={"name": "x"}, headers=wrong)
    assert refused.status == 401
    assert (await api.client.post("/v1/admin/apps", json={"name": "x"})).status == 401
    assert len(await raw_rows(api)) == count


async def test_no_secret_reaches_an_entry(api: Api) -> None:
    key = await api.new_key("leaky")
    merchant = await api.client.post(
        "/v1/admin/merchants",
        headers=ADMIN,
        json={
            "name": "Secretive",
            "platform": "BIGCOMMERCE",
            "connection": {
                "api_url": "https://fake.test/stores/s/v3",
                "access_token": "very-secret-access-token",
            },
        },
    )
    assert merchant.status == 201
    settings = api.client.server.app[SETTINGS]
    secrets = [
        "admin-token",
        key,
        api.key,
        "very-secret-access-token",
        "secret-token-Outdoors",
        settings.encryption_key.get_secret_value(),
        settings.database_url,
        hashlib.sha256(key.encode()).hexdigest(),
    ]
    rows = await raw_rows(api)
    assert len(rows) >= 7
    text = repr(rows) + repr(await entries(api, limit="1000"))
    for secret in secrets:
        assert secret not in text


async def test_filters_each_narrow_the_log(api: Api) -> None:
    assert (await api.client.post("/v1/admin/outbox/ext_a/retry", headers=ADMIN)).status == 404
    assert [e["route"] for e in await entries(api, method="PUT")] == ["/v1/admin/skus"]
    merchants = await entries(api, route="/v1/admin/merchants")
    assert len(merchants) == 3 and {e["method"] for e in merchants} == {"POST"}
    [by_resource] = await entries(api, resource=api.merchants[1])
    assert by_resource["resource_id"] == api.merchants[1]
    assert [e["path_ids"] for e in await entries(api, resource="ext_a")] == [{"entry_id": "ext_a"}]
    assert len(await entries(api, token_id=TOKEN_ID)) == 6
    assert await entries(api, token_id="0" * 12) == []
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert await entries(api, since=future) == []
    assert len(await entries(api, since=past, until=future)) == 6
    assert await entries(api, until=past) == []
    lower = past.replace("T", "t").replace("+00:00", "z")  # RFC 3339 allows both
    assert len(await entries(api, since=lower)) == 6


async def test_pages_walk_the_whole_log_once(api: Api) -> None:
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(10):  # bounded: 5 entries at 2 a page
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await api.client.get("/v1/admin/audit", params=query, headers=ADMIN)
        body = await response.json()
        seen += [e["seq"] for e in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(set(seen), reverse=True)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("token_id", "ADMIN-TOKEN"),
        ("token_id", "abc"),
        ("method", "GET"),
        ("route", "v1/admin"),
        ("route", "/" + "x" * 300),
        ("route", "/v1/admin/\x01"),
        ("resource", " a"),
        ("resource", "x" * 65),
        ("since", "yesterday"),
        ("since", "2026-12-07T10:00:00"),  # no offset
        ("until", "2026-13-07T10:00:00Z"),
        ("limit", "0"),
        ("limit", "1001"),
        ("cursor", "!!"),
        ("cursor", "eA"),  # "x": not a number
        ("cursor", "A" * 40),
    ],
)
async def test_a_bad_filter_is_a_400_naming_it(api: Api, field: str, value: str) -> None:
    response = await api.client.get("/v1/admin/audit", params={field: value}, headers=ADMIN)
    assert response.status == 400, await response.text()
    body = await response.json()
    assert field in repr(body)


async def test_the_log_is_for_admins_only(api: Api) -> None:
    assert (await api.client.get("/v1/admin/audit")).status == 401
    assert (await api.client.get("/v1/admin/audit", headers=api.auth)).status == 401


async def test_a_failed_audit_write_leaves_the_action_standing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(_entry: Any) -> None:
        raise RuntimeError("audit table gone")

    monkeypatch.setattr(api.client.server.app[SERVICES].store.audit, "record", broken)
    created = await api.client.post("/v1/admin/apps", json={"name": "still"}, headers=ADMIN)
    assert created.status == 201
    assert (await created.json())["name"] == "still"
    scrape = await (await api.client.get("/metrics")).text()
    assert "multicart_audit_write_failures_total 1.0" in scrape


async def test_a_route_added_later_is_recorded_without_a_line_of_its_own(
    migrated_database_url: str,
) -> None:
    """Routes other parts add (PATCH/DELETE of merchants and SKUs, app keys) pass the same
    guard: a DELETE and a PATCH declared here are recorded, its GET is not."""

    async def answer(request: web.Request) -> web.Response:
        if request.method == "PATCH":
            raise NotFound("No such thing.")
        return web.Response(status=204 if request.method == "DELETE" else 200)

    app = create_app(
        api_settings(migrated_database_url), platforms=FakeRegistry(), run_worker=False
    )
    for method in ("DELETE", "PATCH", "GET"):
        route = Route(
            method=method,
            path="/v1/admin/things/{thing_id}",
            handler=answer,
            summary="a later route",
            auth="admin",
        )
        app.router.add_route(method, route.path, guarded(route))
    client = TestClient(EnvelopeTestServer(app))
    await client.start_server()
    try:
        assert (await client.delete("/v1/admin/things/t1", headers=ADMIN)).status == 204
        assert (await client.patch("/v1/admin/things/t2", headers=ADMIN)).status == 404
        assert (await client.get("/v1/admin/things/t3", headers=ADMIN)).status == 200
        response = await client.get("/v1/admin/audit", headers=ADMIN)
        found = (await response.json())["data"]
    finally:
        await client.close()
    assert [
        (e["method"], e["route"], e["path_ids"], e["status"], e["token_id"]) for e in found
    ] == [
        ("PATCH", "/v1/admin/things/{thing_id}", {"thing_id": "t2"}, 404, TOKEN_ID),
        ("DELETE", "/v1/admin/things/{thing_id}", {"thing_id": "t1"}, 204, TOKEN_ID),
    ]
