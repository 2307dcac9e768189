"""Fixtures for delivery tests: the loopback sink, a steppable clock, senders and followers."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from activitypub.http import SafeHttpClient
from fediverse_cop.models import Account, ActorType, Follow, FollowState, acct_key
from fediverse_cop.services import accounts
from fediverse_cop.services.context import ServerContext
from outbox.worker import DeliveryWorker, WorkerConfig
from tests.conftest import Clock
from tests.sink import Sink

WorkerFactory = Callable[..., DeliveryWorker]


@pytest.fixture
def make_worker(database: ServerContext, sink_http: SafeHttpClient, clock: Clock) -> WorkerFactory:
    def factory(config: WorkerConfig | None = None) -> DeliveryWorker:
        return DeliveryWorker(
            sink_http,
            local_domain=database.domain,
            config=config,
            clock=clock,
            rng=random.Random(7),
        )

    return factory


@pytest.fixture
async def sender(database: ServerContext, sink: Sink) -> Account:
    account = await accounts.create_user(
        database, "alice", email="alice@uni-a.edu", password="long enough"
    )
    assert account.public_key_id is not None
    sink.keys[account.public_key_id] = account.public_key_pem
    return account


class Remote:
    """Creates remote accounts whose inboxes live on the sink."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.count = 0

    async def account(self, host: str, *, shared: bool = True, name: str | None = None) -> Account:
        self.count += 1
        username = name or f"r{self.count}"
        domain = self.sink.domain(host)
        return await Account.create(
            username=username,
            domain=domain,
            acct_key=acct_key(username, domain),
            local=False,
            actor_type=ActorType.PERSON,
            uri=self.sink.url(host, f"/users/{username}"),
            inbox_uri=self.sink.url(host, f"/users/{username}/inbox"),
            shared_inbox_uri=self.sink.url(host, "/inbox") if shared else None,
        )

    async def followers(self, target: Account, host: str, n: int, *, shared: bool = True) -> None:
        for _ in range(n):
            follower = await self.account(host, shared=shared)
            await Follow.create(account=follower, target=target, state=FollowState.ACCEPTED)


@pytest.fixture
def remote(sink: Sink) -> Remote:
    return Remote(sink)
