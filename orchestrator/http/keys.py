"""Every typed key of the aiohttp app and its requests, in one place.

``app.py`` fills the ``AppKey``s once at start-up (``SERVICES``: what the composition root,
``orchestrator/bootstrap.py``, built); handlers and middlewares read them. Keeping them
together shows at a glance what a handler can reach. The one kept elsewhere is
``idempotency.IDEMPOTENCY``, since that module is imported here.
"""

from __future__ import annotations

from aiohttp import web

from config import Settings
from orchestrator.bootstrap import Services
from orchestrator.http.admission import Admission
from orchestrator.http.fairness import AppRates, AuthThrottle, InFlightShares
from orchestrator.http.intake import Intake
from orchestrator.http.key_cache import KeyCache
from orchestrator.http.metrics import Metrics
from orchestrator.http.quota import LiveCartQuota

SETTINGS = web.AppKey("settings", Settings)
MAX_BODY = web.AppKey("max_body_bytes", int)
# The use cases and what they share; its platforms are an AdapterRegistry, or a fake in tests.
SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", Metrics)  # this app's Prometheus registry and instruments
KEYS_CACHE = web.AppKey("api_key_cache", KeyCache)  # API key hash -> its key, for a bound
# fairness.py: per-app bounds, and failed authentications per address and token prefix.
IN_FLIGHT_SHARES = web.AppKey("in_flight_shares", InFlightShares)
APP_RATES = web.AppKey("app_rates", AppRates)
AUTH_THROTTLE = web.AppKey("auth_throttle", AuthThrottle)
LIVE_CART_QUOTA = web.AppKey("live_cart_quota", LiveCartQuota)
INTAKE = web.AppKey("intake", Intake)  # a request's body, read whole in bounded time
ADMISSION = web.AppKey("admission", Admission)  # the process's in-flight slots

REQUEST_ID = web.RequestKey("request_id", str)
APP_ID = web.RequestKey("app_id", str)  # set by the auth of app routes
