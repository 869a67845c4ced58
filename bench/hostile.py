"""One app's slow bodies against another app's creates: does the other app still get served?

Why: the hostile-client issue measured 64 connections from one app, each declaring
``Content-Length: 1000`` and sending a byte every 5 s, answered every other app with 503
``overloaded`` for as long as the sockets stayed open. This measures another app's create
latency with and without such an attack on a real ``multicart serve`` (SQLite, the sandbox at
0 ms), alternating the two phases so drift hits both alike:

    python -m bench.hostile --reps 3 --creates 40

It prints p50/p99 of each phase and their ratio, and how the slow connections ended (408 and
closed, within the body's time bound). ``SlowBodies`` (``examples/slow_clients.py``) is also
what tests/e2e's hostile suite and ``make demo`` open. Every loop is bounded in count and
time; traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from examples.client import Multicart, Sandbox, register_sandbox
from examples.slow_clients import SlowBodies
from tests.support.launch import sandbox_and_multicart

SHARE = 48  # one app's share of the default 64 in-flight slots (fairness.InFlightShares)


def create_latencies_ms(
    app: Multicart, skus: list[tuple[str, int]], creates: int, refused: list[int]
) -> list[float]:
    """``creates`` sequential creates of ``skus``: each 201's latency; others' statuses go to
    ``refused``."""
    took = []
    for _ in range(creates):
        started = time.perf_counter()
        response = app.create_cart_response(skus)
        if response.status_code == 201:
            took.append((time.perf_counter() - started) * 1000)
        else:
            refused.append(response.status_code)
    return took


def established(app: Multicart, slow: int, within_s: float = 10.0) -> bool:
    """Whether the slow bodies are being read (``multicart_http_bodies_reading``: the app's
    share of them, 48 of 64 by default, the rest refused 429 at once), polled."""
    ends = time.monotonic() + within_s
    while time.monotonic() < ends:
        found = re.search(
            r"^multicart_http_bodies_reading (\S+)$", app.http.get("/metrics").text, re.M
        )
        if found and float(found.group(1)) >= min(slow, SHARE):
            return True
        time.sleep(0.05)
    return False


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def half_open_flood(url: str, pid: int, count: int, bound_s: float = 60.0) -> dict[str, Any]:
    """``count`` connections that send nothing: the server's descriptors before, at their peak,
    and how long after the last connect until they are back to the baseline (+5: a pooled
    database connection may come and go), polled every 0.1 s within ``bound_s``."""
    address = urlsplit(url)
    baseline = descriptors(pid)
    sockets = []
    started = time.monotonic()
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect((address.hostname, address.port))
            sockets.append(sock)
        connected = time.monotonic()
        peak, back_after = baseline, None
        while time.monotonic() - connected < bound_s:
            now = descriptors(pid)
            peak = max(peak, now)
            if now <= baseline + 5 and time.monotonic() - connected > 0.5:
                back_after = time.monotonic() - connected
                break
            time.sleep(0.1)
    finally:
        for sock in sockets:
            sock.close()
    return {
        "flood_connections": count,
        "flood_connect_s": connected - started,
        "flood_fds_baseline": baseline,
        "flood_fds_peak": peak,
        "flood_back_to_baseline_s": back_after,
    }


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def run(reps: int, creates: int, slow: int, half_open: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="mc-hostile-"))
    # The victim sends creates back to back (~400/s): past the default rate of one app.
    processes = sandbox_and_multicart(
        workdir, "hostile.db", log_level="WARNING", app_rate_limit="1000000/second"
    )
    with processes as (sandbox_proc, api_proc):
        admin = Multicart(api_proc.url, admin_token=api_proc.env["MULTICART_ADMIN_TOKEN"])
        stores = register_sandbox(admin, Sandbox(sandbox_proc.url), ("BIGCOMMERCE",))
        skus = [(store["skus"]["p0"], 1) for store in stores.values()][:3]
        victim = admin.as_app(admin.create_app("victim")["api_key"])
        attacker_key = admin.create_app("attacker")["api_key"]
        refused: list[int] = []
        create_latencies_ms(victim, skus, 10, refused)  # warm-up
        calm: list[float] = []
        attacked: list[float] = []
        endings: list[bytes] = []
        for _ in range(reps):
            calm += create_latencies_ms(victim, skus, creates, refused)
            attack = SlowBodies(api_proc.url, attacker_key, slow)
            try:
                if not established(victim, slow):  # (an older build has no such gauge)
                    time.sleep(2)
                attacked += create_latencies_ms(victim, skus, creates, refused)
                healthz = victim.http.get("/healthz").status_code
                attack.stop()
                endings += attack.endings(within_s=10)
            finally:
                attack.close()
        flood = half_open_flood(api_proc.url, api_proc.popen.pid, half_open) if half_open else {}
    calm_p99, attacked_p99 = p99(calm), p99(attacked) if attacked else None
    return {
        "calm_p50_ms": statistics.median(calm),
        "calm_p99_ms": calm_p99,
        "attacked_p50_ms": statistics.median(attacked) if attacked else None,
        "attacked_p99_ms": attacked_p99,
        "p99_ratio": None if attacked_p99 is None else attacked_p99 / calm_p99,
        "healthz_during_attack": healthz,
        "victim_creates_refused": len(refused),
        "victim_refusals": sorted(set(refused)),
        "slow_connections_answered_408": sum(e.startswith(b"HTTP/1.1 408") for e in endings),
        "slow_connections_answered_429": sum(e.startswith(b"HTTP/1.1 429") for e in endings),
        "slow_connections": len(endings),
        **flood,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="calm/attacked phase pairs")
    parser.add_argument("--creates", type=int, default=40, help="creates per phase")
    parser.add_argument("--slow", type=int, default=64, help="slow-body connections")
    parser.add_argument(
        "--half-open", type=int, default=0, help="then this many connections sending nothing"
    )
    args = parser.parse_args(argv)
    result = run(args.reps, args.creates, args.slow, args.half_open)
    for key, value in result.items():
        print(f"{key:32} {value:.2f}" if isinstance(value, float) else f"{key:32} {value}")


if __name__ == "__main__":
    main()
