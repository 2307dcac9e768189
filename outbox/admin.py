"""What operators see of the queue and can do to it (``fediverse-cop queue …``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.functions import Count

from fediverse_cop.models import Delivery, DeliveryState, DomainHealth, FanoutJob, JobState
from outbox import health


@dataclass(frozen=True, slots=True)
class DomainStatus:
    domain: str
    pending: int
    failure_days: int
    consecutive_failures: int
    unavailable_since: datetime | None
    circuit_open_until: datetime | None
    last_error: str


@dataclass(frozen=True, slots=True)
class QueueStatus:
    jobs_pending: int
    deliveries_pending: int
    deliveries_due: int
    deliveries_retrying: int
    deliveries_failed: int
    deliveries_gone: int
    failing_domains: list[DomainStatus]
    unavailable_domains: list[DomainStatus]


async def queue_status(now: datetime) -> QueueStatus:
    pending = Delivery.filter(state=DeliveryState.PENDING)
    troubled = await DomainHealth.filter(consecutive_failures__gt=0).order_by("domain")
    troubled += [
        row
        for row in await DomainHealth.filter(
            consecutive_failures=0, unavailable_since__isnull=False
        ).order_by("domain")
    ]
    counts = dict(
        await Delivery.filter(
            state=DeliveryState.PENDING, domain__in=[row.domain for row in troubled]
        )
        .annotate(n=Count("id"))
        .group_by("domain")
        .values_list("domain", "n")
    )
    statuses = [
        DomainStatus(
            domain=row.domain,
            pending=int(counts.get(row.domain, 0)),
            failure_days=len(row.failure_days),
            consecutive_failures=row.consecutive_failures,
            unavailable_since=row.unavailable_since,
            circuit_open_until=row.circuit_open_until,
            last_error=row.last_error,
        )
        for row in troubled
    ]
    return QueueStatus(
        jobs_pending=await FanoutJob.filter(state=JobState.PENDING).count(),
        deliveries_pending=await pending.count(),
        deliveries_due=await pending.filter(next_attempt_at__lte=now).count(),
        deliveries_retrying=await pending.filter(attempts__gt=0).count(),
        deliveries_failed=await Delivery.filter(state=DeliveryState.FAILED).count(),
        deliveries_gone=await Delivery.filter(state=DeliveryState.GONE).count(),
        failing_domains=[s for s in statuses if s.unavailable_since is None],
        unavailable_domains=[s for s in statuses if s.unavailable_since is not None],
    )


async def retry_domain(domain: str, now: datetime) -> int:
    """Forget the domain's failures and make its pending deliveries due now."""
    await health.mark_available(domain)
    return await Delivery.filter(domain=domain, state=DeliveryState.PENDING).update(
        next_attempt_at=now
    )


async def purge_domain(domain: str) -> int:
    """Drop every pending delivery to the domain; returns how many."""
    return await Delivery.filter(domain=domain, state=DeliveryState.PENDING).delete()
