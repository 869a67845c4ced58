"""Scenario 5: the outbound HTTP stack, multicart's chosen client against a raw aiohttp client.

Two processes on loopback: a small JSON server (``serve``: answers every POST with a
BigCommerce-sized cart document) and a client (``client``) that keeps exactly ``--concurrency``
requests in flight (64 workers) for ``--seconds`` after a short warm-up (bounded in count too), and
prints throughput and latency percentiles as JSON. Stacks:

- ``aiohttp``: a raw ``aiohttp.ClientSession`` (the baseline);
- ``httpx-aiohttp``: ``httpx.AsyncClient`` on the ``httpx_aiohttp.AiohttpTransport``, built as
  multicart's platform clients were (limits of 64, ``trust_env=False``, no redirects);
- ``httpx``: stock ``httpx.AsyncClient`` (its own HTTP/1.1 stack) with the same limits, for
  context: what the adapters would get without the aiohttp transport.

Bodies are encoded and decoded with orjson in every stack, so only the HTTP stack differs.

    python -m bench.httpstack serve --port 0
    python -m bench.httpstack client --url http://127.0.0.1:PORT/carts --stack aiohttp
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from aiohttp import web

from bench.loadgen import latency_summary, run_fast
from bench.serving import serve_until_signalled
from tests.support.launch import base_env, start

REPO = Path(__file__).resolve().parents[1]

STACKS = ("aiohttp", "httpx-aiohttp", "httpx")
REQUEST = {
    "line_items": [{"quantity": 1, "product_id": 101, "variant_id": 201}],
    "currency": {"code": "USD"},
    "channel_id": 1,
}
ITEM = {"id": "5d3e-line", "product_id": 101, "variant_id": 201, "name": "Sandbox product"}
ITEM |= {"quantity": 1, "list_price": 29.99, "sale_price": 29.99, "extended_sale_price": 29.99}
ANSWER = orjson.dumps(
    {
        "data": {
            "id": "9b2f3a4e-bench-cart",
            "currency": {"code": "USD"},
            "cart_amount": 29.99,
            "line_items": {"physical_items": [ITEM], "digital_items": [], "custom_items": []},
            "redirect_urls": {
                "cart_url": "http://127.0.0.1/cart.php?action=load&id=9b2f3a4e",
                "checkout_url": "http://127.0.0.1/cart.php?action=loadInCheckout&id=9b2f3a4e",
            },
        },
        "meta": {},
    }
)


async def _answer(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=201, body=ANSWER, content_type="application/json")


async def serve(host: str, port: int) -> None:
    app = web.Application()
    app.router.add_post("/carts", _answer)
    await serve_until_signalled(app, host, port, "httpstack")


Sender = Callable[[], Awaitable[bool]]


def httpx_client(stack: str, concurrency: int) -> httpx.AsyncClient:
    """The httpx client of ``stack``: on the aiohttp transport for ``httpx-aiohttp`` (as
    multicart's ``build_client`` built it before the adapters moved to their own transports)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    if stack == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return httpx.AsyncClient(
            transport=AiohttpTransport(limits=limits),
            limits=limits,
            timeout=5.0,
            trust_env=False,
            follow_redirects=False,
        )
    return httpx.AsyncClient(limits=limits, timeout=5.0, trust_env=False)


@contextlib.asynccontextmanager
async def sender(url: str, stack: str, concurrency: int) -> AsyncIterator[Sender]:
    """POST one cart through ``stack``'s client (True: a 201 with a document); closed on exit."""
    body = orjson.dumps(REQUEST)
    headers = {"Content-Type": "application/json", "X-Auth-Token": "bench"}
    if stack == "aiohttp":
        connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
        session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(5))

        async def send() -> bool:
            async with session.post(url, data=body, headers=headers) as response:
                data = orjson.loads(await response.read())
                return response.status == 201 and "data" in data

        try:
            yield send
        finally:
            await session.close()
        return
    client = httpx_client(stack, concurrency)

    async def send_httpx() -> bool:
        response = await client.request("POST", url, content=body, headers=headers)
        return response.status_code == 201 and "data" in orjson.loads(response.content)

    try:
        yield send_httpx
    finally:
        await client.aclose()


