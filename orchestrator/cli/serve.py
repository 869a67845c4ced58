"""``multicart serve``: one process, or N pre-forked workers on one socket, until SIGTERM.

Checks come first (settings, then the schema), so a bad start ends with one line; the
readiness line is printed only once the socket is listening and the signal handlers are set.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
from typing import TYPE_CHECKING, Any

from config import Settings, configure_logging
from orchestrator.cli.checks import (
    ConfigError,
    backend,
    check_schema,
    check_serving_settings,
    load_settings,
    migrate,
    version_text,
)

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from aiohttp import web

    from orchestrator.http.server import EnvelopeAppRunner


def serve(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    settings = load_settings(**overrides)
    check_serving_settings(settings)  # before --migrate touches the database
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if args.workers > 1 and settings.metrics_port is not None:
        raise ConfigError(
            f"MULTICART_METRICS_PORT with --workers {args.workers}: each worker keeps its own "
            "counters and only one could bind the port; unset it and scrape the API's port"
        )
    if args.workers > 1 and backend(settings.database_url) != "postgresql":
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

    asyncio.run(check_schema(settings.database_url))
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
    import structlog

    from orchestrator.http.app import create_app
    from orchestrator.http.keys import METRICS
    from orchestrator.http.server import requests_served

    if sock is None:
        await check_schema(settings.database_url)
    log = structlog.get_logger("multicart")
    if not settings.admin_token_list() and not worker:
        log.warning("admin_routes_off", reason="MULTICART_ADMIN_TOKEN is empty")
    app = create_app(settings)
    runner = await _listen(app, settings, sock)
    port = runner.addresses[0][1] if runner.addresses else settings.port
    described = _described(settings, port, worker)
    metrics_runner = await _listen_metrics(app, settings, runner)
    if metrics_runner is not None:
        described["metrics_address"] = metrics_runner.addresses[0][:2]
    # Everything built at start-up (modules, SQLAlchemy's and pydantic's structures) lives as
    # long as the process: moved out of the collector's reach, full collections stop pausing
    # the loop for 45-60 ms (measured with `python -m bench --profile`; p99/p50 fell to ~1.8x).
    gc.collect()
    gc.freeze()
    # The handlers before the readiness line: a SIGTERM right after it stops the process
    # cleanly, never with the default action.
    stop = _stop_on_signals()
    log.info("started", **described)
    if ready is None:
        print(f"multicart listening on http://{settings.host}:{port}", flush=True)
    else:
        ready()
    try:
        await stop.wait()
    finally:
        served = requests_served(app[METRICS].requests)
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await runner.cleanup()
        log.info("stopped", requests=served, **described)


async def _listen(
    app: web.Application, settings: Settings, sock: socket.socket | None
) -> EnvelopeAppRunner:
    """The app's runner, listening on ``sock`` (a worker's) or on the configured address."""
    from aiohttp import web

    from orchestrator.http.keys import METRICS
    from orchestrator.http.server import ConnectionGuard, EnvelopeAppRunner

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
    return runner


async def _listen_metrics(
    app: web.Application, settings: Settings, main: EnvelopeAppRunner
) -> EnvelopeAppRunner | None:
    """``/metrics`` alone on ``MULTICART_METRICS_PORT`` (None when unset), from this process;
    the API's port then answers 404 for it (``shedding.py``)."""
    if settings.metrics_port is None:
        return None
    from aiohttp import web

    from orchestrator.http.server import ConnectionGuard, EnvelopeAppRunner
    from orchestrator.http.shedding import metrics_only_app

    host = settings.metrics_host or settings.host
    # The API port's connection limits, a guard of its own (its counters are the API's only).
    guard = ConnectionGuard(settings.header_timeout_s, settings.max_connections)
    runner = EnvelopeAppRunner(
        metrics_only_app(app, settings),
        guard=guard,
        access_log=None,
        keepalive_timeout=settings.keepalive_timeout_s,
        auto_decompress=False,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, settings.metrics_port).start()
    except OSError as exc:
        await runner.cleanup()
        await main.cleanup()
        raise ConfigError(
            f"cannot listen on {host}:{settings.metrics_port} (MULTICART_METRICS_PORT): "
            f"{exc.strerror or exc}"
        ) from exc
    return runner


def _described(settings: Settings, port: int, worker: int | None) -> dict[str, Any]:
    """What the ``started`` and ``stopped`` log lines say about this process."""
    from sqlalchemy import make_url

    from adapters import PLATFORMS

    described: dict[str, Any] = {
        "version": version_text(),
        "address": f"http://{settings.host}:{port}",
        "engine": make_url(settings.database_url).get_backend_name(),
        "platforms": sorted(PLATFORMS),
    }
    if worker is not None:
        described |= {"worker": worker, "pid": os.getpid()}
    return described


def _stop_on_signals() -> asyncio.Event:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
