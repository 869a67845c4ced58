"""Typed ``AppKey``s: what the composition root puts in the aiohttp app for handlers to use."""

from __future__ import annotations

from aiohttp import web

from adapters.base import PlatformDirectory
from config import Settings
from orchestrator.carts import CartService
from orchestrator.secrets import CredentialBox
from orchestrator.store import Store

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
SERVICE = web.AppKey("service", CartService)
PLATFORMS = web.AppKey("platforms", PlatformDirectory)  # AdapterRegistry, or a fake in tests
BOX = web.AppKey("credential_box", CredentialBox)
KEYS_CACHE = web.AppKey("api_key_cache", dict[str, str])
