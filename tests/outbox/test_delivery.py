"""The delivery engine against real HTTP sinks on loopback, stepped with run_once()."""

from __future__ import annotations

from datetime import timedelta

import orjson

from activitypub.http import SafeHttpClient
from fediverse_cop.models import (
    Account,
    Delivery,
    DeliveryState,
    DomainBlockSeverity,
    DomainHealth,
    FanoutJob,
    JobState,
)
from fediverse_cop.services import domains, follows
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.remote import Federation
from outbox import health
from outbox.enqueue import enqueue
from outbox.health import HealthPolicy
from outbox.worker import StepStats, WorkerConfig
from tests.conftest import Clock
from tests.outbox.conftest import Remote, WorkerFactory
from tests.sink import Reply, Sink

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def note_create(sender: Account, n: int = 1) -> dict[str, object]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{sender.uri}/statuses/{n}/activity",
        "type": "Create",
        "actor": sender.uri,
        "to": [PUBLIC],
        "cc": [sender.followers_uri],
        "object": {"id": f"{sender.uri}/statuses/{n}", "type": "Note", "content": "hi"},
    }


async def states() -> dict[str, str]:
    return {d.inbox: d.state.value for d in await Delivery.all()}


async def test_enqueue_writes_one_job_and_nothing_else(sender: Account, remote: Remote) -> None:
    await remote.followers(sender, "a.sink.test", 5)
    job = await enqueue(note_create(sender), sender, [PUBLIC, sender.followers_uri or ""])
    assert await FanoutJob.all().count() == 1
    assert await Delivery.all().count() == 0
    assert job.state is JobState.PENDING
    assert job.ordering_key == f"{sender.uri}/statuses/1"


async def test_delivers_signed_once_per_inbox_preferring_shared_inboxes(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory
) -> None:
    await remote.followers(sender, "a.sink.test", 3)  # one shared inbox
    await remote.followers(sender, "b.sink.test", 2, shared=False)  # two personal inboxes
    direct = await remote.account("c.sink.test", name="carol")
    activity = note_create(sender)
    await enqueue(activity, sender, [PUBLIC, sender.followers_uri or "", direct.uri])

    stats = await make_worker().run_once()

    assert (stats.jobs, stats.inboxes, stats.delivered) == (1, 4, 4)
    paths = sorted((r.host, r.path) for r in sink.hits())
    assert paths == [
        ("a.sink.test", "/inbox"),
        ("b.sink.test", "/users/r4/inbox"),
        ("b.sink.test", "/users/r5/inbox"),
        ("c.sink.test", "/inbox"),
    ]
    for received in sink.hits():
        assert received.signature.verified, received.signature
        assert received.signature.key_id == sender.public_key_id
        assert orjson.loads(received.body) == activity
    assert set((await states()).values()) == {"delivered"}
    assert (await make_worker().run_once()).idle


