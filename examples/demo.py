"""`make demo`: the sandbox and multicart as real processes on a temporary SQLite file.

It registers the sandbox's stores (Shopify, BigCommerce and Elastic Path) as merchants, then
shows, in order:
1. a cart across the three platforms, each bag with its platform, external cart id and checkout
   URL (Elastic Path has no hosted checkout page: its checkout is an API call);
2. a 3-merchant cart where each platform fails in its own way (a Shopify stock warning, a
   BigCommerce 429 waited out, Elastic Path's insufficient stock): the cart-level ``errors``;
3. a single-bag cart against a store down for maintenance (503): retries, then the 2503
   exception (a 500 would not be re-sent: it may have made the cart);
4. a delete, after which the sandbox holds none of that cart's external carts (Shopify has no
   cart delete: its cart is emptied and expires there on its own);
5.-7. a cart's later life and /metrics (``demo_lifecycle.py``);
8. a dead letter, listed and requeued by the operator (``demo_recovery.py``);
9. a hostile app: its slow bodies starve nobody, its rate is bounded, and guessing the admin
   token is throttled (``demo_hostile.py``).
It exits 0 when every step behaved as described, and leaves no process running.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bags import from_minor_units
from examples.client import Multicart, Sandbox, register_sandbox
from examples.demo_hostile import hostile_app
from examples.demo_lifecycle import fill_a_cart, resume_by_reference, show_metrics
from examples.demo_recovery import dead_letter_requeued
from tests.support.launch import sandbox_and_multicart

PLATFORMS = ("SHOPIFY", "BIGCOMMERCE", "ELASTIC_PATH")
BC, SHOPIFY, EP = "outdoors1", "threads4", "garden6"  # one sandbox store of each platform


def show(title: str, value: Any = None) -> None:
    print(f"\n=== {title}")
    if value is not None:
        print(json.dumps(value, indent=2) if not isinstance(value, str) else value)


def money(minor: int, currency: str) -> str:
    """Minor units as the shopper reads them, beside the integer the API carries."""
    amount = from_minor_units(minor, currency)
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    shown = f"{symbol}{amount:,}" if symbol else f"{amount:,} {currency}"
    return f"{shown} ({minor})"


def summary(cart: dict[str, Any]) -> dict[str, Any]:
    cur = cart["currency"]
    return {
        "id": cart["id"],
        "status": cart["status"],
        "sub_total": money(cart["sub_total"], cur),
        "bags": [
            {
                "merchant": b["merchant_name"],
                "platform": b["platform"],
                "status": b["status"],
                "external_id": b["external_id"],
                "checkout_url": b["checkout_url"],
                "sub_total": money(b["sub_total"], cur),
                "skus": [
                    f"{s['quantity']} x {s['name']} @ {money(s['price'], cur)}" for s in b["skus"]
                ],
            }
            for b in cart["bags"]
        ],
        "errors": [
            {k: e[k] for k in ("platform", "entity_id", "type", "cause", "message")}
            for e in cart["errors"]
        ],
    }


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"demo failed: {what}")
    print(f"  ok: {what}")


def run(workdir: Path) -> None:
    processes = sandbox_and_multicart(
        workdir,
        "demo.db",
        create_deadline_s="5",
        # Step 8 shows a dead letter: given up after 2 s of failures, not 36 h, retried often.
        outbox_give_up_after_s="2",
        external_delete_retry_s="0.5",
        # Step 9's slow bodies are answered 408 after 2 s (and their length), not 5.
        body_timeout_s="2",
    )
    with processes as (sandbox_proc, api_proc):
        show("sandbox", sandbox_proc.url)
        show("multicart", api_proc.url)
        admin = Multicart(api_proc.url, admin_token=api_proc.env["MULTICART_ADMIN_TOKEN"])
        sandbox = Sandbox(sandbox_proc.url)
        stores = register_sandbox(admin, sandbox, PLATFORMS)
        app = admin.create_app("demo-shop")
        api = admin.as_app(app["api_key"])
        show(
            "registered",
            {
                s: {"merchant_id": v["merchant_id"], "skus": len(v["skus"])}
                for s, v in stores.items()
            },
        )
        cart = one_cart_across_platforms(api, stores)
        each_platform_failing(api, sandbox, stores)
        a_store_down(api, sandbox, stores)
        delete_the_cart(api, sandbox, cart)
        fill_a_cart(api, sandbox, stores, show, check, BC, SHOPIFY)
        resume_by_reference(api, sandbox, stores, show, check, "kitchen2")
        show_metrics(api, sandbox, stores, show, check, BC)
        dead_letter_requeued(admin, api, sandbox, stores, show, check, BC)
        hostile_app(admin, api, [(stores[BC]["skus"]["p0"], 1)], show, check)
    print("\ndemo finished: every step behaved as described; processes stopped.")


def one_cart_across_platforms(api: Multicart, stores: dict[str, Any]) -> dict[str, Any]:
    """Step 1: a cart across the three platforms (returned: step 4 deletes it)."""
    bc, shopify, ep = stores[BC], stores[SHOPIFY], stores[EP]
    cart: dict[str, Any] = api.create_cart(
        [(bc["skus"]["p0"], 2), (shopify["skus"]["p0"], 1), (ep["skus"]["p0"], 3)],
        customer_id="shopper-1",
        name="Weekend project",
    )
    show("1. one cart across Shopify, BigCommerce and Elastic Path", summary(cart))
    check(
        sorted(b["platform"] for b in cart["bags"]) == sorted(PLATFORMS)
        and all(b["status"] == "IN_PROGRESS" and b["external_id"] for b in cart["bags"]),
        "three bags, one per platform, each with its external cart",
    )
    check(
        all(b["checkout_url"] for b in cart["bags"] if b["platform"] != "ELASTIC_PATH"),
        "the Shopify and BigCommerce bags have checkout URLs",
    )
    return cart


def each_platform_failing(api: Multicart, sandbox: Sandbox, stores: dict[str, Any]) -> None:
    """Step 2: a 3-merchant cart where each platform fails in its own way."""
    sandbox.fault(BC, "rate_limit", count=1, reset_ms=300)
    mixed = api.create_cart(
        [
            (stores[BC]["skus"]["p1"], 1),
            (stores[SHOPIFY]["skus"]["p2"], 3),  # Organic Tee (L): 2 in stock
            (stores[EP]["skus"]["p2"], 5),  # Planter (Large): 3 in stock
        ]
    )
    show("2. each platform failing in its own way: the errors array", summary(mixed))
    bc_seen = [r.get("status") for r in sandbox.requests(BC) if r["method"] == "POST"]
    show("   what BigCommerce's store saw", bc_seen[-2:])
    causes = sorted((e["platform"], e["cause"]) for e in mixed["errors"])
    check(
        causes == [("ELASTIC_PATH", "OUT_OF_STOCK"), ("SHOPIFY", "OUT_OF_STOCK")],
        "Shopify's stock warning and Elastic Path's insufficient stock, one error each",
    )
    check(bc_seen[-2:] == [429, 201], "BigCommerce's 429 was waited out: one cart")


def a_store_down(api: Multicart, sandbox: Sandbox, stores: dict[str, Any]) -> None:
    """Step 3: a single-bag cart against a store down for maintenance (503)."""
    sandbox.fault(BC, "error", status=503)  # down for maintenance: safe to send again
    failing = api.create_cart_response([(stores[BC]["skus"]["p1"], 1)])
    attempts = [r for r in sandbox.requests(BC) if r["method"] == "POST"][-3:]
    sandbox.clear_faults()
    show(
        f"3. a single-bag cart against a store answering 503: HTTP {failing.status_code}",
        failing.json(),
    )
    show(
        "   what the store saw",
        [f"{r['method']} {r['path']} -> {r['status']}" for r in attempts],
    )
    check(
        failing.status_code == 502 and failing.json()["code"] == 2503,
        "HTTP 502 with code 2503 external_cart_creation_failure after retries",
    )


def delete_the_cart(api: Multicart, sandbox: Sandbox, cart: dict[str, Any]) -> None:
    """Step 4: after a delete, the sandbox holds none of the cart's external carts' lines."""
    api.delete_cart(cart["id"])
    external_ids = {b["external_id"] for b in cart["bags"]}
    held = [c for store in (BC, SHOPIFY, EP) for c in sandbox.carts(store)]
    remaining = sorted(c["id"] for c in held if c["id"] in external_ids and c["lines"])
    emptied = sorted(c["id"] for c in held if c["id"] in external_ids and not c["lines"])
    show(
        "4. delete the cart",
        {"external carts left holding lines": remaining, "emptied (Shopify)": emptied},
    )
    check(not remaining, "no external cart of the deleted cart holds anything")
    check(api.http.get(f"/v1/carts/{cart['id']}").status_code == 404, "the cart answers 404")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="multicart-demo-") as tmp:
        try:
            run(Path(tmp))
        except BaseException:
            for log in Path(tmp).glob("*.log"):
                print(f"\n--- {log.name} (tail)\n{log.read_text()[-2000:]}", file=sys.stderr)
            raise


if __name__ == "__main__":
    main()
