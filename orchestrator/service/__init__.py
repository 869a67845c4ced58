"""Use cases: what multicart does with carts, merchants' platforms and the background work.

Speaks ``bags`` domain objects and raises ``errors`` types; knows nothing of HTTP (the layer
above, ``orchestrator.http``) and persists through ``orchestrator.store`` (the layer below).
"""
