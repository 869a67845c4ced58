"""The bare reference orchestrator the benchmark compares multicart against.

It does what a create-cart path cannot avoid and nothing else: an aiohttp server takes
``POST /v1/carts`` (``{"skus": [{"sku_id", "quantity"}]}``), groups the lines by merchant from an
in-memory catalog, writes the cart and its PENDING bags in one transaction, creates every bag's
BigCommerce cart concurrently with raw ``aiohttp.ClientSession`` calls, writes the outcome in a
second transaction, and answers 201 with the cart as JSON. SQLite goes through raw aiosqlite with
multicart's rules (WAL, ``synchronous=NORMAL``, one writer at a time in-process, ``BEGIN
IMMEDIATE``); PostgreSQL through a raw asyncpg pool. uvloop and orjson, as multicart uses.

    python -m bench.reference --catalog catalog.json --database-url sqlite:///ref.db --port 0

The catalog file is ``{"skus": {sku_id: {"merchant_id", "api_url", "access_token",
"platform_ref": {"product_id", "variant_id"?}, "price"}}}``. The process prints ``reference
listening on http://HOST:PORT`` once it serves, and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import orjson
from aiohttp import web

from bench.serving import serve_until_signalled
from tests.support.launch import Process, base_env, start

REPO = Path(__file__).resolve().parents[1]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ref_carts (id TEXT PRIMARY KEY, status TEXT NOT NULL,"
    " currency TEXT NOT NULL, sub_total BIGINT NOT NULL, created DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ref_bags (id TEXT PRIMARY KEY, cart_id TEXT NOT NULL"
    " REFERENCES ref_carts(id), merchant_id TEXT NOT NULL, status TEXT NOT NULL,"
    " external_id TEXT, checkout_url TEXT, sub_total BIGINT NOT NULL)",
)
Row = tuple[Any, ...]


class Database(Protocol):
    async def write(self, statements: list[tuple[str, list[Row]]]) -> None: ...
    async def close(self) -> None: ...


class SqliteDatabase:
    """One aiosqlite connection; write transactions one at a time (asyncio lock, IMMEDIATE)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> SqliteDatabase:
        import aiosqlite

        conn = await aiosqlite.connect(path, isolation_level=None)
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
            await conn.execute(f"PRAGMA {pragma}")
        for ddl in SCHEMA:
            await conn.execute(ddl)
        return cls(conn)

    async def write(self, statements: list[tuple[str, list[Row]]]) -> None:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in statements:
                    await self._conn.executemany(sqlite_params(sql), rows)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def close(self) -> None:
        await self._conn.close()


