"""The sandbox process: one aiohttp app serving every simulated platform and ``/__sandbox/``.

Why this module exists: tests, the demo and the benchmark start the platforms the way an
operator would (``python -m sandbox`` or ``multicart sandbox``) and wait for the line
``sandbox listening on http://HOST:PORT``; tests may also mount ``build_app()`` in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from sandbox import control, registry
from sandbox.catalog import StoreSeed, load_seed_file
from sandbox.state import SandboxState

STATE: web.AppKey[SandboxState] = web.AppKey("sandbox_state", SandboxState)
SHUTDOWN_TIMEOUT_S = 2.0


@dataclass
class SandboxConfig:
    latency_ms: int = 0  # added to every platform answer (the benchmark's platform latency)
    stores: list[StoreSeed] = field(default_factory=registry.default_stores)
    hang_max_s: float = 120.0  # the longest a "hang" fault holds a request
    requests_kept: int = 1000  # size of the /__sandbox/requests ring


def build_app(config: SandboxConfig | None = None) -> web.Application:
    config = config or SandboxConfig()
    state = SandboxState(
        config.stores,
        latency_ms=config.latency_ms,
        hang_max_s=config.hang_max_s,
        requests_kept=config.requests_kept,
    )
    app = web.Application()
    app[STATE] = state
    app.add_routes(control.routes(state))
    for platform in registry.platforms().values():
        app.add_routes(platform.routes(state))

    async def let_go(app: web.Application) -> None:
        state.closing = True  # held requests end (unanswered) instead of delaying shutdown

    app.on_shutdown.append(let_go)
    return app


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(
    config: SandboxConfig, host: str, port: int, *, access_log: bool = False
) -> tuple[web.AppRunner, str]:
    """Start listening; return the runner (``await runner.cleanup()`` stops) and the base URL."""
    runner = web.AppRunner(
        build_app(config),
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    real_port = int(runner.addresses[0][1])
    return runner, _url(host, real_port)


async def _run(config: SandboxConfig, host: str, port: int, access_log: bool) -> None:
    runner, url = await serve(config, host, port, access_log=access_log)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"sandbox listening on {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def run(
    host: str = "127.0.0.1",
    port: int = 8090,
    config: SandboxConfig | None = None,
    *,
    access_log: bool = False,
) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly."""
    if access_log:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    asyncio.run(_run(config or SandboxConfig(), host, port, access_log))


def parser() -> argparse.ArgumentParser:
    summaries = [row.summary for row in registry.platforms().values()]
    description = " ".join(
        [
            "Loopback simulators of the commerce platforms, all on one port, with a control API "
            "under /__sandbox/.",
            *summaries,
            "GET /__sandbox/stores lists the stores, their connections (credentials) and "
            "products, including trigger products.",
        ]
    )
    p = argparse.ArgumentParser(
        prog="python -m sandbox",
        description=description,
        epilog="Prints 'sandbox listening on http://HOST:PORT' when ready; SIGINT/SIGTERM stop it.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8090, help="port; 0 picks a free one (default 8090)")
    p.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        metavar="N",
        help="fixed latency added to every platform answer, in ms (default 0)",
    )
    p.add_argument(
        "--seed-file",
        type=Path,
        metavar="PATH",
        help="JSON list of stores replacing the built-in ones (format: sandbox.catalog.StoreSeed)",
    )
    p.add_argument(
        "--hang-max-s",
        type=float,
        default=120.0,
        metavar="S",
        help="longest time a 'hang' fault holds a request before dropping it (default 120)",
    )
    p.add_argument("--access-log", action="store_true", help="log every request (off by default)")
    return p


def main(argv: list[str] | None = None) -> None:
    """``python -m sandbox``; ``multicart sandbox`` passes its remaining arguments here."""
    if argv and argv[0] == "--":  # `multicart sandbox -- --port 0` hands the separator on
        argv = argv[1:]
    args = parser().parse_args(argv)
    if args.latency_ms < 0:
        parser().error("--latency-ms must be >= 0")
    config = SandboxConfig(latency_ms=args.latency_ms, hang_max_s=args.hang_max_s)
    if args.seed_file is not None:
        try:
            config.stores = load_seed_file(args.seed_file)
        except (OSError, ValueError) as exc:
            print(f"sandbox: cannot use --seed-file {args.seed_file}: {exc}", file=sys.stderr)
            raise SystemExit(2) from exc
    run(args.host, args.port, config, access_log=args.access_log)
