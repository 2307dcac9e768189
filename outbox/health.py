"""Per-domain delivery health: failure days (unavailable domains) and the circuit breaker.

A domain on which deliveries failed on ``failure_days`` distinct days (7, as
Mastodon) without a success in between is *unavailable*: fan-out skips it until it
answers again (a delivery succeeds, it sends us an activity, or an operator runs
``queue retry``). Independently, ``circuit_threshold`` consecutive failures open a
circuit breaker for ``circuit_cooloff``: deliveries due in that time are pushed to
its end without an attempt, so a dead host does not tie up workers.

Only network errors, timeouts and 5xx count as failures here; any other answer,
even a refusal, shows the domain is up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from fediverse_cop.models import DomainHealth

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    failure_days: int = 7
    circuit_threshold: int = 10
    circuit_cooloff: timedelta = timedelta(seconds=60)


async def record_success(domains: Iterable[str], now: datetime) -> None:
    """Clear the failure state of domains that just answered (no write when already clear)."""
    names = list(set(domains))
    if not names:
        return
    await (
        DomainHealth.filter(domain__in=names)
        .filter(Q(consecutive_failures__gt=0) | Q(unavailable_since__isnull=False))
        .update(
            failure_days=[],
            unavailable_since=None,
            consecutive_failures=0,
            circuit_open_until=None,
            last_success_at=now,
        )
    )


async def record_failure(
    domain: str, now: datetime, error: str, policy: HealthPolicy = HealthPolicy()
) -> DomainHealth:
    async with in_transaction():
        row = await DomainHealth.filter(domain=domain).select_for_update().first()
        if row is None:
            row = DomainHealth(domain=domain)
        day = now.date().isoformat()
        if day not in row.failure_days:
            row.failure_days = sorted([*row.failure_days, day])[-policy.failure_days :]
        row.consecutive_failures += 1
        row.last_failure_at = now
        row.last_error = error[:500]
        if row.consecutive_failures >= policy.circuit_threshold:
            row.circuit_open_until = now + policy.circuit_cooloff
        if len(row.failure_days) >= policy.failure_days and row.unavailable_since is None:
            row.unavailable_since = now
            log.warning(
                "domain %s marked unavailable after failures on %d distinct days",
                domain,
                len(row.failure_days),
            )
        await row.save()
    return row


async def mark_available(domain: str) -> bool:
    """Forget a domain's failures (it answered, or an operator asked); True if it had any."""
    updated = await DomainHealth.filter(domain=domain).update(
        failure_days=[],
        unavailable_since=None,
        consecutive_failures=0,
        circuit_open_until=None,
    )
    return bool(updated)


async def unavailable_domains() -> set[str]:
    rows = await DomainHealth.filter(unavailable_since__isnull=False).values_list(
        "domain", flat=True
    )
    return {str(domain) for domain in rows}


async def open_circuits(domains: Iterable[str], now: datetime) -> dict[str, datetime]:
    """The domains among ``domains`` whose breaker is open, with when it closes."""
    names = list(set(domains))
    if not names:
        return {}
    rows = await DomainHealth.filter(domain__in=names, circuit_open_until__gt=now).values_list(
        "domain", "circuit_open_until"
    )
    return {str(domain): until for domain, until in rows}
