"""The composition root: everything the service runs on, built once from ``Settings``.

One place decides which store, which platforms' adapters, which clock and which use cases a
process runs with, and in which order they are opened and closed: the HTTP app
(``http/app.py``) and the CLI build through here, and tests hand in what they replace (a fake
platform directory, another clock) instead of wiring objects of their own. Nothing else
constructs a use case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters import PlatformDirectory
from config import Settings
from orchestrator.service.bag_retry import BagRetry
from orchestrator.service.carts import CartService
from orchestrator.service.clock import Clock, utcnow
from orchestrator.service.context import UseCaseContext
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.service.expiry import ExpirySweeper
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.mutations import CartMutations
from orchestrator.service.preview import PreviewService
from orchestrator.service.reconciler import Reconciler
from orchestrator.service.references import ReferenceService
from orchestrator.service.secrets import CredentialBox
from orchestrator.service.workers import BackgroundWorker
from orchestrator.store import Store


@dataclass(frozen=True)
class Services:
    """The use cases of one process and what they share (``context``)."""

    context: UseCaseContext
    platforms: PlatformDirectory
    carts: CartService
    mutations: CartMutations
    references: ReferenceService
    bag_retry: BagRetry
    preview: PreviewService
    reconciler: Reconciler
    sweeper: ExpirySweeper

    @property
    def settings(self) -> Settings:
        return self.context.settings

    @property
    def store(self) -> Store:
        return self.context.store

    @property
    def merchants(self) -> MerchantAdapters:
        return self.context.merchants

    @property
    def deleter(self) -> ExternalDeleter:
        return self.context.deleter

    @property
    def clock(self) -> Clock:
        return self.context.clock

    def workers(self) -> list[BackgroundWorker]:
        """The background work: settling unknown creates and the outbox, expiring carts, and
        (when ``MULTICART_CATALOG_REFRESH_S`` > 0) polling the catalog cache."""
        settings = self.settings
        workers = [self.reconciler.worker(), self.sweeper.worker()]
        if settings.catalog_refresh_s > 0:  # the cache only with its poll
            catalog = self.store.catalog
            catalog.use_cache(
                refresh_s=settings.catalog_refresh_s, max_entries=settings.catalog_cache_size
            )
            workers.append(
                BackgroundWorker(
                    "catalog_refresh", catalog.refresh_cache, settings.catalog_refresh_s
                )
            )
        return workers


def build_services(
    settings: Settings,
    store: Store,
    platforms: PlatformDirectory,
    box: CredentialBox,
    clock: Clock = utcnow,
) -> Services:
    """The use cases over ``store`` and ``platforms``, all reading one ``clock``."""
    merchants = MerchantAdapters(platforms, box)
    deleter = ExternalDeleter(store, merchants, settings, clock)
    context = UseCaseContext(store, merchants, settings, deleter, clock)
    return Services(
        context=context,
        platforms=platforms,
        carts=CartService(context),
        mutations=CartMutations(context),
        references=ReferenceService(context),
        bag_retry=BagRetry(context),
        preview=PreviewService(store, settings),
        reconciler=Reconciler(context),
        sweeper=ExpirySweeper(context),
    )


@asynccontextmanager
async def running_services(
    settings: Settings,
    *,
    box: CredentialBox | None = None,
    platforms: PlatformDirectory | None = None,
    clock: Clock = utcnow,
) -> AsyncIterator[Services]:
    """Open the store and (unless ``platforms`` is given: a test's fake) the platforms'
    adapter registry, build the use cases, and close what was opened here on the way out."""
    box = box or CredentialBox.from_settings(settings)
    store = Store.from_url(settings.database_url, wait_s=settings.db_wait_s)
    registry = platforms
    if registry is None:
        from adapters import AdapterRegistry  # only a real process opens sessions

        registry = AdapterRegistry(settings)
    try:
        yield build_services(settings, store, registry, box, clock)
    finally:
        if platforms is None:
            await registry.aclose()
        await store.close()


@asynccontextmanager
async def opened_store(url: str) -> AsyncIterator[Store]:
    """The store alone, for the CLI's commands that only read or write rows."""
    store = Store.from_url(url)
    try:
        yield store
    finally:
        await store.close()
