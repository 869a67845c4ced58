"""Settings and logging set-up, built once at the composition root and passed down."""

from config.logging import configure_logging
from config.settings import PlatformSettings, Settings

__all__ = ["PlatformSettings", "Settings", "configure_logging"]
