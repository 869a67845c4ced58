"""Pre-fork: ``multicart serve --workers N`` runs N processes that accept on one listening socket.

The parent binds the socket, forks N children that each run the whole app on it, forwards
SIGTERM/SIGINT to them (``GRACE_S``, then SIGKILL), and exits 1 when a child dies on its own
instead of restarting it; the background workers claim their work in the database, so N copies
never work one item twice. Why, and what it measured: docs/decisions/0014-pre-fork-workers.md.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable

import structlog

GRACE_S = 30.0  # how long stopping children may take before SIGKILL (in-flight requests end)
READY_TIMEOUT_S = 60.0  # how long the children may take to start serving
_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}

# A child's work: serve on the socket, call ``ready()`` once accepting; its exit status.
Child = Callable[[socket.socket, int, Callable[[], None]], int]


class WorkersFailed(Exception):
    """A child died before the workers were all serving; the message says which and how."""


def bind(host: str, port: int, backlog: int = 128) -> socket.socket:
    """The listening socket the children share (OSError when the address cannot be had)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    sock = socket.create_server((host, port), family=family, backlog=backlog)
    sock.set_inheritable(True)
    return sock


def run_workers(
    sock: socket.socket,
    count: int,
    child: Child,
    on_ready: Callable[[list[int]], None],
    *,
    grace_s: float = GRACE_S,
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> int:
    """Fork ``count`` children running ``child``; supervise them until a signal or a death.

    ``on_ready(pids)`` runs once every child is serving. Returns the parent's exit status: 0
    after a requested stop in which every child exited 0, else 1. Raises ``WorkersFailed``
    when a child dies (or none is ready in time) before all are serving.
    """
    log = structlog.get_logger("multicart")
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    previous_chld = signal.signal(signal.SIGCHLD, lambda *_: None)  # blocked: never runs
    readiness, ready_w = os.pipe()
    parent = os.getpid()
    children: dict[int, int] = {}  # pid -> worker index
    try:
        for index in range(count):
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(readiness)
                _child_main(sock, index, child, ready_w, parent, previous_mask)
            children[pid] = index
        os.close(ready_w)
        try:
            _await_ready(readiness, children, count, ready_timeout_s)
        except WorkersFailed:
            _stop(children, grace_s)
            raise
        on_ready(sorted(children))
        log.info("workers_started", workers=count, pids=sorted(children))
        return _supervise(children, grace_s, log)
    finally:
        os.close(readiness)
        signal.signal(signal.SIGCHLD, previous_chld)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _child_main(
    sock: socket.socket,
    index: int,
    child: Child,
    ready_w: int,
    parent: int,
    mask: set[int | signal.Signals],
) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _die_with_parent(parent)

        def ready() -> None:
            os.write(ready_w, b"r")
            os.close(ready_w)

        code = child(sock, index, ready)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # reported as one log line (processes share stderr), then the status
        structlog.get_logger("multicart").exception("worker_failed", worker=index)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _die_with_parent(parent: int) -> None:
    """Linux: SIGTERM this child when the parent dies (a parent already gone: stop now)."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))
    if os.getppid() != parent:
        os._exit(1)


def _await_ready(readiness: int, children: dict[int, int], count: int, timeout_s: float) -> None:
    """Block until ``count`` children wrote their byte; ``WorkersFailed`` if one died first."""
    seen = 0
    ends = time.monotonic() + timeout_s
    while seen < count:
        if time.monotonic() > ends:
            raise WorkersFailed(f"{count - seen} of {count} workers not serving in {timeout_s:g} s")
        readable, _, _ = select.select([readiness], [], [], 0.05)
        if readable:
            seen += len(os.read(readiness, count))
        for pid, status in _reap(children):
            raise WorkersFailed(f"worker {children.pop(pid)} (pid {pid}) {_how(status)}")
        if signal.sigtimedwait({signal.SIGTERM, signal.SIGINT}, 0) is not None:
            raise WorkersFailed("stopped by a signal while the workers were starting")


def _supervise(children: dict[int, int], grace_s: float, log: structlog.BoundLogger) -> int:
    while True:
        info = signal.sigwaitinfo(_SIGNALS)
        if info.si_signo in (signal.SIGTERM, signal.SIGINT):
            log.info("workers_stopping", signal=signal.Signals(info.si_signo).name)
            return 0 if _stop(children, grace_s) else 1
        for pid, status in _reap(children):
            log.error("worker_died", worker=children.pop(pid), pid=pid, how=_how(status))
            _stop(children, grace_s)
            return 1


def _stop(children: dict[int, int], grace_s: float) -> bool:
    """SIGTERM every child, wait ``grace_s`` (then SIGKILL); True if all exited 0."""
    clean = True
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    ends = time.monotonic() + grace_s
    while children:
        for pid, status in _reap(children):
            children.pop(pid)
            clean = clean and os.waitstatus_to_exitcode(status) == 0
        if not children:
            break
        left = ends - time.monotonic()
        if left <= 0:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for pid in list(children):
                os.waitpid(pid, 0)
                children.pop(pid)
            return False
        # A second SIGTERM/SIGINT while stopping is taken here too (it would otherwise stay
        # pending and kill the parent when the signal mask is restored).
        signal.sigtimedwait(_SIGNALS, min(left, 0.5))
    return clean


def _reap(children: dict[int, int]) -> list[tuple[int, int]]:
    """(pid, wait status) of every child that has exited, without blocking."""
    done = []
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            got, status = os.waitpid(pid, os.WNOHANG)
            if got:
                done.append((got, status))
    return done


def _how(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
