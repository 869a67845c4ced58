"""The model-based invariant explorer: ``make explore``, and a bounded run in
``make test`` (``tests/explore``).

Why it exists: the races that lose or orphan external carts live between operations that are in
flight at once (a create parked inside a platform call while the reconciler, the outbox, a clock
jump or a failed database write go by). Example-based tests name the interleavings their author
thought of; this drives the real service (the aiohttp app from ``orchestrator.http.app``, a real
database on both engines) over the fake platforms of all three kinds with hypothesis's
``RuleBasedStateMachine`` and checks the invariants (docs/testing.md) after every step.

Modules: ``clock`` (the one place time moves), ``faults`` (platform and database faults, gates),
``stores`` (the app, merchants and SKUs it runs with), ``world`` (the app, its database, the
fakes, operations in flight, settling), ``invariants`` (the checks), ``steps`` (the machine's
base), ``app_rules`` and ``machine`` (the rules), ``runner`` (bounded and long runs, statistics,
findings).
"""
