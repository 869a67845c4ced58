"""The last part of `make demo`: an app that turns hostile, and the others still served.

9. a greedy app opens 64 connections, each sending a create body a byte at a time (the attack
   that once took every in-flight slot): the demo's own app still creates a cart, ``/healthz``
   still answers; past its share (48 of 64) the greedy app's connections are answered 429 at
   once, and each of the others 408 and closed once its body's time bound (2 s in the demo, 5 s
   by default, and its length at 16 KiB/s) has passed; then the greedy app, sending requests
   back to back, meets its rate (``MULTICART_APP_RATE_LIMIT``, 100/s): 429 with
   ``Retry-After``; and someone guessing the admin token meets the failed-authentication
   throttle (20 a minute per address): 429, the right token included, so it runs last.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from examples.client import Multicart
from examples.slow_clients import SlowBodies

Show = Callable[..., None]
Check = Callable[[bool, str], None]
SLOW = 64
SHARE = 48  # one app's share of the 64 in-flight slots (MULTICART_APP_IN_FLIGHT_RESERVE 0.25)
WAIT_S = 15.0  # every wait below is polled, bounded by this


def _bodies_reading(api: Multicart) -> float:
    found = re.search(r"^multicart_http_bodies_reading (\S+)$", api.http.get("/metrics").text, re.M)
    return float(found.group(1)) if found else -1.0


def _poll(what: Callable[[], bool]) -> bool:
    ends = time.monotonic() + WAIT_S
    while time.monotonic() < ends:
        if what():
            return True
        time.sleep(0.1)  # pacing the poll
    return what()


def hostile_app(admin: Multicart, api: Multicart, skus: list[tuple[str, int]],
                show: Show, check: Check) -> None:  # fmt: skip
    greedy_key = admin.create_app("greedy")["api_key"]
    attack = SlowBodies(api.base_url, greedy_key, SLOW, every_s=0.5)
    try:
        trickling = _poll(lambda: _bodies_reading(api) == SHARE)
        started = time.perf_counter()
        created = api.create_cart_response(skus)
        took_ms = (time.perf_counter() - started) * 1000
        healthz = api.http.get("/healthz").status_code
        show(
            f"9. a greedy app trickling {SLOW} create bodies a byte at a time",
            {
                "bodies being read, the app's share (holding no slot)": _bodies_reading(api),
                "our app's create meanwhile": f"HTTP {created.status_code} in {took_ms:.0f} ms",
                "/healthz": healthz,
            },
        )
        check(trickling and created.status_code == 201, "our app is served during the attack")
        check(healthz == 200, "/healthz tells the truth")
        attack.stop()
        endings = attack.endings(within_s=WAIT_S)
    finally:
        attack.close()
    answered = [e.decode(errors="replace") for e in endings]
    show("   how the slow connections ended", {a: answered.count(a) for a in sorted(set(answered))})
    check(
        sorted(e.split(b" ")[1] for e in endings if e)
        == [b"408"] * SHARE + [b"429"] * (SLOW - SHARE),
        "past its share 429 at once; the others 408 and closed when their time was up",
    )

    greedy = httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {greedy_key}"})
    with greedy:
        statuses = [greedy.get("/v1/carts") for _ in range(150)]  # bounded: 1.5x the rate
    limited = [r for r in statuses if r.status_code == 429]
    first: dict[str, Any] = {}
    if limited:
        first = {"body": limited[0].json(), "Retry-After": limited[0].headers["Retry-After"]}
    show(f"   the greedy app's 150 requests back to back: {len(limited)} answered 429", first)
    check(
        bool(limited) and first["body"]["data"] == {"reason": "rate"},
        "past its rate, 429 rate_limited with Retry-After",
    )

    with httpx.Client(base_url=api.base_url) as guesser:
        guesses = [
            guesser.get("/v1/admin/outbox", headers={"Authorization": f"Bearer guess-{n}"})
            for n in range(25)
        ]
    codes = [g.status_code for g in guesses]
    right = api.http.get("/healthz")  # routes without authentication are never throttled
    told = ", ".join(f"{codes.count(c)} x {c}" for c in sorted(set(codes)))
    show("   25 guesses at the admin token", {"answers": told, "then /healthz": right.status_code})
    check(codes[:20] == [401] * 20 and set(codes[20:]) == {429}, "guesses throttled after 20")
