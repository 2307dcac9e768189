"""The inbox worker: processes stored activities through the dispatch table.

Items are claimed with the same leases as outbound work (``models.claims``), in
arrival order. A handler's :class:`Refused` marks the item failed with the
reason; an unexpected error is retried on the delivery schedule, at most
``max_attempts`` times; no handler means ``unhandled``, which is counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from activitypub.vocab import ASObject, InvalidActivity
from fediverse_cop import wakeup
from fediverse_cop.models import InboxItem, InboxState
from fediverse_cop.models.claims import claim
from fediverse_cop.services.remote import Federation
from inbox import handlers  # noqa: F401  (registers the handlers)
from inbox.dispatch import Handling, Refused, lookup, object_type
from outbox.retry import backoff

log = logging.getLogger(__name__)


@dataclass(slots=True)
class InboxStats:
    processed: int = 0
    failed: int = 0
    retried: int = 0
    unhandled: Counter[str] = field(default_factory=Counter)

    @property
    def idle(self) -> bool:
        return not (self.processed or self.failed or self.retried or self.unhandled)


def _mine(item: InboxItem) -> QuerySet[InboxItem]:
    """The item, only while this worker's claim holds (a late writer changes nothing)."""
    return InboxItem.filter(id=item.id, claim_token=item.claim_token)


class InboxWorker:
    def __init__(
        self,
        fed: Federation,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = 50,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 8,
        idle_sleep: float = 1.0,
    ) -> None:
        self.fed = fed
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.max_attempts = max_attempts
        self.idle_sleep = idle_sleep

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                stats = await self.run_once()
            except Exception:
                log.exception("inbox step failed")
                stats = InboxStats()
            if stats.idle:
                await wakeup.INBOX.sleep(stop, self.idle_sleep)

    async def run_once(self) -> InboxStats:
        stats = InboxStats()
        now = self.clock()
        items = await claim(
            InboxItem,
            Q(state=InboxState.PENDING, next_attempt_at__lte=now),
            now=now,
            lease=self.lease,
            limit=self.batch,
        )
        for item in items:
            await self._process(item, stats)
        return stats

    async def _process(self, item: InboxItem, stats: InboxStats) -> None:
        if item.lease_until is not None and item.lease_until <= self.clock():
            return  # our lease ran out while earlier items were processed: not ours any more
        await item.fetch_related("actor")
        done = {"lease_until": None, "claim_token": None, "processed_at": self.clock()}
        try:
            activity = ASObject.from_json(item.activity)
            kind = (activity.type or "Object", await object_type(self.fed, activity))
            handler = lookup(*kind)
            label = "/".join(kind)
            if handler is None:
                stats.unhandled[label] += 1
                log.info("unhandled %s from %s (%s)", label, item.actor.uri, item.activity_id)
                await _mine(item).update(state=InboxState.UNHANDLED, handled_as=label, **done)
                return
            # A slow peer must not hold the item past its lease (another worker would take it).
            async with asyncio.timeout(self.lease.total_seconds() * 0.8):
                await handler(Handling(self.fed, item, activity, item.actor))
        except (Refused, InvalidActivity) as exc:
            log.info("refused %s: %s", item.activity_id, exc)
            await _mine(item).update(state=InboxState.FAILED, error=str(exc)[:1000], **done)
            stats.failed += 1
            return
        except Exception as exc:
            log.exception("processing %s failed (attempt %d)", item.activity_id, item.attempts)
            if item.attempts >= self.max_attempts:
                await _mine(item).update(state=InboxState.FAILED, error=repr(exc)[:1000], **done)
                stats.failed += 1
            else:
                await _mine(item).update(
                    next_attempt_at=self.clock() + backoff(item.attempts),
                    error=repr(exc)[:1000],
                    lease_until=None,
                    claim_token=None,
                )
                stats.retried += 1
            return
        await _mine(item).update(state=InboxState.DONE, handled_as=label, **done)
        stats.processed += 1
