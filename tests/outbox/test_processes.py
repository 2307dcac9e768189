"""Delivery by real ``fediverse-cop worker`` processes: crash recovery and concurrent claiming."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from fediverse_cop.models import (
    Account,
    ActorType,
    Delivery,
    DeliveryState,
    Follow,
    FollowState,
    acct_key,
)
from fediverse_cop.services import accounts
from fediverse_cop.services.context import ServerContext
from outbox.enqueue import enqueue
from tests.conftest import BACKEND, CLI
from tests.sink import Sink
from tests.test_server import serving

FOLLOWERS = 120


@pytest.fixture
def worker_env(cop_env: dict[str, str]) -> dict[str, str]:
    return {**cop_env, "COP_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8", "COP_LOG_LEVEL": "warning"}


@contextmanager
def worker_process(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [CLI, "worker", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=15)
        if process.stdout:
            process.stdout.close()


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll what another process is doing (the sink records it in this one), for 60 s at most."""
    async with asyncio.timeout(60):
        # The sink records from its own thread; polling is simpler than a cross-thread event.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _audience(ctx: ServerContext, sink: Sink) -> Account:
    """A local sender with FOLLOWERS remote followers, each with its own inbox on the sink."""
    sender = await accounts.create_user(
        ctx, "alice", email="alice@uni-a.edu", password="long enough"
    )
    assert sender.public_key_id is not None
    sink.keys[sender.public_key_id] = sender.public_key_pem
    domain = f"127.0.0.1:{sink.port}"
    for n in range(FOLLOWERS):
        follower = await Account.create(
            username=f"f{n}",
            domain=domain,
            acct_key=acct_key(f"f{n}", domain),
            actor_type=ActorType.PERSON,
            uri=f"http://{domain}/users/f{n}",
            inbox_uri=f"http://{domain}/users/f{n}/inbox",
        )
        await Follow.create(account=follower, target=sender, state=FollowState.ACCEPTED)
    await enqueue(
        {
            "id": f"{sender.uri}/statuses/1/activity",
            "type": "Create",
            "actor": sender.uri,
            "object": {"id": f"{sender.uri}/statuses/1", "type": "Note", "content": "hello"},
        },
        sender,
        [sender.followers_uri or ""],
    )
    return sender


def _expected_paths() -> set[str]:
    return {f"/users/f{n}/inbox" for n in range(FOLLOWERS)}


async def test_a_killed_worker_process_loses_nothing(
    database: ServerContext, sink: Sink, worker_env: dict[str, str]
) -> None:
    await _audience(database, sink)
    sink.default_delay = 0.05
    with worker_process(worker_env, "--concurrency", "4", "--lease-seconds", "2") as first:
        await wait_until(lambda: len(sink.hits()) >= 20)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    received_before_restart = {r.path for r in sink.hits()}
    assert len(received_before_restart) < FOLLOWERS

    sink.default_delay = 0.0
    with worker_process(worker_env, "--concurrency", "8", "--lease-seconds", "2") as second:
        await wait_until(lambda: {r.path for r in sink.hits()} >= _expected_paths())
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
        output = second.stdout.read() if second.stdout else ""
    assert "worker stopped" in output
    assert all(r.signature.verified for r in sink.hits())
    # At least once: an inbox the killed worker was sending to may get a second copy.
    assert {r.path for r in sink.hits()} == _expected_paths()
    states = Counter(d.state for d in await Delivery.all())
    assert states == {DeliveryState.DELIVERED: FOLLOWERS}


@pytest.mark.skipif(BACKEND != "postgres", reason="several worker processes need PostgreSQL")
async def test_two_worker_processes_never_send_the_same_delivery(
    database: ServerContext, sink: Sink, worker_env: dict[str, str]
) -> None:
    await _audience(database, sink)
    sink.default_delay = 0.01
    with (
        worker_process(worker_env, "--concurrency", "4") as one,
        worker_process(worker_env, "--concurrency", "4") as two,
    ):
        await wait_until(lambda: len(sink.hits()) >= FOLLOWERS)
        for process in (one, two):
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
    # Both have exited, so anything either of them sent has arrived.
    per_inbox = Counter(r.path for r in sink.hits())
    assert set(per_inbox) == _expected_paths()
    assert max(per_inbox.values()) == 1


async def test_serve_runs_the_delivery_worker_in_process(
    database: ServerContext, sink: Sink, worker_env: dict[str, str]
) -> None:
    await _audience(database, sink)
    with serving(worker_env):
        await wait_until(lambda: {r.path for r in sink.hits()} >= _expected_paths())
    assert all(r.signature.verified for r in sink.hits())
