"""Hostile merchant URLs against a real `multicart serve` in production mode: no
MULTICART_ALLOW_PRIVATE_PLATFORM_URLS, so each URL is judged as aiohttp will read it and
refused at registration with 400 ``invalid_request`` naming the field; nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import drop_database, new_database
from tests.support.launch import Process, migrate, orchestrator_env, start_orchestrator

pytestmark = pytest.mark.e2e


def wide(text: str) -> str:
    """``text`` in fullwidth forms, which NFKC (yarl's host normalisation) folds to ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


HOSTILE = {
    "fullwidth digits": f"https://{wide('127')}.0.0.1:18294/stores/x/v3",
    "circled digits": "https://\u2460\u2461\u2466.0.0.1/stores/x/v3",
    "6to4 of 127.0.0.1": "https://[2002:7f00:1::]/stores/x/v3",
    "localhost": "https://localhost/stores/x/v3",
    "localhost.": "https://localhost./stores/x/v3",
    "fullwidth localhost": f"https://{wide('localhost')}/stores/x/v3",
    "port 22": "https://example.com:22/stores/x/v3",
}


@pytest.fixture(scope="module")
def production(
    db_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Process, str]]:
    """`multicart serve` as a deployment runs it: private platform URLs not allowed."""
    workdir: Path = tmp_path_factory.mktemp(f"hostile-{db_engine}")
    database_url, pg_name = new_database(db_engine, workdir)
    env = orchestrator_env(database_url)
    env["MULTICART_ALLOW_PRIVATE_PLATFORM_URLS"] = "false"
    try:
        migrate(env)
        proc = start_orchestrator(workdir, env, name="production")
        try:
            yield proc, env["MULTICART_ADMIN_TOKEN"]
        finally:
            proc.stop()
    finally:
        drop_database(pg_name)


@pytest.mark.parametrize("url", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_url_is_refused_at_registration(
    production: tuple[Process, str], url: str
) -> None:
    proc, token = production
    with httpx.Client(
        base_url=proc.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as admin:
        response = admin.post(
            "/v1/admin/merchants",
            json={
                "name": "Hostile",
                "platform": "BIGCOMMERCE",
                "connection": {"api_url": url, "access_token": "tok-hostile"},
            },
        )
        body = response.json()
        assert response.status_code == 400, body
        assert body["error"] == "invalid_request"
        assert [f["field"] for f in body["data"]["fields"]] == ["connection.api_url"], body
        assert "tok-hostile" not in response.text
        assert admin.get("/v1/admin/merchants").json()["data"] == []
