"""``python -m bench --profile RATE``: where ``multicart serve``'s event loop spends its time.

The server runs under pyinstrument while the load generator offers 3-bag carts; the session is
rendered (pstats, text, HTML) and the busy time is broken down by package and by multicart's own
functions. A module of its own (not ``profile``): ``Profile`` already names a run's length.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.figures import MC
from bench.scenarios import QUICK, REPO, Runner
from bench.stack import SERVE_SETTINGS, Stack, register, start_sandboxes
from tests.support.launch import migrate, orchestrator_env, start


def profile(workdir: Path, rate: float, seconds: float) -> Path:
    """Run ``multicart serve`` (SQLite) under pyinstrument while 3-bag carts arrive at ``rate``;
    print where its busy time goes and write the session, a text tree and HTML to ``workdir``."""
    session = workdir / "multicart.pyisession"
    env = orchestrator_env(f"sqlite+aiosqlite:///{workdir / 'profile.db'}", **SERVE_SETTINGS)
    migrate(env)
    with Stack(workdir) as stack:
        start_sandboxes(stack, 50)
        argv = [sys.executable, "-m", "pyinstrument", "-i", "0.001", "-r", "pyisession"]
        argv += ["-o", str(session), "-m", "orchestrator.cli", "serve", "--host", "127.0.0.1"]
        mc = stack.keep(start("multicart-profiled", [*argv, "--port", "0"], env, workdir))
        reg = register(mc.url, env["MULTICART_ADMIN_TOKEN"], stack.sandboxes, workdir, "prof")
        runner = Runner(QUICK, before_run=stack.reset_sandboxes)
        result = runner.load(reg.systems(MC, [mc.url])[0], rate, "3", seconds)
        lat = result["latency_ms"]
        print(f"  {rate:.0f}/s for {seconds:.0f} s: p50 {lat['p50']:.1f} ms, "
              f"p99 {lat['p99']:.1f} ms, errors {result['error_rate']:.4f}")  # fmt: skip
        stack.stop(mc)
    for renderer, options in (("pstats", ["-p", "processor_options.filter_threshold=0"]),
                              ("text", ["--show-all"]), ("html", [])):  # fmt: skip
        subprocess.run(  # noqa: S603 - our own venv's pyinstrument
            [sys.executable, "-m", "pyinstrument", "--load", str(session), "-r", renderer,
             *options, "-o", str(session.with_suffix("." + renderer))],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    shares(session)
    print(f"  text tree: {session.with_suffix('.text')}; HTML: {session.with_suffix('.html')}")
    return session


def shares(session_path: Path) -> None:
    """Print where the event loop's busy time went: own time by package, and time in and under
    each of multicart's functions (start-up and the idle loop left out)."""
    from pyinstrument.renderers.pstatsrenderer import PstatsRenderer
    from pyinstrument.session import Session

    renderer = PstatsRenderer(processor_options={"filter_threshold": 0})
    root: Any = renderer.preprocess(Session.load(str(session_path)).root_frame())
    loops: list[Any] = []
    stack = [root]
    while stack:
        frame = stack.pop()
        if (frame.file_path or "").endswith("asyncio/runners.py") and frame.line_no == 86:
            loops.append(frame)
        else:
            stack.extend(frame.children)
    by_package: dict[str, float] = {}
    by_function: dict[str, float] = {}
    ours: dict[tuple[str, int, str], float] = {}
    busy = 0.0

    def visit(frame: Any, seen: frozenset[tuple[str, int, str]]) -> None:
        nonlocal busy
        where = (frame.file_path or "<built-in>").replace(str(REPO) + "/", "")
        where = where.split("site-packages/")[-1]
        package = "stdlib" if "/lib/python3" in where else where.split("/")[0]
        by_package[package] = by_package.get(package, 0.0) + frame.total_self_time
        label = f"{frame.function} ({where.removesuffix('.py')})"
        by_function[label] = by_function.get(label, 0.0) + frame.total_self_time
        busy += frame.total_self_time
        key = (where, frame.line_no or 0, frame.function)
        if "/" in where and where.split("/")[0] in OWN_PACKAGES and key not in seen:
            ours[key] = ours.get(key, 0.0) + frame.time
            seen = seen | {key}
        for child in frame.children:
            if not child.is_synthetic:  # "[self]": already in its parent's total_self_time
                visit(child, seen)

    for loop in loops:
        for child in loop.children:
            if child.function != "_run_server" and not child.is_synthetic:
                visit(child, frozenset())
    if busy <= 0:
        print("  no busy time sampled")
        return
    idle = sum(loop.time for loop in loops) - busy
    print(f"event loop busy {busy:.1f} s, idle {idle:.1f} s; shares of the busy time:")
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:14]
    print("  own time by package: " + ", ".join(f"{n} {100 * t / busy:.0f}%" for n, t in ranked))
    ranked = sorted(by_function.items(), key=lambda kv: -kv[1])[:12]
    print("  top own time: " + ", ".join(f"{n} {100 * t / busy:.1f}%" for n, t in ranked))
    print("  time in and under multicart's functions:")
    for (where, line, func), seconds in sorted(ours.items(), key=lambda kv: -kv[1])[:32]:
        print(f"    {100 * seconds / busy:5.1f}%  {func}  {where}:{line}")


OWN_PACKAGES = ("orchestrator", "adapters", "bags", "config", "errors")
