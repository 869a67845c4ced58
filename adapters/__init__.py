"""Platform adapters: one ``CartPlatform`` API over the platforms of the table (``PLATFORMS``).

This module is the adapters' public surface: what the orchestrator may use (import-linter holds
it to these names); the platform packages and the call machinery under ``adapters.calls`` stay
the adapters' own.
"""

from adapters.base import (
    Capabilities,
    CartContext,
    CartPlatform,
    ExternalCart,
    ExternalLine,
    LineRequest,
    PlatformDirectory,
    ref_matches,
)
from adapters.calls.connections import UrlPolicy, resolved_problem, url_problem
from adapters.calls.platform_text import PLATFORM_MESSAGE_MAX, platform_text
from adapters.calls.resilience import CircuitState, PlatformMetrics
from adapters.registry import PLATFORMS, AdapterRegistry, PlatformSpec, register_platform

__all__ = [
    "PLATFORMS",
    "PLATFORM_MESSAGE_MAX",
    "AdapterRegistry",
    "Capabilities",
    "CartContext",
    "CartPlatform",
    "CircuitState",
    "ExternalCart",
    "ExternalLine",
    "LineRequest",
    "PlatformDirectory",
    "PlatformMetrics",
    "PlatformSpec",
    "UrlPolicy",
    "platform_text",
    "ref_matches",
    "register_platform",
    "resolved_problem",
    "url_problem",
]
