"""A fresh PostgreSQL database for one benchmark run, dropped whatever happens.

The engines scenario (``python -m bench``) and ``python -m bench.memory --workers N`` both serve
multicart from a database of their own on the local server; without one, the scenario is
skipped and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator

PG_SERVER = "postgres@127.0.0.1:5432"


class PostgresUnavailable(Exception):
    """No PostgreSQL to benchmark on: the engines scenario is skipped (and says so)."""


@contextlib.contextmanager
def postgres_database() -> Iterator[tuple[str, str]]:
    """A fresh database ``mc_bench_<hex>`` (SQLAlchemy URL, asyncpg DSN), dropped afterwards."""
    import asyncpg

    name = f"mc_bench_{secrets.token_hex(4)}"

    async def admin(sql: str) -> str:
        conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/test", timeout=10)
        try:
            await conn.execute(sql)
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        version = asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        raise PostgresUnavailable(f"PostgreSQL at {PG_SERVER}: {exc}") from exc
    print(f"  PostgreSQL {version}: database {name}", flush=True)
    try:
        yield f"postgresql+asyncpg://{PG_SERVER}/{name}", f"postgresql://{PG_SERVER}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
