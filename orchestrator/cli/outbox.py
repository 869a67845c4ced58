"""`multicart outbox list|retry`: the dead letters of the external-delete outbox, from a shell.

The same views as ``GET /v1/admin/outbox`` and ``POST /v1/admin/outbox/{id}/retry``, working
directly on the database like ``multicart db upgrade``, so an operator can requeue what an
outage left behind without an admin token or a running server. Entries print as JSON lines in
the API's shape (``outbox_routes.entry_json``), for ``jq``. Bad input (a bad ``--limit``, an
unknown id, an unmigrated database) is one line and exit status 2; an entry that is not dead
(still pending) is one line and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from orchestrator.cli.checks import ConfigError, check_schema, load_settings
from orchestrator.store.outbox import STATES

T = TypeVar("T")
NOT_RETRYABLE = 1


def add_outbox_parser(sub: Any) -> None:
    """The ``outbox`` command and its ``list`` and ``retry`` subcommands, on ``sub``."""
    outbox = sub.add_parser(
        "outbox", help="list the external-delete outbox's entries, requeue dead letters"
    )
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = outbox_sub.add_parser(
        "list",
        help="print entries as JSON lines, by id (the fields of GET /v1/admin/outbox)",
    )
    listing.add_argument("--state", choices=STATES, help="only entries in this state")
    listing.add_argument(
        "--limit",
        type=int,
        default=100,
        metavar="N",
        help="at most N entries, 1..10000 (default 100)",
    )
    listing.add_argument("--database-url", help="default MULTICART_DATABASE_URL")
    listing.set_defaults(func=_list)
    retry = outbox_sub.add_parser(
        "retry",
        help="requeue a dead or undetectable entry: pending, due now, its failure clock reset",
    )
    retry.add_argument("id", help="the entry's id (xdel_...)")
    retry.add_argument("--database-url", help="default MULTICART_DATABASE_URL")
    retry.set_defaults(func=_retry)


def _on_store(args: argparse.Namespace, work: Callable[[Any], Awaitable[T]]) -> T:
    from orchestrator.bootstrap import opened_store

    url = args.database_url or load_settings().database_url

    async def run() -> T:
        await check_schema(url)
        async with opened_store(url) as store:
            return await work(store)

    return asyncio.run(run())


def _print(entry: Any) -> None:
    from orchestrator.http.outbox_routes import entry_json

    sys.stdout.write(orjson.dumps(entry_json(entry), option=orjson.OPT_UTC_Z).decode() + "\n")


def _list(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 10_000:
        raise ConfigError("--limit must be between 1 and 10000")
    for entry in _on_store(args, lambda store: store.outbox.page(args.state, limit=args.limit)):
        _print(entry)
    return 0


def _retry(args: argparse.Namespace) -> int:
    from orchestrator.http.fields import id_problem

    problem = id_problem(args.id)
    if problem is not None:
        raise ConfigError(f"ID: {problem}")

    async def requeue(store: Any) -> tuple[str, Any]:
        outcome = await store.outbox.requeue(args.id, datetime.now(UTC))
        return outcome, await store.outbox.get(args.id)

    outcome, entry = _on_store(args, requeue)
    if outcome == "missing" or entry is None:
        raise ConfigError(f"no outbox entry {args.id}")
    if outcome == "pending":
        print(
            f"multicart: outbox entry {args.id} is still pending; nothing to requeue",
            file=sys.stderr,
        )
        return NOT_RETRYABLE
    _print(entry)
    return 0
