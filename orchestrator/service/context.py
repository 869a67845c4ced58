"""What every use case runs on, built once by the composition root (``orchestrator/bootstrap.py``).

The cart use cases (create, line changes, bag retry, references, the reconciler and the
expiry sweeper) all read the same five things: the store, the merchants' adapters, the
settings, the deleter (the one way an external cart is removed or queued) and the clock. One
object carries them, so a use case's constructor says only what is its own, and a test that
wants another clock or store builds one context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from config import Settings
from orchestrator.service.clock import Clock, utcnow
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.store import Store


@dataclass(frozen=True)
class UseCaseContext:
    store: Store
    merchants: MerchantAdapters
    settings: Settings
    deleter: ExternalDeleter
    clock: Clock = field(default=utcnow)
