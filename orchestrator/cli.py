"""The `multicart` command: serve the API, migrate the database, run the sandbox, make and
rotate keys, requeue dead letters (``cli_outbox.py``).

An operator's mistakes (a missing or invalid setting, a port in use, a database not migrated)
end with one line saying what to do and exit status 2, never a traceback: ``ConfigError``
carries that line from wherever it is found to ``main``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from config import Settings, configure_logging

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

CONFIG_ERROR = 2
SERVE_VARIABLES = (
    "MULTICART_ENCRYPTION_KEY (required; `multicart keygen` makes one), "
    "MULTICART_ADMIN_TOKEN (24+ characters, 8+ distinct; empty: admin routes off), "
    "MULTICART_DATABASE_URL, "
    "MULTICART_HOST, MULTICART_PORT, MULTICART_OUTBOX_GIVE_UP_AFTER_S (how long a failing "
    "external delete is retried before it is a dead letter; default 129600 = 36 h); every "
    "MULTICART_* setting is in README: Settings."
)


class ConfigError(Exception):
    """A setting or the environment is wrong; the message is the one line shown."""


def _version() -> str:
    try:
        return version("multicart")
    except PackageNotFoundError:
        return "0.0.0"


def masked(url: str) -> str:
    """``url`` with its password hidden, for messages and logs."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def load_settings(**overrides: Any) -> Settings:
    """``Settings`` from the environment, or ``ConfigError`` naming each bad variable."""
    if os.environ.get("DATABASE_URL") and not os.environ.get("MULTICART_DATABASE_URL"):
        print(
            "multicart: DATABASE_URL is set but not read; set MULTICART_DATABASE_URL "
            "to use that database",
            file=sys.stderr,
        )
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"MULTICART_{'__'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


ADMIN_TOKEN_MIN_LENGTH = 24
ADMIN_TOKEN_MIN_DISTINCT = 8


