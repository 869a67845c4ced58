"""Settings and logging set-up, built once at the composition root and passed down."""

from config.logging import configure_logging, get_logger
from config.settings import Settings

__all__ = ["Settings", "configure_logging", "get_logger"]
