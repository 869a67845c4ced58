"""Loopback simulators of the commerce platforms, with fault injection and inspection.

Written from the platforms' documentation, never from our adapters (import-linter holds it), so
an adapter's wrong assumption shows up as a failing test. ``python -m sandbox`` runs it;
``sandbox.app.build_app`` mounts it in-process. Each platform is a package
(``sandbox/bigcommerce``, ``sandbox/shopify``, ``sandbox/elastic_path``) whose one
``SandboxPlatform`` row in ``sandbox.registry`` is all the shared modules read of it.
"""
