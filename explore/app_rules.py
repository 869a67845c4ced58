"""The rules for what an app does: create, read, change lines, delete, retry, save, replay.

Each goes through the app (aiohttp's test client), starts as a ``Flight`` and may park at a gate
inside a platform call; a fault drawn with it is armed on the next call to the merchant it
names. ``replay`` sends a keyed request again and compares the answers.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import rule

from adapters.base import LineRequest
from explore.clock import CLOCK
from explore.faults import PlatformFault
from explore.invariants import ReplayDiffers
from explore.steps import LABELS, StepMachine, faults, indexes
from explore.stores import MERCHANTS
from explore.world import Answer, Flight, Request
from orchestrator.http.idempotency import KEEP_FOR


class AppRules(StepMachine):
    # --- the app's operations -------------------------------------------------------------

    @rule(
        merchants=st.lists(st.sampled_from(LABELS), min_size=1, max_size=3, unique=True),
        quantity=st.integers(1, 3),
        fault=faults,
        fault_on=indexes,
        keyed=st.booleans(),
    )
    def create_cart(
        self,
        merchants: list[str],
        quantity: int,
        fault: PlatformFault | None,
        fault_on: int,
        keyed: bool,
    ) -> None:
        if not self._step("create", len(merchants), fault):
            return
        self._arm(merchants[fault_on % len(merchants)], fault)
        skus = [{"sku_id": self.world.skus[m][0], "quantity": quantity} for m in merchants]
        self._request("create", Request("POST", "/v1/carts", {"skus": skus}, self._key(keyed)))

    @rule(cart=indexes)
    def read_cart(self, cart: int) -> None:
        """GET the cart (no platform call): the rules after it see its lines as they are."""
        found = self._cart(cart)
        if not self._step("read_cart") or found is None:
            return
        path = f"/v1/carts/{found['id']}"
        self.world.start_request("read_cart", Request("GET", path), found["id"])
        self._advance()

    @rule(cart=indexes, label=st.sampled_from(LABELS), sku=st.integers(0, 1), fault=faults)
    def add_sku(self, cart: int, label: str, sku: int, fault: PlatformFault | None) -> None:
        found = self._cart(cart)
        if not self._step("add_sku", fault) or found is None:
            return
        self._arm(label, fault)
        body = {"sku_id": self.world.skus[label][sku], "quantity": 1}
        path = f"/v1/carts/{found['id']}/skus"
        self._request("add_sku", Request("POST", path, body), found["id"])

    @rule(cart=indexes, line=indexes, quantity=st.integers(0, 3), fault=faults)
    def set_quantity(
        self, cart: int, line: int, quantity: int, fault: PlatformFault | None
    ) -> None:
        found = self._cart(cart)
        lines = [(b, s) for b in (found or {}).get("bags", []) for s in b["skus"]]
        if not self._step("set_quantity", fault) or found is None or not lines:
            return
        bag, sku = lines[line % len(lines)]
        self._arm(self.world.label_of(bag["merchant_id"]), fault)
        path = f"/v1/carts/{found['id']}/skus/{sku['id']}"
        self._request("set_quantity", Request("PATCH", path, {"quantity": quantity}), found["id"])

    @rule(cart=indexes, line=indexes, fault=faults)
    def remove_sku(self, cart: int, line: int, fault: PlatformFault | None) -> None:
        found = self._cart(cart)
        lines = [(b, s) for b in (found or {}).get("bags", []) for s in b["skus"]]
        if not self._step("remove_sku", fault) or found is None or not lines:
            return
        bag, sku = lines[line % len(lines)]
        self._arm(self.world.label_of(bag["merchant_id"]), fault)
        path = f"/v1/carts/{found['id']}/skus/{sku['id']}"
        self._request("remove_sku", Request("DELETE", path), found["id"])

    @rule(cart=indexes, fault=faults, fault_on=indexes)
    def delete_cart(self, cart: int, fault: PlatformFault | None, fault_on: int) -> None:
        found = self._cart(cart)
        if not self._step("delete_cart", fault) or found is None:
            return
        self._arm(LABELS[fault_on % len(LABELS)], fault)
        self._request("delete_cart", Request("DELETE", f"/v1/carts/{found['id']}"), found["id"])

    @rule(cart=indexes, bag=indexes, fault=faults)
    def retry_bag(self, cart: int, bag: int, fault: PlatformFault | None) -> None:
        found = self._cart(cart)
        bags = (found or {}).get("bags", [])
        if not self._step("retry_bag", fault) or found is None or not bags:
            return
        chosen = bags[bag % len(bags)]
        self._arm(self.world.label_of(chosen["merchant_id"]), fault)
        path = f"/v1/carts/{found['id']}/bags/{chosen['id']}/retry"
        self._request("retry_bag", Request("POST", path), found["id"])

    @rule(label=st.sampled_from(LABELS), existing=st.booleans(), fault=faults, keyed=st.booleans())
    def save_reference(
        self, label: str, existing: bool, fault: PlatformFault | None, keyed: bool
    ) -> None:
        """Save by reference a shopper's own cart, or (``existing``) one a bag already holds."""
        if not self._step("save_reference", "existing" if existing else "shopper", fault):
            return
        fake = self.world.fake(label)
        held = [cid for cid, cart in fake.carts.items() if cart.made_for]
        if not fake.capabilities.caller_chosen_cart_ids:
            # A cart id Shopify or BigCommerce minted reaches a client only in multicart's
            # answer, after it is recorded: a shopper can name only those (an Elastic Path
            # cart's id is its bag's, shown while the bag is still PENDING).
            shown = {
                bag.get("external_id")
                for cart in self.world.known_carts.values()
                for bag in cart.get("bags", [])
            }
            held = [cid for cid in held if cid in shown]
        shopper = not (existing and held)
        external_id = self.world.run(self._shopper_cart(label)) if shopper else held[0]
        self._arm(label, fault)
        body = {"cart_id": external_id, "source": self.world.merchant_ids[label]}
        self._request(
            "save_reference", Request("POST", "/v1/cart-references", body, self._key(keyed))
        )

    async def _shopper_cart(self, label: str) -> str:
        """A cart the shopper made on the store itself (no multicart call, no fault)."""
        fake = self.world.fake(label)
        hook, fake.hook = fake.hook, None
        try:
            ref = next(refs[0] for name, _, _, refs in MERCHANTS if name == label)
            made = await fake.create_cart([LineRequest(ref, 1)], currency="USD", deadline=1e12)
        finally:
            fake.hook = hook
        return made.external_id

    @rule(index=indexes)
    def replay(self, index: int) -> None:
        """Send a keyed request again, same key and body: a replay answers what the first did."""
        keyed = list(self.world.keyed)
        if not self._step("replay") or not keyed:
            return
        key = keyed[index % len(keyed)]
        first_request, first, faulted = self.world.keyed[key]
        struck = self.world.db_faults.struck
        # A key is kept 24 h (Stripe's window): past it the request may run again, by contract.
        expired = CLOCK.offset - self.world.keyed_at[key] >= KEEP_FOR
        mine: list[Flight] = []

        async def replay_and_compare() -> Answer:
            again: Answer = await self.world.http(first_request)
            said = f"{first_request.method} {first_request.path} key {first_request.key}"
            if mine and mine[0].outlived:
                return again  # the clock jumped past the key's lock meanwhile (World.jumped)
            if expired:  # the key may have run afresh: its new answer is the one kept now
                if not again.replayed and again.status < 500:
                    self.world.keyed[key] = (first_request, again, faulted)
                    self.world.keyed_at[key] = CLOCK.offset
                return again
            if again.replayed and (again.status, again.body) != (first.status, first.body):
                raise ReplayDiffers(
                    f"{said}: replayed {again.status} after {first.status};"
                    f" differs in {_difference(first.body, again.body)}"
                )
            ran_again = not again.replayed and again.status not in (409, 503)
            faulted_now = faulted or self.world.db_faults.struck != struck
            if ran_again and 200 <= first.status < 300 and not faulted_now:
                raise ReplayDiffers(f"{said} ran again (answered {again.status}) after a 2xx")
            return again

        # A flight like any other: run again, the request may park at a gate.
        flight = self.world.start("replay", replay_and_compare)
        flight.key = key
        mine.append(flight)
        self._advance()


def _difference(first: object, again: object) -> str:
    """The top-level fields two JSON answers differ in, each as (first, again)."""
    if not isinstance(first, dict) or not isinstance(again, dict):
        return f"{first!r} != {again!r}"
    keys = sorted(set(first) | set(again))
    return repr({k: (first.get(k), again.get(k)) for k in keys if first.get(k) != again.get(k)})
