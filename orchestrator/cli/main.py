"""The ``multicart`` command line: its parser, and the small commands (``db upgrade``,
``sandbox``, ``keygen``, ``keys rotate``); ``serve`` is ``serve.py``'s, ``outbox`` is
``outbox.py``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from orchestrator.cli.checks import (
    CONFIG_ERROR,
    ConfigError,
    check_serving_settings,
    load_settings,
    masked,
    migrate,
    version_text,
)
from orchestrator.cli.outbox import add_outbox_parser
from orchestrator.cli.serve import serve as run_serve

SERVE_VARIABLES = (
    "MULTICART_ENCRYPTION_KEY (required; `multicart keygen` makes one), "
    "MULTICART_ADMIN_TOKEN or MULTICART_ADMIN_TOKENS (comma-separated, each accepted: "
    "24+ characters, 8+ distinct; both empty: admin routes off), "
    "MULTICART_DATABASE_URL, "
    "MULTICART_HOST, MULTICART_PORT, MULTICART_OUTBOX_GIVE_UP_AFTER_S (how long a failing "
    "external delete is retried before it is a dead letter; default 129600 = 36 h); every "
    "MULTICART_* setting is in docs/configuration.md."
)


def _db_upgrade(args: argparse.Namespace) -> int:
    url = args.database_url or load_settings().database_url
    migrate(url)
    print(f"database {masked(url)} is at the latest migration", flush=True)
    return 0


def _sandbox(rest: list[str]) -> int:
    """``multicart sandbox ...``: the sandbox's own parser, shown under our name, checks the
    arguments (and answers --help) before its ``main`` runs with them."""
    from sandbox.app import main as sandbox_main
    from sandbox.app import parser as sandbox_parser

    parser = sandbox_parser()
    parser.prog = "multicart sandbox"
    parser.parse_args(rest[1:] if rest[:1] == ["--"] else rest)
    sandbox_main(rest)
    return 0


def _sandbox_args(argv: list[str]) -> list[str] | None:
    """The sandbox's own arguments when the command is `sandbox` (argparse's REMAINDER
    does not capture leading options such as --port, so they are handed over as they are)."""
    return argv[1:] if argv and argv[0] == "sandbox" else None


def _keygen(_args: argparse.Namespace) -> int:
    from orchestrator.service.secrets import CredentialBox

    print(CredentialBox.generate_key())
    return 0


def _keys_rotate(_args: argparse.Namespace) -> int:
    """Re-seal every merchant's connection under the primary key: the middle step of a key
    rotation (serve with the new key first and the old one in MULTICART_ENCRYPTION_KEYS_OLD,
    run this, then drop the old key)."""
    from orchestrator.bootstrap import opened_store
    from orchestrator.service.key_rotation import ResealIncomplete, reseal_all
    from orchestrator.service.secrets import CredentialBox

    settings = load_settings()
    check_serving_settings(settings)

    async def rotate() -> int:
        async with opened_store(settings.database_url) as store:
            return await reseal_all(store, CredentialBox.from_settings(settings))

    try:
        count = asyncio.run(rotate())
    except ResealIncomplete as exc:
        print(f"multicart: {exc}", file=sys.stderr)
        return 1
    print(f"re-sealed {count} merchant connection(s) in {masked(settings.database_url)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multicart",
        description="Multi-merchant cart orchestrator. Settings come from MULTICART_* "
        "environment variables (see docs/configuration.md).",
    )
    parser.add_argument("--version", action="version", version=f"multicart {version_text()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve",
        help="run the HTTP API",
        description="Run the HTTP API. Reads " + SERVE_VARIABLES,
    )
    serve.add_argument("--host", help="listen address (default MULTICART_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default MULTICART_PORT or 8080)")
    serve.add_argument("--migrate", action="store_true", help="apply migrations before serving")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serving processes sharing the port (default 1); N > 1 needs PostgreSQL (SQLite "
        "has one writer); the parent forwards SIGTERM/SIGINT and exits 1 if a worker dies",
    )
    serve.set_defaults(func=run_serve)

    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply all migrations (Alembic upgrade head)")
    upgrade.add_argument("--database-url", help="default MULTICART_DATABASE_URL")
    upgrade.set_defaults(func=_db_upgrade)

    sub.add_parser(
        "sandbox",
        help="serve the platform simulators on loopback (`multicart sandbox --help` for options)",
        add_help=False,
    )

    keygen = sub.add_parser("keygen", help="print a new MULTICART_ENCRYPTION_KEY")
    keygen.set_defaults(func=_keygen)

    keys = sub.add_parser("keys", help="encryption key tasks")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser(
        "rotate",
        help="re-seal every merchant connection under MULTICART_ENCRYPTION_KEY",
        description="Re-seal every merchant's connection under MULTICART_ENCRYPTION_KEY, "
        "reading old ones with MULTICART_ENCRYPTION_KEYS_OLD. Exits 1, naming the merchants, "
        "when a connection opens under no configured key.",
    )
    rotate.set_defaults(func=_keys_rotate)

    add_outbox_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        rest = _sandbox_args(argv)
        if rest is not None:
            sys.exit(_sandbox(rest))
        args = build_parser().parse_args(argv)
        sys.exit(args.func(args))
    except ConfigError as exc:
        print(f"multicart: {exc}", file=sys.stderr)
        sys.exit(CONFIG_ERROR)
