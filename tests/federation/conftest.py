"""Several real instances: separate ``fediverse-cop serve`` processes with their own databases."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from activitypub.http import SafeHttpClient
from fediverse_cop import db
from fediverse_cop.models import (
    Account,
    Delivery,
    DeliveryState,
    FanoutJob,
    Follow,
    FollowState,
    InboxItem,
    InboxState,
    JobState,
)
from fediverse_cop.runtime import make_http_client
from fediverse_cop.services import follows
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.remote import Federation, federation_for, resolve
from fediverse_cop.settings import Settings, load_settings
from tests.conftest import Cli
from tests.test_server import free_port, serving_all

T = TypeVar("T")


@dataclass
class Instance:
    name: str
    env: dict[str, str]
    base: str = ""

    @property
    def domain(self) -> str:
        return self.env["COP_DOMAIN"]

    @property
    def host(self) -> str:
        return self.domain.rsplit(":", 1)[0]

    @property
    def settings(self) -> Settings:
        return load_settings(environ=self.env)

    @property
    def cli(self) -> Cli:
        return Cli(self.env)

    def handle(self, user: str) -> str:
        return f"{user}@{self.domain}"

    def actor(self, user: str) -> str:
        return f"http://{self.domain}/users/{user}"

    def call(self, body: Callable[[Federation], Awaitable[T]]) -> T:
        """Run service code against this instance's database, as the instance would."""

        async def wrapper() -> T:
            settings = self.settings
            async with db.database(settings), make_http_client(settings) as http:
                fed = await federation_for(ServerContext(settings), http)
                return await body(fed)

        return asyncio.run(wrapper())

    def follow(self, user: str, other: Instance, target: str, *, wait: bool = True) -> None:
        """``user`` here follows ``target`` on ``other``; returns once the Accept has arrived.

        With ``wait=False`` it returns once the Follow is queued: several follows can then
        travel at once, and :meth:`accepted` waits for each.
        """

        async def body(fed: Federation) -> None:
            follower = await Account.get(acct_key=user, local=True)
            await follows.follow(fed, follower, await resolve(fed, other.handle(target)))

        self.call(body)
        if wait:
            self.accepted(user, other, target)

    def accepted(self, user: str, other: Instance, target: str) -> None:
        """Wait until ``user`` here has been accepted as a follower of ``target`` on ``other``."""

        async def body(fed: Federation) -> None:
            await eventually(follow_is(self.actor(user), other.actor(target), FollowState.ACCEPTED))

        self.call(body)

    def settle(self) -> None:
        """Wait until this instance has nothing left to send or to process (30 s at most)."""

        async def body(fed: Federation) -> None:
            await eventually(settled)

        self.call(body)


@pytest.fixture
def instances(
    new_database: Callable[[], str], tmp_path: Path, cop_env: dict[str, str]
) -> Iterator[Callable[[int], list[Instance]]]:
    """Start ``n`` instances on loopback ports, named a, b, c…"""
    with ExitStack() as stack:

        def start(n: int) -> list[Instance]:
            made = []
            for index in range(n):
                name = "abcdefgh"[index]
                port = free_port()
                env = {
                    **cop_env,
                    "COP_DATABASE_URL": new_database(),
                    "COP_DATA_DIR": str(tmp_path / f"data-{name}"),
                    "COP_DOMAIN": f"127.0.0.1:{port}",
                    "COP_SCHEME": "http",
                    "COP_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                }
                instance = Instance(name, env)
                instance.cli.ok("init")
                made.append(instance)
            servers = [(i.env, int(i.domain.rsplit(":", 1)[1])) for i in made]
            bases = stack.enter_context(serving_all(servers))
            for instance, base in zip(made, bases, strict=True):
                instance.base = base
            return made

        yield start


def follow_is(
    follower: str, target: str, state: FollowState | None
) -> Callable[[], Awaitable[bool]]:
    """A check that ``follower`` follows ``target`` in ``state`` (None: no follow at all)."""

    async def check() -> bool:
        row = await Follow.get_or_none(account__uri=follower, target__uri=target)
        return (row.state if row else None) is state

    return check


async def settled() -> bool:
    """No fan-out job, delivery or inbox item is pending (a retry pending counts as pending)."""
    return not (
        await FanoutJob.exists(state=JobState.PENDING)
        or await Delivery.exists(state=DeliveryState.PENDING)
        or await InboxItem.exists(state=InboxState.PENDING)
    )


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``check`` (reading a database another process writes) until it holds, 30 s at most."""
    async with asyncio.timeout(30):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.1)


__all__ = ["Instance", "SafeHttpClient", "eventually", "settled"]
