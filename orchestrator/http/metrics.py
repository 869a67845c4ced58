"""``GET /metrics``: Prometheus text exposition of requests, latencies, platform calls and state.

prometheus-client renders the format (escaping, ``_total``/``_bucket`` suffixes, the content
type) instead of hand-written text. Each app has its own ``CollectorRegistry``, never the
process-global one, so the many apps a test run builds never share or collide on series.

- ``multicart_http_requests_total{method, route, status}`` and
  ``multicart_http_request_duration_seconds{method, route}`` by a middleware, labelled with the
  ROUTE TEMPLATE (``/v1/carts/{cart_id}``), never the raw path (unbounded label values).
- ``multicart_platform_calls_total{platform, op, outcome}``,
  ``multicart_platform_retries_total{platform, op}`` and ``multicart_circuits{platform, state}``
  (stores per breaker state) read at scrape time from the adapter registry's
  ``PlatformMetrics`` and breakers (absent with a registry that has none, as tests' fakes).
- ``multicart_http_shed_requests_total{reason}``: requests answered 503 ``overloaded`` by the
  shedding middleware (``shedding.py``): ``in_flight`` (over ``MULTICART_MAX_IN_FLIGHT``) or
  ``database_wait`` (no connection or write lock within the request's deadline).
- ``multicart_http_bodies_reading``: request bodies arriving, which hold no in-flight slot yet
  (``intake.py``); a 408, 429, 403 or 499 (client gone) is in the requests counter by status.
- ``multicart_http_connections_open``, ``multicart_http_connections_refused_total`` (over
  ``MULTICART_MAX_CONNECTIONS`` with every connection inside a request),
  ``multicart_http_connections_evicted_total`` (the oldest connection still waiting for its
  headers, closed to make room) and ``multicart_http_header_timeouts_total``: the connection
  guard's (``server.py``), registered by ``multicart serve``.
- ``multicart_bags{status}`` and ``multicart_outbox_depth``: two aggregate queries, bounded by
  ``STORE_TIMEOUT_S`` and reused for ``MULTICART_METRICS_CACHE_S`` (one refresh at a time, so a
  scrape flood costs one count per period); ``multicart_store_up`` is 0 when they failed.
- ``multicart_audit_write_failures_total``: admin actions whose audit entry could not be
  written (``audit.py``: the action's answer went out regardless).
- ``multicart_carts_expired_total``: carts this process's expiry sweeper marked ``EXPIRED``
  (``service/expiry.py``), read at scrape time.
- ``multicart_outbox_entries{kind, state}`` (from the store: ``dead`` entries are the dead
  letters) and ``multicart_outbox_given_up_total{reason}``: entries this process's deleter
  buried as ``dead`` (``window``: failing past ``MULTICART_OUTBOX_GIVE_UP_AFTER_S``;
  ``permanent``: merchant gone, credentials refused or unreadable).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from adapters import CircuitState, PlatformMetrics
from bags import BagStatus
from orchestrator.store import Counts

STORE_TIMEOUT_S = 2.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "(unmatched)"


def route_template(request: web.Request) -> str:
    """The matched route's template, or ``(unmatched)`` for 404/405 answers."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


