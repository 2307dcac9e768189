"""Following across real instances: WebFinger, signed Follow, Accept, Undo over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from fediverse_cop.models import Account, Follow, FollowState, Status, acct_key
from fediverse_cop.services import follows, statuses
from fediverse_cop.services.remote import Federation, resolve
from fediverse_cop.services.statuses import Draft
from tests.federation.conftest import Instance, eventually, follow_is


def test_a_user_on_b_follows_an_open_account_on_a(
    instances: Callable[[int], list[Instance]],
) -> None:
    a, b = instances(2)
    a.cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    b.cli.ok("user", "create", "bob", "--email", "bob@uni-b.edu")
    alice_uri, bob_uri = a.actor("alice"), b.actor("bob")

    found = b.cli.ok("federation", "lookup", f"@{a.handle('alice')}", "--json").json()
    assert (found["uri"], found["handle"], found["local"]) == (alice_uri, a.handle("alice"), False)

    async def follow(fed: Federation) -> None:
        bob = await Account.get(acct_key="bob", local=True)
        row = await follows.follow(fed, bob, await resolve(fed, a.handle("alice")))
        assert row.state is FollowState.PENDING

    async def accepted_on_b(fed: Federation) -> None:
        await eventually(follow_is(bob_uri, alice_uri, FollowState.ACCEPTED))

    async def follower_on_a(fed: Federation) -> None:
        row = await Follow.get(target__uri=alice_uri).select_related("account")
        assert (row.account.uri, row.state) == (bob_uri, FollowState.ACCEPTED)
        assert row.account.acct_key == acct_key("bob", b.domain)

    async def unfollow(fed: Federation) -> None:
        bob = await Account.get(acct_key="bob", local=True)
        await follows.unfollow(fed, bob, await Account.get(uri=alice_uri))

    async def gone_on_a(fed: Federation) -> None:
        await eventually(follow_is(bob_uri, alice_uri, None))

    b.call(follow)
    b.call(accepted_on_b)
    a.call(follower_on_a)
    b.call(unfollow)
    a.call(gone_on_a)


def test_a_locked_account_approves_the_request(
    instances: Callable[[int], list[Instance]],
) -> None:
    a, b = instances(2)
    a.cli.ok("user", "create", "carol", "--email", "carol@uni-a.edu")
    b.cli.ok("user", "create", "dan", "--email", "dan@uni-b.edu")
    carol_uri, dan_uri = a.actor("carol"), b.actor("dan")

    async def lock(fed: Federation) -> None:
        await Account.filter(acct_key="carol").update(manually_approves_followers=True)

    async def follow(fed: Federation) -> None:
        dan = await Account.get(acct_key="dan", local=True)
        await follows.follow(fed, dan, await resolve(fed, a.handle("carol")))

    async def approve(fed: Federation) -> None:
        await eventually(follow_is(dan_uri, carol_uri, FollowState.PENDING))
        carol = await Account.get(acct_key="carol", local=True)
        await follows.answer_request(fed, carol, await Account.get(uri=dan_uri), accept=True)

    async def accepted_on_b(fed: Federation) -> None:
        await eventually(follow_is(dan_uri, carol_uri, FollowState.ACCEPTED))

    a.call(lock)
    b.call(follow)
    a.call(approve)
    b.call(accepted_on_b)


def test_a_deleted_account_is_deleted_on_the_followers_servers(
    instances: Callable[[int], list[Instance]],
) -> None:
    a, b = instances(2)
    a.cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    b.cli.ok("user", "create", "bob", "--email", "bob@uni-b.edu")
    b.follow("bob", a, "alice")

    async def alice_posts(fed: Federation) -> str:
        alice = await Account.get(acct_key="alice", local=True)
        return (await statuses.post(fed, alice, Draft("soon gone"))).uri

    post_uri = a.call(alice_posts)

    async def post_arrived(fed: Federation) -> None:
        async def arrived() -> bool:
            return await Status.exists(uri=post_uri)

        await eventually(arrived)

    b.call(post_arrived)
    deleted = a.cli.ok("user", "delete", "alice", "--yes")
    assert "deleted alice" in deleted.stdout
    gone = httpx.get(a.actor("alice"), headers={"Accept": "application/activity+json"})
    assert (gone.status_code, gone.json()["type"]) == (410, "Tombstone")
    assert a.cli("user", "create", "alice", "--email", "other@uni-a.edu").code == 1

    async def deleted_on_b(fed: Federation) -> None:
        async def applied() -> bool:
            account = await Account.get(uri=a.actor("alice"))
            return account.suspended_at is not None

        await eventually(applied)
        assert (await Status.get(uri=post_uri)).deleted_at is not None

    b.call(deleted_on_b)
