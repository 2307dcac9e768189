"""Long-lived things a process shares: the outbound HTTP client and the background workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from activitypub.http import SafeHttpClient
from fediverse_cop import __version__
from fediverse_cop.settings import Settings
from outbox.worker import DeliveryWorker, WorkerConfig

log = logging.getLogger(__name__)


def make_http_client(settings: Settings) -> SafeHttpClient:
    """The one outbound client of a process (create it once, share it, close it at exit)."""
    return SafeHttpClient(
        user_agent=f"fediverse-cop/{__version__} (+{settings.base_url}/)",
        allowed_networks=[str(network) for network in settings.allowed_private_networks],
    )


def make_delivery_worker(
    settings: Settings,
    http: SafeHttpClient,
    *,
    concurrency: int | None = None,
    lease: timedelta | None = None,
) -> DeliveryWorker:
    config = WorkerConfig(concurrency=concurrency or settings.worker_concurrency)
    if lease is not None:
        config = WorkerConfig(concurrency=config.concurrency, lease=lease)
    return DeliveryWorker(http, local_domain=settings.domain, config=config)


@contextlib.asynccontextmanager
async def background_workers(settings: Settings, http: SafeHttpClient) -> AsyncIterator[None]:
    """Run the delivery worker in this process for the duration of the block.

    On exit the worker finishes the step it is in (in-flight deliveries complete or,
    if the process dies first, their leases expire and another worker takes them).
    """
    worker = make_delivery_worker(settings, http)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="delivery-worker")
    log.info("delivery worker running in-process (concurrency %d)", worker.config.concurrency)
    try:
        yield
    finally:
        stop.set()
        await task
