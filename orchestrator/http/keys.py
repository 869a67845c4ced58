"""Every typed key of the aiohttp app and its requests, in one place.

The composition root (``app.py``) fills the ``AppKey``s once at start-up; handlers and
middlewares read them. Keeping them together shows at a glance what a handler can reach, and
keeps the modules that define the values free of aiohttp.
"""

from __future__ import annotations

from aiohttp import web

from adapters import PlatformDirectory
from config import Settings
from orchestrator.http.admission import Admission
from orchestrator.http.fairness import AppRates, AuthThrottle, InFlightShares
from orchestrator.http.intake import Intake
from orchestrator.http.metrics import Metrics
from orchestrator.http.quota import LiveCartQuota
from orchestrator.service.carts import CartService
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.reconciler import Reconciler
from orchestrator.store import Store

SETTINGS = web.AppKey("settings", Settings)
MAX_BODY = web.AppKey("max_body_bytes", int)
STORE = web.AppKey("store", Store)
SERVICE = web.AppKey("service", CartService)
PLATFORMS = web.AppKey("platforms", PlatformDirectory)  # AdapterRegistry, or a fake in tests
MERCHANTS = web.AppKey("merchants", MerchantAdapters)  # seals connections, caches adapters
DELETER = web.AppKey("deleter", ExternalDeleter)
RECONCILER = web.AppKey("reconciler", Reconciler)  # settles unknown creates and the outbox
METRICS = web.AppKey("metrics", Metrics)  # this app's Prometheus registry and instruments
KEYS_CACHE = web.AppKey("api_key_cache", dict[str, str])  # API key hash -> app id
# fairness.py: per-app bounds, and failed authentications per address and token prefix.
IN_FLIGHT_SHARES = web.AppKey("in_flight_shares", InFlightShares)
APP_RATES = web.AppKey("app_rates", AppRates)
AUTH_THROTTLE = web.AppKey("auth_throttle", AuthThrottle)
LIVE_CART_QUOTA = web.AppKey("live_cart_quota", LiveCartQuota)
INTAKE = web.AppKey("intake", Intake)  # a request's body, read whole in bounded time
ADMISSION = web.AppKey("admission", Admission)  # the process's in-flight slots

REQUEST_ID = web.RequestKey("request_id", str)
APP_ID = web.RequestKey("app_id", str)  # set by the auth of app routes
