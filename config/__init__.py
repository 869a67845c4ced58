"""Settings and logging set-up, built once at the composition root and passed down."""

from config.logging import configure_logging
from config.platform_knobs import PlatformKnobs, PlatformSettings
from config.settings import Settings

__all__ = ["PlatformKnobs", "PlatformSettings", "Settings", "configure_logging"]
