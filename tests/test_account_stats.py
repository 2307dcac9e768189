"""Account counts kept by database triggers (migration 0018), on the test's backend.

After each change the stored counts must equal a count made from the rows themselves,
whatever wrote the rows (the ORM one at a time, a bulk update, a delete).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from fediverse_cop.ids import new_id
from fediverse_cop.models import Account, AccountStats, Follow, FollowState, Status, Visibility
from fediverse_cop.services import accounts
from fediverse_cop.services.context import ServerContext
from tests.conftest import BACKEND, _asyncpg_dsn

START = datetime(2026, 1, 1, tzinfo=UTC)


async def _truth(account: Account) -> tuple[int, int, int, datetime | None]:
    alive = Status.filter(account_id=account.id, deleted_at=None)
    newest = await alive.order_by("-published_at").first()
    return (
        await alive.count(),
        await Follow.filter(target_id=account.id, state=FollowState.ACCEPTED).count(),
        await Follow.filter(account_id=account.id, state=FollowState.ACCEPTED).count(),
        newest.published_at if newest is not None else None,
    )


async def _stored(account: Account) -> tuple[int, int, int, datetime | None]:
    row = await AccountStats.get_or_none(account_id=account.id)
    if row is None:
        return (0, 0, 0, None)
    return (row.statuses_count, row.followers_count, row.following_count, row.last_status_at)


async def _post(author: Account, minutes: int, **extra: Any) -> Status:
    sid = new_id()
    return await Status.create(
        id=sid,
        uri=f"{author.uri}/statuses/{sid}",
        account_id=author.id,
        local=True,
        content="<p>post</p>",
        visibility=Visibility.PUBLIC,
        published_at=START + timedelta(minutes=minutes),
        **extra,
    )


async def test_counts_follow_every_change(database: ServerContext) -> None:
    alice = await accounts.create_user(database, "alice", email="a@uni-a.edu", password="x" * 12)
    bob = await accounts.create_user(database, "bob", email="b@uni-a.edu", password="x" * 12)
    carol = await accounts.create_user(database, "carol", email="c@uni-a.edu", password="x" * 12)
    people = (alice, bob, carol)

    async def check() -> None:
        for person in people:
            assert await _stored(person) == await _truth(person), person.username

    await check()
    first = await _post(alice, 1)
    second = await _post(alice, 2)
    newest = await _post(alice, 3)
    await _post(bob, 5, deleted_at=START)  # stored deleted: never counted
    await _post(bob, 4, reblog_of_id=first.id)  # a boost counts, as on Mastodon
    await check()
    assert await _stored(alice) == (3, 0, 0, START + timedelta(minutes=3))

    # Deleting the newest post takes the date back to the one before.
    newest.deleted_at = START
    await newest.save()
    await check()
    assert (await _stored(alice))[3] == START + timedelta(minutes=2)
    # Saving other columns changes nothing; undeleting counts it again.
    second.content = "<p>edited</p>"
    await second.save()
    await Status.filter(id=newest.id).update(deleted_at=None)
    await check()
    await Status.filter(id=second.id).delete()
    await Status.filter(account_id=bob.id).update(deleted_at=START)  # many rows at once
    await check()

    pending = await Follow.create(
        account_id=bob.id, target_id=alice.id, state=FollowState.PENDING, uri="urn:follow:1"
    )
    await Follow.create(
        account_id=carol.id, target_id=alice.id, state=FollowState.ACCEPTED, uri="urn:follow:2"
    )
    await check()
    assert (await _stored(alice))[1:3] == (1, 0)
    pending.state = FollowState.ACCEPTED
    await pending.save()
    await check()
    assert (await _stored(alice))[1] == 2
    assert (await _stored(bob))[2] == 1
    await Follow.filter(id=pending.id).update(state=FollowState.PENDING)
    await Follow.filter(account_id=carol.id).delete()
    await check()
    assert await _stored(alice) == (2, 0, 0, START + timedelta(minutes=3))


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLite has one writer at a time")
async def test_concurrent_writers_leave_the_newest_date_right(database: ServerContext) -> None:
    """One transaction adds a newer post and holds the counts row; another deletes an
    older post meanwhile: the date it writes once it gets the row includes the newer."""
    alice = await accounts.create_user(database, "alice", email="a@uni-a.edu", password="x" * 12)
    older = await _post(alice, 1)
    await _post(alice, 2)
    dsn = _asyncpg_dsn(database.settings.database_url)
    adding, deleting = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        adding_tx, deleting_tx = adding.transaction(), deleting.transaction()
        await adding_tx.start()
        await adding.execute(
            "INSERT INTO statuses (id, uri, account_id, local, object_type, content, text,"
            ' summary, sensitive, visibility, "to", cc, attachments, published_at, created_at)'
            " VALUES ($1, 'urn:newer', $2, TRUE, 'Note', '', '', '', FALSE, 'public', '[]',"
            " '[]', '[]', $3, now())",
            new_id(),
            alice.id,
            START + timedelta(minutes=9),
        )
        await deleting_tx.start()
        delete = asyncio.create_task(
            deleting.execute("DELETE FROM statuses WHERE id = $1", older.id)
        )
        await asyncio.sleep(0.3)
        assert not delete.done()  # waiting for the counts row
        await adding_tx.commit()
        await delete
        await deleting_tx.commit()
    finally:
        await adding.close()
        await deleting.close()
    assert await _stored(alice) == await _truth(alice)
    assert (await _stored(alice))[3] == START + timedelta(minutes=9)
