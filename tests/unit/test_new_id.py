"""Minted ids: their shape, no repeats, and none shared by a forked worker and its parent."""

from __future__ import annotations

import os
import re

from orchestrator.service.secrets import _POOL, new_id


def test_ids_have_a_prefix_and_80_random_bits() -> None:
    ids = [new_id("cart") for _ in range(2000)]  # crosses several 4 KiB pool refills
    assert all(re.fullmatch(r"cart_[0-9a-f]{20}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_replay_the_parents_pool() -> None:
    new_id("warm")  # the pool holds bytes now: a child inheriting them would repeat them
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent, then out without cleanup
        try:
            os.write(write, " ".join(new_id("x") for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {new_id("x") for _ in range(50)}
    assert len(child) == 50
    assert not child & parent


def test_the_pool_refills_when_it_runs_out() -> None:
    _POOL.clear()
    first = _POOL.take(10)
    assert len(first) == 10 and _POOL.take(4086) != b""
    assert _POOL.take(10) != first  # a fresh read past the end