async def closed_loop(
    send: Sender, concurrency: int, seconds: float, warmup: int, max_requests: int
) -> tuple[list[float], int, float]:
    """``warmup`` unmeasured requests, then ``concurrency`` in flight for ``seconds`` (at most
    ``max_requests``): the successes' latencies, the errors and the measured seconds."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    total = warmup + max_requests
    ends = time.monotonic() + 60.0  # the warm-up's bound; the measured phase's is set below

    async def worker(limit: int) -> None:
        nonlocal issued, errors
        while issued < limit and time.monotonic() < ends:
            issued += 1
            measured = issued > warmup
            began = time.monotonic()
            try:
                ok = await send()
            except (aiohttp.ClientError, httpx.HTTPError, TimeoutError):
                ok = False
            if measured:
                if ok:
                    latencies.append(time.monotonic() - began)
                else:
                    errors += 1

    await asyncio.gather(*(worker(warmup) for _ in range(concurrency)))
    began = time.monotonic()
    ends = began + seconds
    await asyncio.gather(*(worker(total) for _ in range(concurrency)))
    return latencies, errors, time.monotonic() - began


async def measure(
    url: str, stack: str, concurrency: int, seconds: float, warmup: int, max_requests: int
) -> dict[str, Any]:
    """Closed loop at ``concurrency`` in flight for ``seconds`` (at most ``max_requests``),
    after ``warmup`` requests that are left out of the figures."""
    async with sender(url, stack, concurrency) as send:
        latencies, errors, elapsed = await closed_loop(
            send, concurrency, seconds, warmup, max_requests
        )
    return {
        "stack": stack,
        "concurrency": concurrency,
        "requests": len(latencies) + errors,
        "errors": errors,
        "seconds": elapsed,
        "throughput": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "latency_ms": latency_summary(latencies),
    }


def compare(workdir: Path, reps: int, seconds: float) -> dict[str, Any]:
    """Serve, then ``reps`` interleaved client runs of every stack (each its own process)."""
    env = base_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    server = start("httpstack-server", [sys.executable, "-m", "bench.httpstack", "serve"], env,
                   workdir)  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {stack: [] for stack in STACKS}
    try:
        for _ in range(reps):
            for stack in STACKS:
                argv = [sys.executable, "-m", "bench.httpstack", "client", "--stack", stack]
                argv += ["--url", server.url + "/carts", "--seconds", str(seconds)]
                done = subprocess.run(  # noqa: S603 - our own module
                    argv, cwd=REPO, env=env, capture_output=True, timeout=seconds + 90, check=True
                )
                result = orjson.loads(done.stdout)
                runs[stack].append(result)
                print(f"  {stack:<14} {result['throughput']:8.0f} req/s  p50 "
                      f"{result['latency_ms']['p50']:6.1f} ms  p99 "
                      f"{result['latency_ms']['p99']:6.1f} ms", flush=True)  # fmt: skip
    finally:
        server.stop()
    return {"concurrency": 64, "runs": runs}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.httpstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("serve", help="the loopback JSON server")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=0)
    client = sub.add_parser("client", help="measure one stack; JSON on stdout")
    client.add_argument("--url", required=True)
    client.add_argument("--stack", choices=STACKS, required=True)
    client.add_argument("--concurrency", type=int, default=64)
    client.add_argument("--seconds", type=float, default=2.0, help="measured time")
    client.add_argument("--warmup", type=int, default=256, help="unmeasured requests first")
    client.add_argument("--max-requests", type=int, default=200_000)
    args = parser.parse_args(argv)
    if args.command == "serve":
        run_fast(serve(args.host, args.port))
        return
    if not 0 < args.seconds <= 120 or not 0 < args.max_requests <= 1_000_000:
        parser.error("--seconds must be in (0, 120] and --max-requests in (0, 1e6]")
    result = run_fast(
        measure(
            args.url, args.stack, args.concurrency, args.seconds, args.warmup, args.max_requests
        )
    )
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")


if __name__ == "__main__":
    main()
