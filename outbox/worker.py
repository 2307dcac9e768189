"""The delivery worker: expands fan-out jobs and sends deliveries, one step at a time.

``run_once()`` does one bounded step (claim some jobs and expand them, claim the
due deliveries and send them) and returns what it did; tests call it directly with
an injected clock, and ``run()`` loops over it until told to stop.

Claiming (both backends): candidates are selected inside a transaction with
``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serializes writers and
ignores the clause), then taken with a conditional ``UPDATE`` that sets a lease
and a random claim token only where no live lease exists. A worker that dies
leaves its rows leased until the lease expires, after which any worker takes them
again: delivery is at least once, and receivers dedupe by activity id.

Ordering: a delivery is not claimed while an earlier delivery with the same
ordering key (the activity's object) to the same inbox is still pending, so a
Delete never overtakes its Create.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from activitypub.errors import FetchError
from activitypub.http import SafeHttpClient
from activitypub.keys import PrivateKey, load_private_key_pem
from activitypub.signatures import HttpSignatureAuth, SignaturePreferences
from fediverse_cop import wakeup
from fediverse_cop.models import Account, Delivery, DeliveryState, FanoutJob, JobState
from fediverse_cop.models.claims import claim, no_live_lease
from outbox import health
from outbox.fanout import ActorResolver, Expander
from outbox.health import HealthPolicy
from outbox.retry import Outcome, Verdict, backoff, decide

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# A fan-out job whose expansion fails this often is given up (it is a bug, not a peer).
MAX_JOB_ATTEMPTS = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int = 8
    per_host: int = 4
    batch: int = 200
    jobs_per_step: int = 10
    lease: timedelta = timedelta(minutes=5)
    idle_sleep: float = 1.0
    health: HealthPolicy = field(default_factory=HealthPolicy)


@dataclass(slots=True)
class StepStats:
    jobs: int = 0
    inboxes: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    gone: int = 0
    deferred: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.failed + self.gone

    @property
    def idle(self) -> bool:
        return self.jobs == 0 and self.attempted == 0 and self.deferred == 0


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    job_id: int
    inbox: str
    domain: str
    attempts: int


class KeyCache:
    """Parsed private keys of local senders (parsing a PEM costs more than signing)."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._keys: OrderedDict[int, PrivateKey] = OrderedDict()

    def get(self, account: Account) -> PrivateKey:
        key = self._keys.get(account.id)
        if key is None:
            if not account.private_key_pem:
                raise ValueError(f"account {account.id} has no private key")
            key = load_private_key_pem(account.private_key_pem)
            self._keys[account.id] = key
            while len(self._keys) > self._size:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(account.id)
        return key