def check_admin_token(token: str) -> None:
    """``ConfigError`` for a guessable admin token: ``MULTICART_ADMIN_TOKEN=a`` was accepted.

    Empty stays allowed (admin routes off). 24 characters with 8 distinct ones refuses
    ``a``, ``admin-secret`` and ``aaaa...``; ``secrets.token_urlsafe(32)`` (43) always passes."""
    if token and (
        len(token) < ADMIN_TOKEN_MIN_LENGTH or len(set(token)) < ADMIN_TOKEN_MIN_DISTINCT
    ):
        raise ConfigError(
            f"MULTICART_ADMIN_TOKEN is too weak: it needs at least {ADMIN_TOKEN_MIN_LENGTH} "
            f"characters, {ADMIN_TOKEN_MIN_DISTINCT} of them distinct (make one with: python -c "
            '"import secrets; print(secrets.token_urlsafe(32))"), or empty to turn admin routes off'
        )
    if token and not (token.isascii() and token.isprintable() and " " not in token):
        # A Bearer credential is printable ASCII without spaces (web.bearer_token): any other
        # token could never be sent, and every admin request would be 401.
        raise ConfigError(
            "MULTICART_ADMIN_TOKEN must be printable ASCII without spaces (make one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )


def check_serving_settings(settings: Settings) -> None:
    """What ``serve`` needs beyond types: a strong admin token (or none), a usable encryption
    key and database URL."""
    from orchestrator.service.secrets import CredentialBox
    from orchestrator.store.database import make_engine

    check_admin_token(settings.admin_token.get_secret_value())
    try:
        CredentialBox.from_settings(settings)
    except ValueError as exc:
        hint = "" if "keygen" in str(exc) else " (`multicart keygen` prints a new key)"
        raise ConfigError(f"{exc}{hint}") from exc
    try:
        make_engine(settings.database_url, null_pool=True)
    except Exception as exc:
        raise ConfigError(f"MULTICART_DATABASE_URL: {exc}") from exc


def _backend(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).get_backend_name()


def _serve(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    settings = load_settings(**overrides)
    check_serving_settings(settings)  # before --migrate touches the database
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if args.workers > 1 and _backend(settings.database_url) != "postgresql":
        raise ConfigError(
            f"--workers {args.workers} needs PostgreSQL (MULTICART_DATABASE_URL): SQLite has one "
            "writer, serialised inside one process, so more processes would only contend"
        )
    configure_logging(settings.log_format, settings.log_level)
    if args.migrate:
        migrate(settings.database_url)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is Linux/macOS only; asyncio's own loop works too
        pass
    if args.workers == 1:
        asyncio.run(_run_server(settings))
        return 0
    return _serve_workers(settings, args.workers)


def _serve_workers(settings: Settings, count: int) -> int:
    """``--workers N``: checks once here, then N pre-forked processes on one socket. The app's
    modules are imported here, once, and shared by the workers (copy-on-write)."""
    import adapters  # noqa: F401
    import orchestrator.http.app  # noqa: F401
    from orchestrator.http import prefork

    asyncio.run(_check_schema(settings))
    try:
        sock = prefork.bind(settings.host, settings.port)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
        ) from exc
    port = sock.getsockname()[1]

    own = settings.per_process(count)  # each worker takes 1/N of every per-app rate

    def child(sock: socket.socket, index: int, ready: Callable[[], None]) -> int:
        asyncio.run(_run_server(own, sock=sock, ready=ready, worker=index))
        return 0

    def announce(_pids: list[int]) -> None:
        print(f"multicart listening on http://{settings.host}:{port}", flush=True)

    try:
        return prefork.run_workers(sock, count, child, announce)
    except prefork.WorkersFailed as exc:
        raise ConfigError(f"workers did not start: {exc}") from exc
    finally:
        sock.close()


async def _check_schema(settings: Settings) -> None:
    await check_schema(settings.database_url)


async def check_schema(url: str) -> None:
    """``ConfigError`` unless the database at ``url`` answers and is at the latest migration."""
    from orchestrator.store import Store

    try:
        store = Store.from_url(url)
    except Exception as exc:  # an unsupported or unparsable URL
        raise ConfigError(f"MULTICART_DATABASE_URL: {exc}") from exc
    try:
        state = await store.schema_state()
    except Exception as exc:
        raise ConfigError(f"cannot reach the database {masked(url)}: {type(exc).__name__}") from exc
    finally:
        await store.close()
    if not state.ok:
        raise ConfigError(state.problem())


async def _run_server(
    settings: Settings,
    *,
    sock: socket.socket | None = None,
    ready: Callable[[], None] | None = None,
    worker: int | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; print the address actually bound (port 0 picks one).

    Under ``--workers`` (``sock`` given: the parent's listening socket, schema already checked)
    the parent prints the address once every worker called ``ready``."""
    import signal

    import structlog
    from aiohttp import web
    from sqlalchemy import make_url

    from adapters import PLATFORMS
    from orchestrator.http.app import create_app
    from orchestrator.http.keys import METRICS
    from orchestrator.http.server import ConnectionGuard, EnvelopeAppRunner, requests_served

    if sock is None:
        await _check_schema(settings)
    log = structlog.get_logger("multicart")
    if not settings.admin_token.get_secret_value() and not worker:
        log.warning("admin_routes_off", reason="MULTICART_ADMIN_TOKEN is empty")
    app = create_app(settings)
    guard = ConnectionGuard(settings.header_timeout_s, settings.max_connections)
    app[METRICS].registry.register(guard.collector())
    # auto_decompress=False: aiohttp never inflates a request body. Before, 1 MB of gzip sent
    # with Content-Encoding: gzip inflated to 1 GiB before any authentication (0.8 s of CPU).
    runner = EnvelopeAppRunner(
        app,
        guard=guard,
        access_log=None,
        keepalive_timeout=settings.keepalive_timeout_s,
        auto_decompress=False,
    )
    await runner.setup()
    site = (
        web.SockSite(runner, sock)
        if sock is not None
        else web.TCPSite(runner, settings.host, settings.port)
    )
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
        ) from exc
    port = runner.addresses[0][1] if runner.addresses else settings.port
    described: dict[str, Any] = {
        "version": _version(),
        "address": f"http://{settings.host}:{port}",
        "engine": make_url(settings.database_url).get_backend_name(),
        "platforms": sorted(p.value for p in PLATFORMS),
    }
    if worker is not None:
        described |= {"worker": worker, "pid": os.getpid()}
    # Everything built at start-up (modules, SQLAlchemy's and pydantic's structures) lives as
    # long as the process: moved out of the collector's reach, full collections stop pausing
    # the loop for 45-60 ms (measured with `python -m bench --profile`; p99/p50 fell to ~1.8x).
    gc.collect()
    gc.freeze()
    # The handlers before the readiness line: a SIGTERM right after it stops the process
    # cleanly, never with the default action.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("started", **described)
    if ready is None:
        print(f"multicart listening on http://{settings.host}:{port}", flush=True)
    else:
        ready()
    try:
        await stop.wait()
    finally:
        served = requests_served(app[METRICS].requests)
        await runner.cleanup()
        log.info("stopped", requests=served, **described)


def migrate(url: str) -> None:
    """``alembic upgrade head`` on ``url``, or ``ConfigError`` saying why it could not."""
    from orchestrator.store.database import upgrade_sync

    try:
        upgrade_sync(url)
    except ValueError as exc:  # an unsupported URL
        raise ConfigError(str(exc)) from exc
    except (TimeoutError, OSError) as exc:
        raise ConfigError(f"cannot reach the database {masked(url)}: {exc}") from exc
    except Exception as exc:  # the driver's connection or permission errors
        if type(exc).__module__.startswith(("sqlalchemy", "asyncpg", "sqlite3")):
            raise ConfigError(
                f"cannot migrate the database {masked(url)}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc
        raise


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
    from orchestrator.service.keys import ResealIncomplete, reseal_all
    from orchestrator.service.secrets import CredentialBox
    from orchestrator.store import Store

    settings = load_settings()
    check_serving_settings(settings)

    async def rotate() -> int:
        store = Store.from_url(settings.database_url)
        try:
            return await reseal_all(store, CredentialBox.from_settings(settings))
        finally:
            await store.close()

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
        "environment variables (see README: Settings).",
    )
    parser.add_argument("--version", action="version", version=f"multicart {_version()}")
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
    serve.set_defaults(func=_serve)

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

    from orchestrator.cli_outbox import add_outbox_parser

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


if __name__ == "__main__":
    main()
