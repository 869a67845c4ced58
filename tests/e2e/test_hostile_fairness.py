"""Hostile clients against a real ``multicart serve``: one app cannot starve another.

The issue's finding, reproduced on the shared e2e stack (default ``MULTICART_MAX_IN_FLIGHT`` of
64): 64 connections from one app, each declaring a 1,000-byte create body and sending a byte
every 0.5 s, used to hold every in-flight slot while their bodies trickled in. Here the other
app's creates are served while those connections are open, ``/healthz`` says so, and each slow
connection past the app's share of 48 is answered 429 at once, and each of the others 408 and
closed once its body's time bound has passed. The latency
comparison (p99 with and without the attack) is ``python -m bench.hostile``'s, not a test's.
"""

from __future__ import annotations

import re

from examples.client import Multicart
from examples.slow_clients import SlowBodies
from tests.e2e.conftest import Stack, wait_until

SLOW = 64
SHARE = 48  # MULTICART_APP_IN_FLIGHT_RESERVE 0.25 of MULTICART_MAX_IN_FLIGHT 64: one app's


def bodies_reading(app: Multicart) -> float:
    metrics = app.http.get("/metrics").text
    found = re.search(r"^multicart_http_bodies_reading (\S+)$", metrics, re.M)
    return float(found.group(1)) if found else -1.0


def test_an_app_trickling_64_bodies_leaves_another_app_served(e2e: Stack) -> None:
    attacker = e2e.admin.create_app("attacker")["api_key"]
    victim = e2e.new_app("victim")
    store = e2e.store_names()[0]
    skus = [(e2e.stores[store]["skus"]["p0"], 1)]
    attack = SlowBodies(e2e.api_proc.url, attacker, SLOW, every_s=0.5)
    try:
        # Its share of bodies are read (holding no slot); the rest are refused at once.
        assert wait_until(lambda: bodies_reading(victim) == SHARE, timeout=10)
        answers = [victim.create_cart_response(skus).status_code for _ in range(10)]
        assert answers == [201] * 10
        assert victim.http.get("/healthz").status_code == 200
        assert bodies_reading(victim) == SHARE  # still trickling while the victim was served
        attack.stop()
        # 2 s (the stack's MULTICART_BODY_TIMEOUT_S) + 1,000 B at 16 KiB/s: answered, closed.
        endings = attack.endings(within_s=15)
    finally:
        attack.close()
    statuses = sorted(e.split(b" ")[1] for e in endings if e)
    assert statuses == [b"408"] * SHARE + [b"429"] * (SLOW - SHARE), set(endings)
    assert wait_until(lambda: bodies_reading(victim) == 0, timeout=5)
