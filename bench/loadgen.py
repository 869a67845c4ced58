"""Open-loop load generator: offers a constant rate and measures from each intended send time.

Run as its own process and print one JSON object on stdout::

    python -m bench.loadgen --url http://127.0.0.1:8080/v1/carts --rate 200 --duration 5 \
        --warmup 1 --body-file body.json --header 'Authorization: Bearer KEY'

Request ``i`` is due at ``t0 + i / rate``, whatever happened to the earlier ones (open loop), and
its latency runs from that intended time to the end of its answer, so a stalled server cannot hide
its tail behind a slowed-down client (no coordinated omission). At most ``--max-inflight`` requests
are outstanding; a request due while that many are in flight is not sent and counts as an error.
Requests due during the warm-up are sent but left out of the figures. Several ``--url`` are served
round-robin (several orchestrator processes). The run is bounded: it ends at most ``timeout`` after
the last request is due.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import orjson

T = TypeVar("T")


def schedule(rate: float, seconds: float) -> list[float]:
    """Intended send offsets (seconds from the start) of a constant ``rate`` over ``seconds``."""
    if rate <= 0 or seconds <= 0:
        return []
    count = math.floor(rate * seconds + 1e-9)
    return [i / rate for i in range(count)]


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0..100) of an already sorted sequence; NaN when empty."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds of latencies given in seconds."""
    ordered = sorted(latencies_s)
    out = {f"p{q}": percentile(ordered, q) * 1000.0 for q in (50, 90, 99)}
    out["max"] = ordered[-1] * 1000.0 if ordered else math.nan
    out["mean"] = sum(ordered) / len(ordered) * 1000.0 if ordered else math.nan
    return out


@dataclass
class Outcome:
    """What happened to one request: its intended time, its end, and an error kind or None."""

    intended: float
    ended: float = math.nan
    error: str | None = None
    status: int = 0

    @property
    def latency(self) -> float:
        return self.ended - self.intended


@dataclass
class Run:
    """Every request's outcome, and how late the scheduler itself dispatched them."""

    start: float
    warmup: float
    duration: float
    offered_rate: float
    outcomes: list[Outcome] = field(default_factory=list)
    dispatch_lag: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The figures of the measured window [start + warmup, start + warmup + duration)."""
        lo = self.start + self.warmup
        hi = lo + self.duration
        measured = [o for o in self.outcomes if lo <= o.intended < hi]
        ok = [o for o in measured if o.error is None]
        errors = Counter(o.error for o in measured if o.error is not None)
        done_in_window = sum(1 for o in self.outcomes if o.error is None and lo <= o.ended < hi)
        lag = sorted(self.dispatch_lag)
        by_status: dict[str, list[float]] = {}
        for o in measured:
            if o.status:
                by_status.setdefault(str(o.status), []).append(o.latency)
        answered = [o.latency for o in measured if o.error != "not_sent"]
        return {
            "offered_rate": self.offered_rate,
            "duration_s": self.duration,
            "warmup_s": self.warmup,
            "requests": len(measured),
            "ok": len(ok),
            "errors": dict(errors),
            "error_count": sum(errors.values()),
            "error_rate": sum(errors.values()) / len(measured) if measured else 1.0,
            "achieved_rate": done_in_window / self.duration if self.duration > 0 else 0.0,
            "latency_ms": latency_summary([o.latency for o in ok]),
            "statuses": dict(Counter(str(o.status) for o in measured if o.status)),
            # The overload scenario reads accepted (201) and shed (503) answers apart, and the
            # worst wait of anything sent (timeouts included: their end is the client's give-up).
            "latency_by_status_ms": {k: latency_summary(v) for k, v in sorted(by_status.items())},
            "worst_ms": max(answered) * 1000.0 if answered else math.nan,
            "dispatch_lag_ms": {"p99": percentile(lag, 99) * 1000.0, "max": lag[-1] * 1000.0}
            if lag
            else {},
        }


async def _one(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    expect: int,
    outcome: Outcome,
) -> None:
    try:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            outcome.status = response.status
            if response.status != expect:
                outcome.error = f"http_{response.status}"
    except TimeoutError:
        outcome.error = "timeout"
    except aiohttp.ClientError as exc:
        outcome.error = type(exc).__name__
    finally:
        outcome.ended = time.monotonic()


async def run_load(
    urls: Sequence[str],
    rate: float,
    duration: float,
    warmup: float,
    body: bytes,
    headers: dict[str, str],
    *,
    max_inflight: int = 256,
    timeout: float = 5.0,  # noqa: ASYNC109 - per request, handed to aiohttp
    expect: int = 201,
) -> Run:
    """Offer ``rate`` requests/s for ``warmup + duration`` seconds; return every outcome."""
    loop = asyncio.get_running_loop()
    offsets = schedule(rate, warmup + duration)
    connector = aiohttp.TCPConnector(limit=max_inflight, force_close=False)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    headers = {"Content-Type": "application/json", **headers}
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        start = time.monotonic() + 0.05
        run = Run(start, warmup, duration, rate)
        inflight: set[asyncio.Task[None]] = set()
        index = 0
        while index < len(offsets):
            now = time.monotonic()
            while index < len(offsets) and start + offsets[index] <= now:
                outcome = Outcome(start + offsets[index])
                run.outcomes.append(outcome)
                run.dispatch_lag.append(now - outcome.intended)
                if len(inflight) >= max_inflight:
                    outcome.error, outcome.ended = "not_sent", now
                else:
                    url = urls[index % len(urls)]
                    task = loop.create_task(_one(session, url, body, headers, expect, outcome))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
                index += 1
            if index < len(offsets):
                await asyncio.sleep(max(0.0, start + offsets[index] - time.monotonic()))
        if inflight:
            _, pending = await asyncio.wait(set(inflight), timeout=timeout + 1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    for outcome in run.outcomes:
        if math.isnan(outcome.ended):
            outcome.error, outcome.ended = "unfinished", time.monotonic()
    return run


def run_fast(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop where it exists (as multicart serves), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Linux/macOS have it
        return asyncio.run(coro)
    return uvloop.run(coro)


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"header must be 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", action="append", required=True, help="target (repeatable)")
    parser.add_argument("--rate", type=float, required=True, help="offered requests per second")
    parser.add_argument("--duration", type=float, required=True, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--body-file", required=True, help="JSON body POSTed by every request")
    parser.add_argument("--header", action="append", type=parse_header, default=[])
    parser.add_argument("--max-inflight", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=5.0, help="per request, seconds")
    parser.add_argument("--expect", type=int, default=201, help="the status that counts as ok")
    args = parser.parse_args(argv)
    if not 0 < args.rate <= 100_000 or not 0 < args.duration <= 600 or args.warmup > 600:
        parser.error("rate must be in (0, 100000], duration in (0, 600] s, warmup <= 600 s")
    with open(args.body_file, "rb") as handle:
        body = handle.read()
    run = run_fast(
        run_load(
            args.url,
            args.rate,
            args.duration,
            args.warmup,
            body,
            dict(args.header),
            max_inflight=args.max_inflight,
            timeout=args.timeout,
            expect=args.expect,
        )
    )
    sys.stdout.buffer.write(orjson.dumps(run.summary()) + b"\n")


if __name__ == "__main__":
    main()
