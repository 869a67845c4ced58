"""One engine's soak: the stack up, the phases driven, the invariant counted, the verdict built.

``python -m bench.soak`` runs it per engine, and the short test in ``make test`` calls
``run_engine`` directly with the ``SHORT`` profile, so both exercise the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson

from bench.soak.audit import audit, kill_points, read_db, sandbox_carts, settle
from bench.soak.faults import MATRIX, FaultPlan
from bench.soak.report import Result, build
from bench.soak.stack import SoakStack, postgres_database
from bench.soak.traffic import Traffic

REPO = Path(__file__).resolve().parents[2]
CREATE_DEADLINE_S = 3.0
REQUEST_DEADLINE_S = 3.0
SETTLE_MARGIN_S = 5.0  # the reconciler's own, past a create's deadline (reconciler.py)
SETTINGS = {
    "create_deadline_s": str(CREATE_DEADLINE_S),
    "request_deadline_s": str(REQUEST_DEADLINE_S),
    "platform_connect_timeout_s": "0.5",
    "platform_attempt_timeout_s": "1.0",
    "platform_retry_after_cap_s": "0.5",
    "external_delete_retry_s": "0.3",  # the reconciler's interval
    "circuit_reset_s": "2",
    "log_level": "WARNING",  # failed bags and the reconciler's work still logged
    "allow_private_platform_urls": "true",  # the sandbox is plain http on loopback
    "app_rate_limit": "1000000/second",  # the soak's one app is the whole traffic
}


@dataclass(frozen=True)
class Profile:
    name: str
    compare_rate: float  # logical creates/s in the warm-up, healthy and degraded phases
    rate: float  # in the faults and kills phases
    warmup_s: float
    healthy_s: float
    degraded_s: float
    faults_s: float
    kills_s: float
    kills: int
    settle_bound_s: float


FULL = Profile("full", 12.0, 8.0, 8.0, 30.0, 30.0, 48.0, 32.0, 5, 60.0)
SHORT = Profile("short", 5.0, 5.0, 1.0, 3.0, 3.0, 8.0, 6.0, 2, 25.0)


async def _rotate(plan: FaultPlan, slot_s: float, first: int) -> None:
    """Move every store to its next matrix slot every ``slot_s``, until cancelled."""
    slot = first
    while True:
        await plan.matrix_slot(slot)
        slot += 1
        await asyncio.sleep(slot_s)


async def _kill_loop(
    stack: SoakStack, traffic: Traffic, seconds: float, kills: int, rng: random.Random
) -> tuple[Counter[str], int]:
    """SIGKILL a live serve process at random moments; classify what was in flight; restart."""
    points: Counter[str] = Counter()
    gap = seconds / (kills + 1)
    done = 0
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(0.5 * gap, 1.2 * gap))
        live = [s for s in stack.serves if s.up]
        if not live:
            continue
        serve = rng.choice(live)
        for _ in range(40):  # a moment when it has a create in flight, if one comes within 2 s
            if any(
                kind in ("create", "retry") for _, kind in traffic.inflight[serve.name].values()
            ):
                break
            await asyncio.sleep(0.05)
        caught = {
            lg.id
            for lg, kind in traffic.inflight[serve.name].values()
            if kind in ("create", "retry")
        }
        stack.kill(serve)
        done += 1
        await asyncio.sleep(0.4)  # the platform calls already sent land (or not)
        db = await read_db(stack.database_url)
        held = await asyncio.to_thread(sandbox_carts, stack.sandbox_proc.url)
        points.update(kill_points(db, held, caught, stack.stores))
        await stack.restart(serve)
    return points, done


async def drive(stack: SoakStack, profile: Profile, platform: str, seed: int) -> Result:
    rng = random.Random(seed)
    began = time.monotonic()
    connector = aiohttp.TCPConnector(limit=256, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        traffic = Traffic(stack, session, rng, CREATE_DEADLINE_S, REQUEST_DEADLINE_S)
        plan = FaultPlan(session, stack.sandbox_proc.url, stack.stores, rng)
        await plan.healthy()
        # Unmeasured: first connections, Elastic Path tokens, caches, before the baseline.
        await traffic.run_phase("warm-up", profile.warmup_s, profile.compare_rate)
        # Healthy, degraded, healthy again (A-B-A): drift on a shared machine hits the
        # baseline on both sides of the 503 phase, not only before it.
        await traffic.run_phase("healthy", profile.healthy_s / 2, profile.compare_rate)
        await plan.degrade(platform)
        await traffic.run_phase("degraded", profile.degraded_s, profile.compare_rate)
        await plan.healthy()
        await traffic.run_phase("healthy-after", profile.healthy_s / 2, profile.compare_rate)
        slot_s = (profile.faults_s + profile.kills_s) / (2 * len(MATRIX))
        rotator = asyncio.create_task(_rotate(plan, slot_s, rng.randrange(len(MATRIX))))
        try:
            await traffic.run_phase("faults", profile.faults_s, profile.rate)
            killer = asyncio.create_task(
                _kill_loop(stack, traffic, profile.kills_s, profile.kills, rng)
            )
            await traffic.run_phase("kills", profile.kills_s, profile.rate)
            points, kill_count = await killer
        finally:
            rotator.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rotator
        await plan.clear()
        settled = await settle(
            stack.database_url,
            min_s=CREATE_DEADLINE_S + SETTLE_MARGIN_S + 2.0,
            stable_s=3.0,
            bound_s=profile.settle_bound_s,
        )
    db = await read_db(stack.database_url)
    held = await asyncio.to_thread(sandbox_carts, stack.sandbox_proc.url)
    counted = audit(db, held, stack.stores)
    with (stack.workdir / "requests.jsonl").open("wb") as out:  # every request, to dig into
        for sent in traffic.sent:
            out.write(orjson.dumps(sent, default=sorted) + b"\n")
    engine = f"{'sqlite' if 'sqlite' in stack.database_url else 'postgresql'}"
    return build(
        f"{engine} ({len(stack.serves)} serve process{'es' if len(stack.serves) > 1 else ''})",
        traffic,
        db,
        counted,
        platform=platform,
        kills=points,
        kill_count=kill_count,
        settled=settled,
        elapsed_s=time.monotonic() - began,
    )


def run_engine(
    database_url: str,
    processes: int,
    workdir: Path,
    profile: Profile = SHORT,
    platform: str = "BIGCOMMERCE",
    seed: int = 1,
) -> Result:
    """One engine's soak on ``database_url`` (created, empty): processes started and stopped."""
    workdir.mkdir(parents=True, exist_ok=True)
    stack = SoakStack.launch(workdir, database_url, processes, SETTINGS)
    try:
        return asyncio.run(drive(stack, profile, platform, seed))
    finally:
        stack.close()


@contextlib.contextmanager
def engine_database(engine: str, workdir: Path, pg_url: str) -> Iterator[tuple[str, int]]:
    """(database URL, serve processes) for ``engine``: a SQLite file, or a fresh PostgreSQL
    database dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'soak.db'}", 1
        return
    with postgres_database(pg_url) as url:
        yield url, 2
