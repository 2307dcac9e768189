"""``fediverse-cop queue status / retry / purge`` against a real queue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from fediverse_cop import db
from fediverse_cop.models import Account, ActorType, Delivery, DomainHealth, acct_key
from fediverse_cop.services import accounts
from fediverse_cop.services.context import ServerContext
from fediverse_cop.settings import Settings
from outbox.enqueue import enqueue
from outbox.fanout import Expander
from tests.conftest import Cli


def seed(settings: Settings, body: Callable[[ServerContext], Awaitable[None]]) -> None:
    async def wrapper() -> None:
        async with db.database(settings):
            await body(ServerContext(settings))

    asyncio.run(wrapper())


async def _two_domains(ctx: ServerContext) -> None:
    sender = await accounts.create_user(ctx, "alice", email="a@uni-a.edu", password="long enough")
    recipients: list[str] = []
    for host in ("up.example", "down.example", "down.example"):
        n = len(recipients)
        remote = await Account.create(
            username=f"u{n}",
            domain=host,
            acct_key=acct_key(f"u{n}", host),
            actor_type=ActorType.PERSON,
            uri=f"https://{host}/users/u{n}",
            inbox_uri=f"https://{host}/users/u{n}/inbox",
        )
        recipients.append(remote.uri)
    job = await enqueue({"id": "https://cop.test/a/1", "type": "Create"}, sender, recipients)
    now = datetime.now(UTC)
    await Expander(ctx.domain).expand(job, now)
    await Delivery.filter(domain="down.example").update(
        attempts=3, next_attempt_at=now + timedelta(hours=1)
    )
    await DomainHealth.create(
        domain="down.example",
        failure_days=["2026-11-20", "2026-11-21"],
        consecutive_failures=3,
        last_error="HTTP 503",
    )


def test_status_retry_and_purge(cli: Cli, settings: Settings) -> None:
    seed(settings, _two_domains)
    status = cli.ok("queue", "status", "--json").json()
    assert {k: v for k, v in status.items() if not k.endswith("_domains")} == {
        "jobs_pending": 1,
        "deliveries_pending": 3,
        "deliveries_due": 1,
        "deliveries_retrying": 2,
        "deliveries_failed": 0,
        "deliveries_gone": 0,
    }
    assert [(d["domain"], d["pending"], d["failure_days"]) for d in status["failing_domains"]] == [
        ("down.example", 2, 2)
    ]
    assert status["unavailable_domains"] == []
    assert "down.example" in cli.ok("queue", "status").stdout

    retried = cli.ok("queue", "retry", "Down.Example.")
    assert "down.example: failures cleared, 2 pending deliveries due now" in retried.stdout
    after = cli.ok("queue", "status", "--json").json()
    assert (after["deliveries_due"], after["failing_domains"]) == (3, [])

    refused = cli("queue", "purge", "--domain", "down.example")
    assert refused.code == 1
    purged = cli.ok("queue", "purge", "--domain", "down.example", "--yes")
    assert "dropped 2 pending deliveries to down.example" in purged.stdout
    assert cli.ok("queue", "status", "--json").json()["deliveries_pending"] == 1


def test_queue_errors(cli: Cli) -> None:
    bad = cli("queue", "retry", "evil.example/x")
    assert bad.code == 1
    assert bad.stderr.startswith("error: invalid domain:")
    assert cli("queue", "purge", "--yes").code == 2