class _StateCollector(Collector):
    """Platform counters and circuits from the adapter registry; store counts from the last
    scrape's query (the handler runs it, async, just before rendering)."""

    def __init__(self) -> None:
        self.platforms: Any = None  # the app's PlatformDirectory, once started
        self.expiry: Any = None  # the app's ExpirySweeper, once started
        self.deleter: Any = None  # the app's ExternalDeleter, once started
        self.counts: Counts | None = None

    def collect(self) -> Iterator[Metric]:
        yield from self._platform_metrics()
        yield CounterMetricFamily(
            "multicart_carts_expired",
            "Carts this process's expiry sweeper marked EXPIRED.",
            value=getattr(self.expiry, "expired_total", 0),
        )
        given_up = CounterMetricFamily(
            "multicart_outbox_given_up",
            "Outbox entries this process buried as dead: window (failing past "
            "MULTICART_OUTBOX_GIVE_UP_AFTER_S) or permanent (merchant gone, credentials refused).",
            labels=["reason"],
        )
        for reason, n in getattr(self.deleter, "given_up_total", {}).items():
            given_up.add_metric([reason], n)
        yield given_up
        up = GaugeMetricFamily("multicart_store_up", "1 if the last store query answered.")
        up.add_metric([], 0 if self.counts is None else 1)
        yield up
        if self.counts is None:
            return
        bags = GaugeMetricFamily("multicart_bags", "Bags by status.", labels=["status"])
        for status in BagStatus:
            bags.add_metric([status.value], self.counts.bags_by_status.get(status.value, 0))
        yield bags
        depth = GaugeMetricFamily(
            "multicart_outbox_depth", "External carts whose delete is still to be done."
        )
        depth.add_metric([], self.counts.outbox_depth)
        yield depth
        entries = GaugeMetricFamily(
            "multicart_outbox_entries",
            "Outbox entries by kind (delete, unknown_create) and state (pending; dead: a dead "
            "letter, given up and kept for `multicart outbox retry`; undetectable: a create no "
            "platform can tell about).",
            labels=["kind", "state"],
        )
        for kind in ("delete", "unknown_create"):
            for state in ("pending", "dead", "undetectable"):
                entries.add_metric([kind, state], self.counts.outbox_entries.get((kind, state), 0))
        yield entries

    def _platform_metrics(self) -> Iterator[Metric]:
        metrics = getattr(self.platforms, "metrics", None)
        if not isinstance(metrics, PlatformMetrics):
            return
        calls = CounterMetricFamily(
            "multicart_platform_calls",
            "Platform call attempts by platform, operation and outcome.",
            labels=["platform", "op", "outcome"],
        )
        for (platform, op, outcome), n in sorted(metrics.calls_by_op.items()):
            calls.add_metric([platform, op, outcome], n)
        yield calls
        retries = CounterMetricFamily(
            "multicart_platform_retries",
            "Platform call retries by platform and operation.",
            labels=["platform", "op"],
        )
        for (platform, op), n in sorted(metrics.retries.items()):
            retries.add_metric([platform, op], n)
        yield retries
        circuits = GaugeMetricFamily(
            "multicart_circuits",
            "Merchant stores per circuit-breaker state.",
            labels=["platform", "state"],
        )
        for platform in sorted(self.platforms.supported_platforms() if self.platforms else ()):
            states = dict.fromkeys(CircuitState, 0)
            resilience = getattr(self.platforms, "resilience", None)
            if resilience is not None:
                breakers = resilience(platform).breakers
                for key in metrics.stores.get(platform, ()):
                    states[breakers.state(key)] += 1
            for state, n in states.items():
                circuits.add_metric([platform, state.value], n)
        yield circuits


class Metrics:
    """One app's registry, its request instruments, and the scrape handler."""

    def __init__(self, *, cache_s: float = 5.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._cache_s = cache_s
        self._counted_at: float | None = None  # monotonic time of the last count, if any
        self._counting = asyncio.Lock()
        self.store_counts = 0  # counts taken from the store (each two queries)
        self.requests = Counter(
            "multicart_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "multicart_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.shed = Counter(
            "multicart_http_shed_requests",
            "Requests answered 503 overloaded: over the in-flight cap, or a database wait past"
            " the request's deadline.",
            ["reason"],
            registry=self.registry,
        )
        self.bodies_reading = Gauge(
            "multicart_http_bodies_reading",
            "Request bodies being read (intake.py): requests that hold no in-flight slot yet.",
            registry=self.registry,
        )
        self.audit_failures = Counter(
            "multicart_audit_write_failures",
            "Admin actions whose audit entry could not be written (the action itself stood).",
            registry=self.registry,
        )
        for reason in ("in_flight", "database_wait"):
            self.shed.labels(reason)  # both series exist (at 0) before the first shed
        self.state = _StateCollector()
        self.registry.register(self.state)

    def observe(self, request: web.Request, status: int, elapsed_s: float) -> None:
        route = route_template(request)
        self.requests.labels(request.method, route, str(status)).inc()
        self.latency.labels(request.method, route).observe(elapsed_s)

    def middleware(self) -> Any:
        @web.middleware
        async def metrics_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
            started = time.perf_counter()
            try:
                response: web.StreamResponse = await handler(request)
            except web.HTTPException as exc:
                self.observe(request, exc.status, time.perf_counter() - started)
                raise
            self.observe(request, response.status, time.perf_counter() - started)
            return response

        return metrics_middleware

    def _fresh(self) -> bool:
        at = self._counted_at
        return at is not None and time.monotonic() - at < self._cache_s

    async def _refresh(self, store: Any) -> None:
        """The store's counts, unless the last ones are younger than the cache period; one
        refresh at a time (concurrent scrapes wait for it, then reuse it)."""
        if self._fresh():
            return
        async with self._counting:
            if self._fresh():
                return
            self.store_counts += 1
            try:
                self.state.counts = await store.counts(timeout_s=STORE_TIMEOUT_S)
            except Exception:  # a slow or absent database must not fail the scrape
                self.state.counts = None
            self._counted_at = time.monotonic()  # a failure waits the period too

    async def render(self, store: Any) -> web.Response:
        """The exposition, with the store's counts at most ``cache_s`` old."""
        await self._refresh(store)
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
