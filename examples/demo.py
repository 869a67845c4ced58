"""`make demo`: the sandbox and multicart as real processes on a temporary SQLite file.

It registers the sandbox's BigCommerce stores as merchants, then shows, in order:
1. a 3-merchant cart, each bag with its external cart id and checkout URL;
2. a 2-merchant cart where one SKU is out of stock: the cart-level ``errors`` array;
3. a single-bag cart against a store answering 500: retries, then the 2503 exception;
4. a delete, after which the sandbox holds none of that cart's external carts.
It exits 0 when every step behaved as described, and leaves no process running.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from examples.client import Multicart, Sandbox, register_sandbox
from examples.launch import migrate, orchestrator_env, running, start_orchestrator, start_sandbox


def show(title: str, value: Any = None) -> None:
    print(f"\n=== {title}")
    if value is not None:
        print(json.dumps(value, indent=2) if not isinstance(value, str) else value)


def summary(cart: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": cart["id"],
        "status": cart["status"],
        "sub_total": cart["sub_total"],
        "bags": [
            {
                "merchant": b["merchant_name"],
                "status": b["status"],
                "external_id": b["external_id"],
                "checkout_url": b["checkout_url"],
                "sub_total": b["sub_total"],
                "skus": [f"{s['quantity']} x {s['name']} @ {s['price']}" for s in b["skus"]],
            }
            for b in cart["bags"]
        ],
        "errors": cart["errors"],
    }


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"demo failed: {what}")
    print(f"  ok: {what}")


def run(workdir: Path) -> None:
    sandbox_proc = start_sandbox(workdir)
    env = orchestrator_env(f"sqlite+aiosqlite:///{workdir / 'demo.db'}", create_deadline_s="5")
    migrate(env)
    api_proc = start_orchestrator(workdir, env)
    with running(sandbox_proc, api_proc):
        show("sandbox", sandbox_proc.url)
        show("multicart", api_proc.url)
        admin = Multicart(api_proc.url, admin_token=env["MULTICART_ADMIN_TOKEN"])
        sandbox = Sandbox(sandbox_proc.url)
        stores = register_sandbox(admin, sandbox)
        names = list(stores)
        app = admin.create_app("demo-shop")
        api = admin.as_app(app["api_key"])
        show(
            "registered",
            {
                s: {"merchant_id": v["merchant_id"], "skus": len(v["skus"])}
                for s, v in stores.items()
            },
        )

        first, second, third = (stores[n] for n in names[:3])
        cart = api.create_cart(
            [(first["skus"]["p0"], 2), (second["skus"]["p0"], 1), (third["skus"]["p0"], 1)],
            customer_id="shopper-1",
        )
        show("1. a 3-merchant cart: one external cart per bag", summary(cart))
        check(
            len(cart["bags"]) == 3 and all(b["status"] == "IN_PROGRESS" for b in cart["bags"]),
            "three bags, each with an external cart",
        )
        check(
            all(b["external_id"] and b["checkout_url"] for b in cart["bags"]),
            "every bag has an external id and a checkout URL",
        )

        mixed = api.create_cart([(first["skus"]["p1"], 1), (second["skus"]["out_of_stock"], 1)])
        show("2. one SKU out of stock in a 2-merchant cart: the errors array", summary(mixed))
        check(
            len(mixed["errors"]) == 1 and mixed["errors"][0]["cause"] == "OUT_OF_STOCK",
            "one order error, cause OUT_OF_STOCK",
        )

        sandbox.fault(names[2], "error", status=500)
        failing = api.create_cart_response([(third["skus"]["p1"], 1)])
        attempts = [r for r in sandbox.requests(names[2]) if r["method"] == "POST"][-3:]
        sandbox.clear_faults()
        show(
            f"3. a single-bag cart against a store answering 500: HTTP {failing.status_code}",
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

        external_ids = {b["external_id"] for b in cart["bags"]}
        api.delete_cart(cart["id"])
        remaining = {c["id"] for c in sandbox.carts()} & external_ids
        show(
            "4. delete the 3-merchant cart",
            {"external carts left on the platforms": sorted(remaining)},
        )
        check(not remaining, "no external cart of the deleted cart remains")
        check(api.http.get(f"/v1/carts/{cart['id']}").status_code == 404, "the cart answers 404")
    print("\ndemo finished: every step behaved as described; processes stopped.")


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
