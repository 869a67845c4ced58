"""The soak's processes: one sandbox, and one or two ``multicart serve`` on one database.

Why a module of its own: the soak SIGKILLs a serve process under load and brings it back on the
same port (the clients' address book does not change, as behind a load balancer), which
``tests.support.launch``'s start-and-stop does not do. Everything else is launched exactly as an
operator would (``multicart sandbox``, ``multicart db upgrade``, ``multicart serve``), and the
stores are registered through the admin API as an integrator would (``register_sandbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from examples.client import Multicart, Sandbox, register_sandbox
from tests.support.launch import BIN, Process, migrate, orchestrator_env, start, start_sandbox

PLATFORMS = ("BIGCOMMERCE", "SHOPIFY", "ELASTIC_PATH")
PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class StoreInfo:
    """One sandbox store registered as a merchant, with the SKU the soak's carts use."""

    name: str
    platform: str
    merchant_id: str
    sku_id: str


@dataclass
class Serve:
    """One ``multicart serve`` process slot: killed and restarted on the same port."""

    name: str
    port: int
    process: Process | None
    epoch: int = 0  # bumped by every kill: a request sees whether a kill cut it short
    kills: int = 0

    @property
    def up(self) -> bool:
        return self.process is not None and self.process.popen.poll() is None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _serve(name: str, env: dict[str, str], log_dir: Path, port: int) -> Process:
    argv = [str(BIN / "multicart"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return start(name, argv, env, log_dir)


@dataclass
class SoakStack:
    """The processes of one engine's run; ``close()`` stops them whatever happened."""

    workdir: Path
    database_url: str
    env: dict[str, str]
    sandbox_proc: Process
    serves: list[Serve] = field(default_factory=list)
    stores: list[StoreInfo] = field(default_factory=list)
    api_key: str = ""

    @classmethod
    def launch(
        cls, workdir: Path, database_url: str, processes: int, settings: dict[str, str]
    ) -> SoakStack:
        sandbox_proc = start_sandbox(workdir)
        stack = cls(workdir, database_url, orchestrator_env(database_url, **settings), sandbox_proc)
        try:
            migrate(stack.env)
            for index in range(processes):
                process = _serve(f"serve-{index}", stack.env, workdir, 0)
                port = int(process.url.rsplit(":", 1)[1])
                stack.serves.append(Serve(f"serve-{index}", port, process))
            stack._register()
        except BaseException:
            stack.close()
            raise
        return stack

    def _register(self) -> None:
        admin = Multicart(self.serves[0].url, admin_token=self.env["MULTICART_ADMIN_TOKEN"])
        sandbox = Sandbox(self.sandbox_proc.url)
        registry = register_sandbox(admin, sandbox, PLATFORMS)
        for store in sandbox.stores():
            if store["store"] not in registry:
                continue
            # register_sandbox names SKUs "<store>-<index>"; the most stocked ordinary product
            # never runs out, whatever the soak's quantities.
            index = max(
                (i for i, p in enumerate(store["products"]) if not p.get("trigger")),
                key=lambda i: store["products"][i].get("stock", 0),
            )
            merchant_id = registry[store["store"]]["merchant_id"]
            sku_id = f"{store['store']}-{index}"
            self.stores.append(StoreInfo(store["store"], store["platform"], merchant_id, sku_id))
        self.api_key = admin.create_app("soak")["api_key"]

    def kill(self, serve: Serve) -> None:
        """SIGKILL: no shutdown handler runs, exactly like a crash or an OOM kill."""
        assert serve.process is not None
        os.kill(serve.process.popen.pid, signal.SIGKILL)
        serve.process.popen.wait(10)
        serve.epoch += 1
        serve.kills += 1

    async def restart(self, serve: Serve) -> None:
        """Start the slot again on its own port (off the event loop: start-up is blocking)."""
        serve.process = await asyncio.to_thread(
            _serve, serve.name, self.env, self.workdir, serve.port
        )

    def close(self) -> None:
        for serve in self.serves:
            if serve.process is not None:
                serve.process.stop()
        self.sandbox_proc.stop()

    def log_tail(self, chars: int = 2000) -> str:
        return "\n".join(
            f"--- {s.name}\n{s.process.log_text()[-chars:]}" for s in self.serves if s.process
        )


@contextlib.contextmanager
def postgres_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A fresh database ``mc_soak_<hex>`` on the server of ``admin_url``, dropped afterwards."""
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    name = f"mc_soak_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def describe(stores: list[StoreInfo]) -> dict[str, Any]:
    """Stores by platform, for the report's header."""
    out: dict[str, list[str]] = {}
    for store in stores:
        out.setdefault(store.platform, []).append(store.name)
    return out