class PostgresDatabase:
    """A raw asyncpg pool (as many connections as multicart's SQLAlchemy pool may open)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str) -> PostgresDatabase:
        import asyncpg

        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=20)
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(4711)")  # several processes start at once
            try:
                for ddl in SCHEMA:
                    await conn.execute(ddl)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(4711)")
        return cls(pool)

    async def write(self, statements: list[tuple[str, list[Row]]]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            for sql, rows in statements:
                if len(rows) == 1:
                    await conn.execute(sql, *rows[0])
                else:
                    await conn.executemany(sql, rows)

    async def close(self) -> None:
        await self._pool.close()


INSERT_CART = "INSERT INTO ref_carts VALUES ($1, $2, $3, $4, $5)"
INSERT_BAG = "INSERT INTO ref_bags VALUES ($1, $2, $3, $4, $5, $6, $7)"
UPDATE_BAG = "UPDATE ref_bags SET status = $1, external_id = $2, checkout_url = $3,"
UPDATE_BAG += " sub_total = $4 WHERE id = $5"
UPDATE_CART = "UPDATE ref_carts SET status = $1, sub_total = $2 WHERE id = $3"


def sqlite_params(sql: str) -> str:
    """asyncpg's ``$1`` placeholders as sqlite3's ``?1``."""
    return sql.replace("$", "?")


class Reference:
    def __init__(self, catalog: dict[str, Any], db: Database, session: aiohttp.ClientSession):
        self.catalog = catalog
        self.db = db
        self.session = session

    async def create_external(self, sku: dict[str, Any], lines: list[tuple[Any, int]]) -> Any:
        items = [{"quantity": q, **s["platform_ref"]} for s, q in lines]
        body = {"line_items": items, "currency": {"code": "USD"}, "channel_id": 1}
        url = sku["api_url"] + "/carts?include=redirect_urls"
        headers = {"X-Auth-Token": sku["access_token"], "Content-Type": "application/json"}
        async with self.session.post(url, data=orjson.dumps(body), headers=headers) as response:
            payload = await response.read()
            if response.status != 201:
                return None
        return orjson.loads(payload)["data"]

    async def create_cart(self, request: web.Request) -> web.Response:
        try:
            wanted = orjson.loads(await request.read())["skus"]
            lines = [(self.catalog[line["sku_id"]], int(line["quantity"])) for line in wanted]
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError):
            return web.Response(status=400, body=b'{"error":"invalid_request"}')
        by_merchant: dict[str, list[Any]] = {}
        for sku, quantity in lines:
            by_merchant.setdefault(sku["merchant_id"], []).append((sku, quantity))
        cart_id = "cart_" + secrets.token_hex(12)
        bag_ids = {m: "bag_" + secrets.token_hex(12) for m in by_merchant}
        bags = [(bag_ids[m], cart_id, m, "PENDING", None, None, 0) for m in by_merchant]
        await self.db.write(
            [(INSERT_CART, [(cart_id, "PENDING", "USD", 0, time.time())]), (INSERT_BAG, bags)]
        )
        results = await asyncio.gather(
            *(self.create_external(ls[0][0], ls) for ls in by_merchant.values()),
            return_exceptions=True,
        )
        out_bags, updates, total = [], [], 0
        for merchant, result in zip(by_merchant, results, strict=True):
            ok = isinstance(result, dict)
            ext = result if isinstance(result, dict) else {}
            sub_total = round(float(ext.get("cart_amount", 0)) * 100)
            url = (ext.get("redirect_urls") or {}).get("checkout_url")
            status = "IN_PROGRESS" if ok else "FAILED"
            total += sub_total
            updates.append((status, ext.get("id"), url, sub_total, bag_ids[merchant]))
            out_bags.append(
                {"id": bag_ids[merchant], "merchant_id": merchant, "status": status}
                | {"external_id": ext.get("id"), "checkout_url": url, "sub_total": sub_total}
            )
        await self.db.write(
            [(UPDATE_BAG, updates), (UPDATE_CART, [("IN_PROGRESS", total, cart_id)])]
        )
        cart = {"id": cart_id, "status": "IN_PROGRESS", "currency": "USD", "sub_total": total}
        cart["bags"] = out_bags
        return web.Response(status=201, body=orjson.dumps(cart), content_type="application/json")


async def open_database(url: str) -> Database:
    if url.startswith("sqlite:///"):
        return await SqliteDatabase.open(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresDatabase.open(url)
    raise SystemExit(f"unsupported database url {url!r}: sqlite:///path or postgresql://...")


@contextlib.asynccontextmanager
async def reference_app(catalog: dict[str, Any], url: str) -> AsyncIterator[web.Application]:
    db = await open_database(url)
    connector = aiohttp.TCPConnector(limit=64, limit_per_host=64)
    session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=5))
    app = web.Application()
    app.router.add_post("/v1/carts", Reference(catalog, db, session).create_cart)
    try:
        yield app
    finally:
        await session.close()
        await db.close()


async def serve(catalog: dict[str, Any], url: str, host: str, port: int) -> None:
    async with reference_app(catalog, url) as app:
        await serve_until_signalled(app, host, port, "reference")


def launch(workdir: Path, catalog: Path, database_url: str, name: str = "reference") -> Process:
    """Start the reference as its own process (as ``tests.support.launch`` starts multicart)."""
    env = base_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "bench.reference", "--catalog", str(catalog)]
    argv += ["--database-url", database_url, "--host", "127.0.0.1", "--port", "0"]
    return start(name, argv, env, workdir)


def main(argv: list[str] | None = None) -> None:
    from bench.loadgen import run_fast

    parser = argparse.ArgumentParser(prog="python -m bench.reference", description=__doc__)
    parser.add_argument("--catalog", required=True, help="the catalog JSON file")
    parser.add_argument("--database-url", required=True, help="sqlite:///path or postgresql://")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with open(args.catalog, "rb") as handle:
        catalog = orjson.loads(handle.read())["skus"]
    run_fast(serve(catalog, args.database_url, args.host, args.port))


if __name__ == "__main__":
    main()
