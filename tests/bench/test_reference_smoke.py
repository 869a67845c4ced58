"""A tiny bounded run of the reference orchestrator against a fake BigCommerce, driven by the
load generator in-process: every cart answers 201 with its bags, both write transactions land,
and requests that cannot be sent are counted as errors. No timing is asserted."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from bench.loadgen import Run, run_load
from bench.reference import reference_app

pytestmark = pytest.mark.timeout(10)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


def fake_bigcommerce() -> web.Application:
    async def create(request: web.Request) -> web.Response:
        assert request.headers["X-Auth-Token"] == "tok"
        body = orjson.loads(await request.read())
        cart = {
            "id": f"ext-{request.match_info['store']}-{len(body['line_items'])}",
            "cart_amount": 12.99 * sum(i["quantity"] for i in body["line_items"]),
            "redirect_urls": {"checkout_url": "http://checkout"},
        }
        return web.json_response({"data": cart, "meta": {}}, status=201)

    app = web.Application()
    app.router.add_post("/stores/{store}/v3/carts", create)
    return app


@pytest.fixture
async def platform() -> AsyncIterator[str]:
    runner, url = await _serve(fake_bigcommerce())
    yield url
    await runner.cleanup()


def catalog(platform_url: str) -> dict[str, Any]:
    return {
        f"sku{j}": {
            "merchant_id": f"m{j}",
            "api_url": f"{platform_url}/stores/s{j}/v3",
            "access_token": "tok",
            "platform_ref": {"product_id": 100 + j, "variant_id": 200 + j},
            "price": 1299,
        }
        for j in range(3)
    }


async def _load_reference(
    platform: str, db: Path, body: bytes, rate: float, seconds: float, warmup_s: float
) -> Run:
    """The reference served on ``db`` while ``body`` arrives at ``rate`` for ``seconds``."""
    async with reference_app(catalog(platform), f"sqlite:///{db}") as app:
        runner, url = await _serve(app)
        try:
            urls = [url + "/v1/carts"]
            return await run_load(urls, rate, seconds, warmup_s, body, {}, timeout=3.0)
        finally:
            await runner.cleanup()


async def test_reference_creates_carts_under_open_loop_load(platform: str, tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    body = orjson.dumps({"skus": [{"sku_id": f"sku{j}", "quantity": 1} for j in range(3)]})
    run = await _load_reference(platform, db, body, 40.0, 0.5, 0.1)
    summary = run.summary()
    assert summary["requests"] == 20
    assert summary["errors"] == {} and summary["statuses"] == {"201": 20}
    with sqlite3.connect(db) as conn:
        carts = conn.execute("SELECT status, sub_total FROM ref_carts").fetchall()
        bags = conn.execute("SELECT status, external_id FROM ref_bags").fetchall()
    assert len(carts) == len(run.outcomes) and set(carts) == {("IN_PROGRESS", 3897)}
    assert len(bags) == 3 * len(carts) and all(b[0] == "IN_PROGRESS" and b[1] for b in bags)


async def test_reference_rejects_unknown_skus(platform: str, tmp_path: Path) -> None:
    body = orjson.dumps({"skus": [{"sku_id": "nope", "quantity": 1}]})
    run = await _load_reference(platform, tmp_path / "r.db", body, 20.0, 0.2, 0.0)
    assert run.summary()["errors"] == {"http_400": 4}


async def test_requests_beyond_max_inflight_are_counted_not_sent() -> None:
    release = asyncio.Event()

    async def held(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.wait_for(release.wait(), timeout=1.0)
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/", held)
    runner, url = await _serve(app)
    try:
        loop = asyncio.get_running_loop()
        loop.call_later(0.5, release.set)
        run = await run_load([url + "/"], 50.0, 0.2, 0.0, b"{}", {}, max_inflight=2, timeout=3.0)
    finally:
        await runner.cleanup()
    summary = run.summary()
    assert summary["requests"] == 10
    assert summary["errors"].get("not_sent", 0) >= 1
    assert summary["ok"] + summary["error_count"] == 10