class DeliveryWorker:
    def __init__(
        self,
        http: SafeHttpClient,
        *,
        local_domain: str,
        config: WorkerConfig | None = None,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        resolve_actor: ActorResolver | None = None,
    ) -> None:
        self.http = http
        self.config = config or WorkerConfig()
        self.clock = clock
        self.rng = rng or random.Random()
        self.expander = Expander(local_domain, resolve_actor=resolve_actor)
        self.keys = KeyCache()
        self.preferences = SignaturePreferences()
        self._global = asyncio.Semaphore(self.config.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.config.per_host)
        )

    # -- the loop ------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Step until ``stop`` is set; in-flight deliveries finish before returning."""
        while not stop.is_set():
            try:
                stats = await self.run_once()
            except Exception:
                log.exception("delivery step failed")
                stats = StepStats()
            if stats.idle:
                await wakeup.DELIVERIES.sleep(stop, self.config.idle_sleep)

    async def run_once(self) -> StepStats:
        stats = StepStats()
        await self._expand_jobs(stats)
        await self._deliver(stats)
        return stats

    # -- fan-out -------------------------------------------------------------

    async def _expand_jobs(self, stats: StepStats) -> None:
        now = self.clock()
        jobs = await claim(
            FanoutJob,
            Q(state=JobState.PENDING),
            now=now,
            lease=self.config.lease,
            limit=self.config.jobs_per_step,
        )
        for job in jobs:
            try:
                expansion = await self.expander.expand(job, now)
            except Exception as exc:
                log.exception("expanding job %s failed (attempt %d)", job.id, job.attempts)
                retry: dict[str, object] = {"lease_until": now + backoff(job.attempts)}
                if job.attempts >= MAX_JOB_ATTEMPTS:
                    retry = {"state": JobState.FAILED, "finished_at": now, "lease_until": None}
                await FanoutJob.filter(id=job.id).update(last_error=repr(exc)[:500], **retry)
                continue
            await FanoutJob.filter(id=job.id).update(
                state=JobState.DONE, finished_at=self.clock(), lease_until=None
            )
            stats.jobs += 1
            stats.inboxes += expansion.inboxes
            if expansion.skipped:
                log.info(
                    "job %s: %d inboxes, skipped %s", job.id, expansion.inboxes, expansion.skipped
                )

    # -- deliveries ------------------------------------------------------------

    async def _claim(self, now: datetime, stats: StepStats) -> list[_Claimed]:
        token = secrets.token_hex(16)
        live_lease = no_live_lease(now)
        async with in_transaction():
            candidates = (
                await Delivery.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
                .filter(live_lease)
                .order_by("next_attempt_at", "id")
                .limit(self.config.batch)
                .select_for_update(skip_locked=True)
                .values_list("id", "inbox", "ordering_key", "domain")
            )
            if not candidates:
                return []
            blocked = await _blocked_by_earlier(candidates)
            circuits = await health.open_circuits((c[3] for c in candidates), now)
            chosen: list[int] = []
            for delivery_id, _, _, domain in candidates:
                if delivery_id in blocked:
                    continue
                if domain in circuits:
                    await Delivery.filter(id=delivery_id).update(next_attempt_at=circuits[domain])
                    stats.deferred += 1
                    continue
                chosen.append(delivery_id)
            if not chosen:
                return []
            await (
                Delivery.filter(id__in=chosen)
                .filter(live_lease)
                .update(
                    lease_until=now + self.config.lease,
                    claim_token=token,
                    attempts=F("attempts") + 1,
                )
            )
        rows = await Delivery.filter(claim_token=token).values_list(
            "id", "job_id", "inbox", "domain", "attempts"
        )
        return [_Claimed(*row) for row in rows]

    async def _deliver(self, stats: StepStats) -> None:
        now = self.clock()
        claimed = await self._claim(now, stats)
        if not claimed:
            return
        jobs = {
            job.id: job
            for job in await FanoutJob.filter(id__in={c.job_id for c in claimed}).select_related(
                "sender"
            )
        }
        bodies = {job_id: orjson.dumps(job.activity) for job_id, job in jobs.items()}
        outcomes = await asyncio.gather(
            *(self._send(c, jobs[c.job_id].sender, bodies[c.job_id]) for c in claimed)
        )
        await self._record(list(zip(claimed, outcomes, strict=True)), stats)

    async def _send(self, delivery: _Claimed, sender: Account, body: bytes) -> Outcome:
        async with self._global, self._hosts[delivery.domain]:
            try:
                auth = HttpSignatureAuth(
                    sender.public_key_id or sender.uri + "#main-key",
                    self.keys.get(sender),
                    preferences=self.preferences,
                    clock=self.clock,
                )
                response = await self.http.post(delivery.inbox, content=body, auth=auth)
            except FetchError as exc:
                return Outcome(None, error=f"{type(exc).__name__}: {exc}", retryable=exc.retryable)
            except ValueError as exc:
                return Outcome(None, error=str(exc), retryable=False)
        detail = response.body[:200].decode("utf-8", "replace") if not response.is_success else ""
        return Outcome(response.status, error=detail, retry_after=response.retry_after)

    async def _record(self, results: list[tuple[_Claimed, Outcome]], stats: StepStats) -> None:
        now = self.clock()
        delivered: list[int] = []
        answered: set[str] = set()
        for delivery, outcome in results:
            decision = decide(outcome, delivery.attempts, now, rng=self.rng)
            if outcome.status is not None and (
                outcome.status < 500 and outcome.status not in (408, 429)
            ):
                answered.add(delivery.domain)
            if decision.verdict is Verdict.DELIVERED:
                delivered.append(delivery.id)
                continue
            log.warning(
                "delivery %s to %s, attempt %d: %s -> %s",
                delivery.id,
                delivery.inbox,
                delivery.attempts,
                outcome.describe(),
                decision.verdict.value,
            )
            if outcome.status is None or outcome.status >= 500 or outcome.status == 408:
                await health.record_failure(
                    delivery.domain, now, outcome.describe(), self.config.health
                )
            update: dict[str, object] = {
                "lease_until": None,
                "claim_token": None,
                "last_status": outcome.status,
                "last_error": outcome.describe()[:1000],
            }
            if decision.verdict is Verdict.RETRY:
                update["next_attempt_at"] = decision.next_attempt_at
                stats.retried += 1
            elif decision.verdict is Verdict.GONE:
                update |= {"state": DeliveryState.GONE, "finished_at": now}
                stats.gone += 1
            else:
                update |= {"state": DeliveryState.FAILED, "finished_at": now}
                stats.failed += 1
            await Delivery.filter(id=delivery.id).update(**update)
        if delivered:
            await Delivery.filter(id__in=delivered).update(
                state=DeliveryState.DELIVERED,
                finished_at=now,
                lease_until=None,
                claim_token=None,
                last_status=200,
                last_error="",
            )
            stats.delivered += len(delivered)
        await health.record_success(answered, now)


async def _blocked_by_earlier(candidates: list[tuple[int, str, str, str]]) -> set[int]:
    """Candidates that must wait for an earlier pending delivery of the same key and inbox."""
    keyed = [(i, inbox, key) for i, inbox, key, _ in candidates if key]
    if not keyed:
        return set()
    earlier = await Delivery.filter(
        state=DeliveryState.PENDING,
        inbox__in={inbox for _, inbox, _ in keyed},
        ordering_key__in={key for _, _, key in keyed},
    ).values_list("id", "inbox", "ordering_key")
    first: dict[tuple[str, str], int] = {}
    for delivery_id, inbox, key in earlier:
        pair = (inbox, key)
        if pair not in first or delivery_id < first[pair]:
            first[pair] = delivery_id
    return {i for i, inbox, key in keyed if first.get((inbox, key), i) < i}
