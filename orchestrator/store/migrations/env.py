"""Alembic environment for multicart: async engines, URL and connection passed in programmatically.

``orchestrator.store.migrate.upgrade`` hands over an open connection in
``config.attributes["connection"]`` (so the SQLite pragmas and ``BEGIN IMMEDIATE`` of
``make_engine`` apply). Without one (the ``alembic`` command line with ``-x url=...``), this
file builds its own async engine. Offline mode (``--sql``) renders the DDL for the URL's
dialect.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from orchestrator.store.engines import make_engine
from orchestrator.store.tables import metadata

config = context.config
if config.config_file_name is not None:  # the alembic CLI with orchestrator/store/alembic.ini
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.attributes.get("database_url") or context.get_x_argument(as_dictionary=True).get(
        "url"
    )
    if not url:
        from config import Settings

        url = Settings().database_url
    return str(url)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # make_engine has SQLAlchemy emit BEGIN on SQLite too, so DDL there is transactional
        transactional_ddl=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = make_engine(_url(), null_pool=True)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run_on)
            await conn.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(_run_async())
    else:
        _run_on(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
