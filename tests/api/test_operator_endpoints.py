"""An operator's basics: /readyz knows the schema, /metrics tells the truth, logs are sorted."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from adapters.calls.resilience import PlatformMetrics
from adapters.fake import FakeRegistry
from orchestrator.http.app import create_app
from orchestrator.http.keys import METRICS
from tests.api.conftest import ADMIN, PRICES, Api, EnvelopeTestServer
from tests.api.conftest import test_settings as api_settings
from tests.support.prometheus import sample


async def test_readyz_names_an_unmigrated_schema(database_url: str) -> None:
    app = create_app(api_settings(database_url), platforms=FakeRegistry(), run_worker=False)
    client = TestClient(EnvelopeTestServer(app))
    await client.start_server()
    try:
        response = await client.get("/readyz")
        assert response.status == 503, await response.text()
        body = await response.json()
        assert body["error"] == "not_ready"
        assert "multicart db upgrade" in body["data"]["reason"]
    finally:
        await client.close()


async def test_readyz_when_migrated(api: Api) -> None:
    assert (await api.client.get("/readyz")).status == 200


async def test_metrics_count_requests_by_route_template_and_state(api: Api) -> None:
    tent = {"sku_id": "sku-tent", "quantity": 1}
    created = await (
        await api.post_cart({"skus": [tent, {"sku_id": "sku-pan", "quantity": 1}]})
    ).json()
    await api.client.get(f"/v1/carts/{created['id']}", headers=api.auth)
    await api.client.get("/v1/carts/cart_nope", headers=api.auth)
    await api.client.get("/nowhere")
    response = await api.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    requests = "multicart_http_requests_total"
    assert sample(text, requests, route="/v1/carts", method="POST", status="201") == 1
    assert sample(text, requests, route="/v1/carts/{cart_id}", status="200") == 1
    assert sample(text, requests, route="/v1/carts/{cart_id}", status="404") == 1
    assert sample(text, requests, route="(unmatched)", status="404") == 1
    assert "cart_nope" not in text and "/nowhere" not in text  # templates, never raw paths
    latency = "multicart_http_request_duration_seconds_count"
    assert sample(text, latency, route="/v1/carts", method="POST") == 1
    assert sample(text, "multicart_bags", status="IN_PROGRESS") == 2
    assert sample(text, "multicart_outbox_depth") == 0
    assert sample(text, "multicart_store_up") == 1


async def test_metrics_show_platform_calls_retries_and_circuits(api: Api) -> None:
    class Registry(FakeRegistry):
        """A fake with the real registry's counters (the fake adapters make no HTTP calls)."""

        def __init__(self) -> None:
            super().__init__(prices=PRICES)
            self.metrics = PlatformMetrics()

    registry = Registry()
    registry.metrics.record_call("BIGCOMMERCE", "ok", op="create_cart", store="https://s/1")
    registry.metrics.record_call("BIGCOMMERCE", "platform_error", op="create_cart")
    registry.metrics.record_retry("BIGCOMMERCE", "create_cart")
    api.client.server.app[METRICS].state.platforms = registry
    text = await (await api.client.get("/metrics")).text()
    calls = "multicart_platform_calls_total"
    assert sample(text, calls, platform="BIGCOMMERCE", op="create_cart", outcome="ok") == 1
    assert sample(text, "multicart_platform_retries_total", op="create_cart") == 1


async def test_circuits_per_state_from_the_real_registry(migrated_database_url: str) -> None:
    from adapters.registry import AdapterRegistry

    settings = api_settings(migrated_database_url)
    registry = AdapterRegistry(settings)
    registry.metrics.record_call("BIGCOMMERCE", "ok", op="create_cart", store="https://s/1")
    app = create_app(settings, platforms=registry, run_worker=False)
    client = TestClient(EnvelopeTestServer(app))
    await client.start_server()
    try:
        text = await (await client.get("/metrics")).text()
    finally:
        await client.close()
        await registry.aclose()
    circuits = "multicart_circuits"
    assert sample(text, circuits, platform="BIGCOMMERCE", state="closed") == 1
    assert sample(text, circuits, platform="SHOPIFY", state="open") == 0


async def test_probes_are_not_logged_at_info(api: Api) -> None:
    # Captured as events: the lines it once read were never JSON in a test (logging is not
    # configured there), so it had nothing to check.
    with capture_logs() as logs:
        await api.client.get("/healthz")
        await api.client.get("/metrics")
        await api.client.get("/v1/admin/merchants", headers=ADMIN)
    at_info = [e["path"] for e in logs if e["event"] == "request" and e["log_level"] == "info"]
    assert at_info == ["/v1/admin/merchants"]
