"""``python -m sandbox`` as a real process: the ready line, a free port, clean SIGTERM exit."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from sandbox.app import parser


async def start(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("sandbox listening on http://127.0.0.1:"), line
    except BaseException:  # not started as it should: left running by no test
        proc.kill()
        await proc.wait()
        raise
    url = line.split("listening on ", 1)[1].strip()
    assert not url.endswith(":0")
    return proc, url


@pytest.mark.e2e  # a real process
async def test_runs_on_a_free_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc, url = await start("--latency-ms", "1")
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/__sandbox/stores") as response:
                stores = await response.json()
            connection = stores[0]["connection"]
            assert connection["api_url"] == url + "/bigcommerce/stores/outdoors1/v3"
            headers = {"X-Auth-Token": connection["access_token"]}
            body = {"line_items": [{"product_id": 113, "quantity": 1}]}
            async with session.post(
                connection["api_url"] + "/carts", json=body, headers=headers
            ) as response:
                assert response.status == 201
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert proc.stderr is not None
    assert await proc.stderr.read() == b""  # no per-request logging, no traceback


@pytest.mark.e2e  # a real process
async def test_seed_file_replaces_the_stores(tmp_path: Path) -> None:
    seed = [
        {
            "store": "tiny9",
            "platform": "BIGCOMMERCE",
            "access_token": "tiny-token-123",
            "products": [
                {
                    "product_id": 5,
                    "name": "Pebble",
                    "sku": "PEB",
                    "price": 100,
                    "stock": 2,
                    "base_variant_id": 50,
                }
            ],
        }
    ]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    proc, url = await start("--seed-file", str(path))
    try:
        async with aiohttp.ClientSession() as session, session.get(url + "/__sandbox/stores") as r:
            [store] = await r.json()
        assert store["store"] == "tiny9" and store["products"][0]["price"] == 100
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0


@pytest.mark.e2e  # a real process
async def test_bad_seed_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text('[{"store": "x"}]')
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        "--seed-file",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2 and b"seed-file" in err


def test_help_describes_the_options() -> None:
    text = parser().format_help()
    for option in ("--host", "--port", "--latency-ms", "--seed-file", "--hang-max-s"):
        assert option in text


def test_help_names_every_platform_and_base_url() -> None:
    text = " ".join(parser().format_help().split())
    expected = (
        "BigCommerce",
        "Shopify",
        "Elastic Path",
        "/bigcommerce/stores/{store_hash}/v3",
        "/shopify/{shop}",
        "graphql.json",
        "/elasticpath/{store}",
        "oauth/access_token",
    )
    for words in expected:
        assert words in text, words
