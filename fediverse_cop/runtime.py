"""Long-lived things a process shares: the outbound HTTP client and the background workers
(deliveries, the inbox, and Web Push for the notifications stored in this process)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from activitypub.http import SafeHttpClient
from fediverse_cop import __version__
from fediverse_cop.services import polls, push, scheduled
from fediverse_cop.services.remote import Federation
from fediverse_cop.settings import Settings
from inbox.worker import InboxWorker
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


async def run_workers(
    fed: Federation,
    stop: asyncio.Event,
    *,
    concurrency: int | None = None,
    lease: timedelta | None = None,
) -> None:
    """Run the delivery and inbox workers until ``stop`` is set.

    Each finishes the step it is in (in-flight work completes or, if the process dies
    first, its leases expire and another worker takes it).
    """
    delivery = make_delivery_worker(
        fed.ctx.settings, fed.http, concurrency=concurrency, lease=lease
    )
    inbox = InboxWorker(fed, lease=lease or timedelta(minutes=5))
    log.info("workers running (delivery concurrency %d)", delivery.config.concurrency)
    async with push.running(fed.ctx, fed.http):
        await asyncio.gather(delivery.run(stop), inbox.run(stop), run_periodic(fed, stop))


PERIODIC_INTERVAL = 10.0


async def periodic_step(fed: Federation) -> None:
    """Work due by the clock: scheduled posts, polls that ended, new results of our polls."""
    await scheduled.publish_due(fed)
    await polls.end_polls(fed)
    await polls.federate_results(fed)


async def run_periodic(fed: Federation, stop: asyncio.Event) -> None:
    """:func:`periodic_step` every PERIODIC_INTERVAL seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            await periodic_step(fed)
        except Exception:
            log.exception("periodic step failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PERIODIC_INTERVAL)


@contextlib.asynccontextmanager
async def background_workers(fed: Federation) -> AsyncIterator[None]:
    """Run the workers in this process for the duration of the block."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_workers(fed, stop), name="background-workers")
    try:
        yield
    finally:
        stop.set()
        await task