async def test_skips_local_suspended_and_unavailable_domains(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    await remote.followers(sender, "ok.sink.test", 1)
    await remote.followers(sender, "evil.sink.test", 1)
    await remote.followers(sender, "sub.banned.sink.test", 1)
    await remote.followers(sender, "down.sink.test", 1)
    await domains.block_domain("evil.sink.test", DomainBlockSeverity.SUSPEND)
    await domains.block_domain("banned.sink.test", DomainBlockSeverity.SUSPEND)
    await domains.block_domain("ok.sink.test", DomainBlockSeverity.SILENCE)
    await DomainHealth.create(domain=sink.domain("down.sink.test"), unavailable_since=clock())
    local = await Account.get(username="alice")
    await enqueue(note_create(sender), sender, [sender.followers_uri or "", local.uri])

    stats = await make_worker().run_once()

    assert stats.delivered == 1
    assert [r.host for r in sink.hits()] == ["ok.sink.test"]


async def test_permanent_failures_are_not_retried(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    forbidden = await remote.account("x.sink.test", shared=False)
    gone = await remote.account("y.sink.test", shared=False)
    sink.program("x.sink.test", f"/users/{forbidden.username}/inbox", Reply(403))
    sink.program("y.sink.test", f"/users/{gone.username}/inbox", Reply(410))
    await enqueue(note_create(sender), sender, [forbidden.uri, gone.uri])

    stats = await make_worker().run_once()

    assert (stats.failed, stats.gone, stats.retried) == (1, 1, 0)
    assert sorted((await states()).values()) == ["failed", "gone"]
    clock.advance(days=5)
    assert (await make_worker().run_once()).idle
    assert len(sink.hits()) == 2


async def test_retries_follow_the_backoff_schedule(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    target = await remote.account("flaky.sink.test")
    sink.program("flaky.sink.test", "/inbox", Reply(500), Reply(503), Reply(502))
    await enqueue(note_create(sender), sender, [target.uri])
    worker = make_worker()
    start = clock()

    assert (await worker.run_once()).retried == 1
    first = await Delivery.get()
    assert (first.attempts, first.last_status, first.state) == (1, 500, DeliveryState.PENDING)
    assert first.next_attempt_at - start == timedelta(seconds=15)  # (1-1)**4 + 15, no jitter

    clock.advance(seconds=14)
    assert (await worker.run_once()).idle  # not due yet: no request
    assert len(sink.hits()) == 1

    clock.advance(seconds=1)
    assert (await worker.run_once()).retried == 1
    second = await Delivery.get()
    assert second.attempts == 2
    delay = second.next_attempt_at - clock()
    assert timedelta(seconds=16) <= delay <= timedelta(seconds=16.5)  # 1 + 15 + jitter <= 0.5

    clock.now = second.next_attempt_at
    assert (await worker.run_once()).retried == 1
    clock.now = (await Delivery.get()).next_attempt_at
    assert (await worker.run_once()).delivered == 1
    assert len(sink.hits()) == 4
    assert (await Delivery.get()).state is DeliveryState.DELIVERED


async def test_the_schedule_gives_up_after_the_last_attempt(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    target = await remote.account("dead.sink.test")
    sink.program("dead.sink.test", "/inbox", *[Reply(500)] * 3)
    await enqueue(note_create(sender), sender, [target.uri])
    worker = make_worker(WorkerConfig(health=HealthPolicy(circuit_threshold=100)))
    await worker.run_once()
    await Delivery.all().update(attempts=16)  # as if sixteen attempts had failed
    clock.now = (await Delivery.get()).next_attempt_at
    stats = await worker.run_once()
    assert stats.failed == 1
    delivery = await Delivery.get()
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 17)


async def test_429_honours_retry_after(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    target = await remote.account("busy.sink.test")
    sink.program("busy.sink.test", "/inbox", Reply(429, headers={"Retry-After": "600"}))
    await enqueue(note_create(sender), sender, [target.uri])
    await make_worker().run_once()
    delivery = await Delivery.get()
    assert delivery.next_attempt_at - clock() == timedelta(seconds=600)
    assert await DomainHealth.filter(domain=sink.domain("busy.sink.test")).count() == 0


async def test_a_slow_server_hits_the_deadline_and_is_retried(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    target = await remote.account("slow.sink.test")
    sink.program("slow.sink.test", "/inbox", Reply(202, delay=3.0))
    await enqueue(note_create(sender), sender, [target.uri])
    stats = await make_worker().run_once()
    assert stats.retried == 1
    delivery = await Delivery.get()
    assert delivery.last_status is None
    assert delivery.last_error.startswith("Timeout")
    row = await DomainHealth.get(domain=sink.domain("slow.sink.test"))
    assert row.consecutive_failures == 1


async def test_a_domain_failing_on_seven_days_becomes_unavailable_until_it_answers(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    target = await remote.account("gone-away.sink.test")
    domain = sink.domain("gone-away.sink.test")
    sink.program("gone-away.sink.test", "/inbox", *[Reply(503)] * 500)
    worker = make_worker(WorkerConfig(health=HealthPolicy(circuit_threshold=100)))
    for day in range(7):
        await enqueue(note_create(sender, day), sender, [target.uri])
        await worker.run_once()
        row = await DomainHealth.get(domain=domain)
        assert len(row.failure_days) == day + 1
        assert (row.unavailable_since is not None) == (day == 6)
        clock.advance(days=1)
    # New work skips the unavailable domain entirely.
    hits = len(sink.hits())
    await Delivery.all().update(state=DeliveryState.FAILED)
    await enqueue(note_create(sender, 99), sender, [target.uri])
    stats = await worker.run_once()
    assert (stats.jobs, stats.inboxes) == (1, 0)
    assert len(sink.hits()) == hits
    # It answers again (an operator's `queue retry`, or an activity from it).
    assert await health.mark_available(domain)
    assert (await DomainHealth.get(domain=domain)).unavailable_since is None
    sink.clear_program("gone-away.sink.test", "/inbox")
    await enqueue(note_create(sender, 100), sender, [target.uri])
    stats = await worker.run_once()
    assert (stats.inboxes, stats.delivered) == (1, 1)


async def test_success_clears_failure_days(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    target = await remote.account("wobbly.sink.test")
    domain = sink.domain("wobbly.sink.test")
    sink.program("wobbly.sink.test", "/inbox", Reply(503))
    await enqueue(note_create(sender), sender, [target.uri])
    worker = make_worker()
    await worker.run_once()
    assert (await DomainHealth.get(domain=domain)).failure_days == [clock().date().isoformat()]
    clock.now = (await Delivery.get()).next_attempt_at
    assert (await worker.run_once()).delivered == 1
    row = await DomainHealth.get(domain=domain)
    assert (row.failure_days, row.consecutive_failures, row.unavailable_since) == ([], 0, None)


async def test_circuit_breaker_fails_fast_during_the_cool_off(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    targets = [await remote.account("breaker.sink.test", shared=False) for _ in range(5)]
    for target in targets:
        sink.program("breaker.sink.test", f"/users/{target.username}/inbox", Reply(500))
    config = WorkerConfig(
        batch=3,
        health=HealthPolicy(circuit_threshold=3, circuit_cooloff=timedelta(minutes=10)),
    )
    worker = make_worker(config)
    await enqueue(note_create(sender), sender, [t.uri for t in targets])
    first = await worker.run_once()
    assert first.retried == 3
    row = await DomainHealth.get(domain=sink.domain("breaker.sink.test"))
    assert row.circuit_open_until == clock() + timedelta(minutes=10)
    # The two deliveries left are due, but the breaker is open: no request is made.
    second = await worker.run_once()
    assert (second.attempted, second.deferred) == (0, 2)
    assert len(sink.hits()) == 3
    deferred = await Delivery.filter(attempts=0)
    assert {d.next_attempt_at for d in deferred} == {clock() + timedelta(minutes=10)}


async def test_deliveries_about_one_object_keep_their_order(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    target = await remote.account("order.sink.test")
    sink.program("order.sink.test", "/inbox", Reply(500))
    create = note_create(sender)
    delete = {
        "id": f"{sender.uri}/statuses/1#delete",
        "type": "Delete",
        "actor": sender.uri,
        "object": f"{sender.uri}/statuses/1",
    }
    await enqueue(create, sender, [target.uri])
    await enqueue(delete, sender, [target.uri])
    worker = make_worker()
    stats = await worker.run_once()
    assert (stats.jobs, stats.retried, stats.delivered) == (2, 1, 0)  # the Delete waits
    clock.advance(minutes=5)
    await worker.run_once()
    await worker.run_once()
    kinds = [orjson.loads(r.body)["type"] for r in sink.hits()]
    assert kinds == ["Create", "Create", "Delete"]


async def test_a_crashed_worker_s_leases_expire_and_the_work_is_done(
    sender: Account, remote: Remote, sink: Sink, make_worker: WorkerFactory, clock: Clock
) -> None:
    await remote.followers(sender, "crash.sink.test", 20, shared=False)
    await enqueue(note_create(sender), sender, [sender.followers_uri or ""])
    crashed = make_worker(WorkerConfig(batch=8))
    # The worker expands the job and claims a batch, then dies before sending.
    await crashed._expand_jobs(stats := StepStats())
    claimed = await crashed._claim(clock(), stats)
    assert len(claimed) == 8
    survivor = make_worker(WorkerConfig(batch=50))
    assert (await survivor.run_once()).delivered == 12  # leased rows are left alone
    clock.advance(minutes=6)  # past the 5-minute lease
    assert (await survivor.run_once()).delivered == 8
    assert sorted(r.path for r in sink.hits()) == sorted(f"/users/r{i}/inbox" for i in range(1, 21))


async def test_an_unfollow_never_arrives_before_its_retried_follow(
    database: ServerContext,
    sink_http: SafeHttpClient,
    sender: Account,
    remote: Remote,
    sink: Sink,
    make_worker: WorkerFactory,
    clock: Clock,
) -> None:
    fed = Federation(database, sink_http)
    bob = await remote.account("peer.sink.test")
    sink.program("peer.sink.test", "/inbox", Reply(503))  # the first Follow fails
    worker = make_worker()
    await follows.follow(fed, sender, bob)
    assert (await worker.run_once()).retried == 1
    await follows.unfollow(fed, sender, bob)
    assert (await worker.run_once()).attempted == 0  # the Undo waits for the Follow
    clock.advance(seconds=120)
    await worker.run_once()
    await worker.run_once()
    order = [orjson.loads(r.body)["type"] for r in sink.posts("peer.sink.test")]
    assert order == ["Follow", "Follow", "Undo"]
