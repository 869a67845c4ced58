"""The benchmark's processes and how a system under test is set up.

``Stack`` owns the processes (stopped whatever happens; ``OnDemand`` runs one system's only
while it is measured) and ``register`` sets a system up as an integrator would: ten merchants per
sandbox (merchant j on store j mod n, so a 10-bag cart needs no more stores than the sandbox
has), one SKU each, one app, and a body file per cart shape.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.scenarios import System
from examples.client import Multicart, Sandbox, sku_of
from tests.support.launch import Process, base_env, start

# How the benchmark's ``multicart serve`` runs (``MULTICART_*`` without the prefix). The per-app
# rate limit is lifted: this measures the service, not one app's allowance (the limiter still
# runs, so its cost is in the figures).
SERVE_SETTINGS = {
    "log_level": "WARNING",
    "circuit_failure_threshold": "1000",
    "app_rate_limit": "1000000/second",
}


class Stack:
    """The benchmark's processes: kept in order, stopped in reverse whatever happens."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[Process] = []
        self.sandboxes: dict[int, Process] = {}  # by platform latency in ms

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop(*self.processes)
        self.stop(*self.sandboxes.values())

    def keep(self, process: Process) -> Process:
        self.processes.append(process)
        return process

    def stop(self, *processes: Process) -> None:
        for process in reversed(processes):
            process.stop()
            if process in self.processes:
                self.processes.remove(process)

    def reset_sandboxes(self) -> None:
        """Drop every sandbox cart (and restore stock), so no run pays for an earlier one's."""
        for process in self.sandboxes.values():
            httpx.post(process.url + "/__sandbox/reset", timeout=10).raise_for_status()


class OnDemand:
    """Systems whose processes run only while they are measured, one system at a time.

    The PostgreSQL systems share one server whose ``max_connections`` is 100: multicart's pool
    is up to 20 connections per process, so 1 + 2 + 4 workers and the reference all up at
    once could exhaust it, and idle processes' background workers would poll during another
    system's probes. Each search starts its system afresh (a few seconds) and stops the one
    before; the system's URL is the new process's.
    """

    def __init__(
        self,
        stack: Stack,
        starters: dict[str, Callable[[], Process]],
        warm: Callable[[System], object] = lambda _system: None,
    ) -> None:
        self.stack = stack
        self.starters = starters
        self.warm = warm  # run once on each fresh system before its first probe
        self.current: tuple[str, Process] | None = None

    def __call__(self, system: System) -> None:
        if self.current is not None and self.current[0] == system.name:
            return
        self.release()
        process = self.stack.keep(self.starters[system.name]())
        system.urls = [process.url + "/v1/carts"]
        self.current = (system.name, process)
        self.warm(system)

    def release(self) -> None:
        if self.current is not None:
            self.stack.stop(self.current[1])
            self.current = None


def start_sandboxes(stack: Stack, *latencies_ms: int) -> None:
    """One sandbox at 0 ms and one per latency (``python -m sandbox --latency-ms``)."""
    for latency in (0, *latencies_ms):
        argv = [sys.executable, "-m", "sandbox", "--host", "127.0.0.1"]
        argv += ["--port", "0"] + (["--latency-ms", str(latency)] if latency else [])
        stack.sandboxes[latency] = start(f"sandbox-{latency}ms", argv, base_env(), stack.workdir)


SHAPES = ("1", "3", "10")
MERCHANTS = 10


@dataclass
class Registration:
    """An app key, the reference's catalog file, and body files by latency and cart shape."""

    api_key: str
    catalog: Path
    bodies: dict[int, dict[str, Path]]

    def systems(self, name: str, base_urls: list[str]) -> tuple[System, System]:
        """The system at 0 ms and at 50 ms platform latency (the same processes)."""
        urls = [url + "/v1/carts" for url in base_urls]
        zero, slow = (
            System(name, urls, self.api_key, self.bodies[ms]) for ms in sorted(self.bodies)
        )
        return zero, slow


def register(
    url: str, admin_token: str, sandboxes: dict[int, Process], workdir: Path, tag: str
) -> Registration:
    """Register ``MERCHANTS`` merchants per sandbox, one SKU each, and one app."""
    admin = Multicart(url, admin_token=admin_token)
    api_key = admin.create_app(f"bench-{tag}")["api_key"]
    catalog: dict[str, Any] = {}
    bodies: dict[int, dict[str, Path]] = {}
    for latency, process in sorted(sandboxes.items()):
        stores = [s for s in Sandbox(process.url).stores() if s["platform"] == "BIGCOMMERCE"]
        sku_ids = []
        for j in range(MERCHANTS):
            store = stores[j % len(stores)]
            ordinary = [p for p in store["products"] if not p.get("trigger")]
            product = max(ordinary, key=lambda p: p.get("stock", 0))
            name = f"bench-{latency}ms-m{j}"
            merchant = admin.create_merchant(name, store["platform"], store["connection"])
            sku = sku_of(f"{tag}-{name}", merchant["id"], product)
            admin.upsert_skus([sku])
            catalog[sku["sku_id"]] = {
                "merchant_id": merchant["id"],
                "platform_ref": product["platform_ref"],
                "price": product["price"],
                **store["connection"],
            }
            sku_ids.append(sku["sku_id"])
        bodies[latency] = {}
        for shape in SHAPES:
            body = {"skus": [{"sku_id": s, "quantity": 1} for s in sku_ids[: int(shape)]]}
            path = workdir / f"body-{tag}-{latency}ms-{shape}.json"
            path.write_bytes(orjson.dumps(body))
            bodies[latency][shape] = path
    catalog_path = workdir / f"catalog-{tag}.json"
    catalog_path.write_bytes(orjson.dumps({"skus": catalog}))
    return Registration(api_key, catalog_path, bodies)
