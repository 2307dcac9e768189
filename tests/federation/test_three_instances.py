"""Three real instances: who ends up with which post, boost and like.

One test on purpose: every instance is a real ``serve`` process with its own database.
"""

from __future__ import annotations

from collections.abc import Callable

from fediverse_cop.models import Account, Favourite, Follow, FollowState, InboxItem, Status
from fediverse_cop.models import Visibility as V
from fediverse_cop.services import statuses
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft
from fediverse_cop.services.visibility import can_view
from tests.federation.conftest import Instance, eventually
from tests.federation.test_posts import local, status_arrived


async def posts_by(actor: str) -> dict[str, V]:
    """The posts (not boosts) this instance has of ``actor``, with their visibility."""
    rows = await Status.filter(account__uri=actor, reblog_of_id=None, deleted_at=None)
    return {row.uri: row.visibility for row in rows}


async def boosts() -> set[tuple[str, str]]:
    """(booster, boosted post) for every boost this instance has."""
    rows = await Status.filter(reblog_of_id__not_isnull=True).select_related("account", "reblog_of")
    return {(row.account.uri, row.reblog_of.uri) for row in rows if row.reblog_of is not None}


async def followers_of(target: str) -> set[str]:
    """The accepted followers of ``target`` this instance knows of."""
    rows = await Follow.filter(target__uri=target, state=FollowState.ACCEPTED).select_related(
        "account"
    )
    return {row.account.uri for row in rows}


async def favourites() -> set[tuple[str, str]]:
    """(who liked, which post) for every like this instance has."""
    rows = await Favourite.all().select_related("account", "status")
    return {(row.account.uri, row.status.uri) for row in rows}


def test_posts_boosts_and_likes_across_three_instances(
    instances: Callable[[int], list[Instance]],
) -> None:
    a, b, c = instances(3)
    a.cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    b.cli.ok("user", "create", "bob", "--email", "bob@uni-b.edu")
    for name in ("carol", "dave"):
        c.cli.ok("user", "create", name, "--email", f"{name}@uni-c.edu")
    alice, bob, carol, dave = a.actor("alice"), b.actor("bob"), c.actor("carol"), c.actor("dave")

    b.follow("bob", a, "alice", wait=False)
    c.follow("dave", b, "bob", wait=False)
    b.accepted("bob", a, "alice")
    c.accepted("dave", b, "bob")

    # 1. Before anyone on C follows alice: her public post reaches B only.
    async def alice_posts_early(fed: Federation) -> str:
        return (await statuses.post(fed, await local("alice"), Draft("before carol"))).uri

    early = a.call(alice_posts_early)

    async def early_on_b(fed: Federation) -> None:
        await eventually(status_arrived(early))

    b.call(early_on_b)
    a.settle()

    async def nothing_from_alice_on_c(fed: Federation) -> None:
        assert await posts_by(alice) == {}

    c.call(nothing_from_alice_on_c)

    # 2. bob boosts it. dave on C follows bob: C gets the Announce, which names the post by
    # its id only, and takes the post from A, its origin. A, the author's server, gets the
    # Announce too.
    async def bob_boosts(fed: Federation) -> str:
        original = await Status.get(uri=early)
        return (await statuses.reblog(fed, await local("bob"), original)).uri

    boost = b.call(bob_boosts)

    async def boost_on_c(fed: Federation) -> None:
        await eventually(status_arrived(boost))
        announce = await InboxItem.get(activity_id=boost)
        assert (announce.activity["type"], announce.activity["object"]) == ("Announce", early)
        original = await Status.get(uri=early).select_related("account")
        assert (original.account.uri, original.content) == (alice, "<p>before carol</p>")
        assert await boosts() == {(bob, early)}

    c.call(boost_on_c)

    async def boost_on_a(fed: Federation) -> None:
        async def boosted() -> bool:
            return await Status.exists(uri=boost)

        await eventually(boosted)

    a.call(boost_on_a)

    # 3. carol on C follows alice too; alice posts publicly, then directly to carol.
    c.follow("carol", a, "alice")

    async def alice_posts(fed: Federation) -> tuple[str, str]:
        author = await local("alice")
        public = await statuses.post(fed, author, Draft("for everyone"))
        direct = await statuses.post(
            fed, author, Draft(f"@{c.handle('carol')} just for you", visibility=V.DIRECT)
        )
        return public.uri, direct.uri

    public, direct = a.call(alice_posts)

    async def both_on_c(fed: Federation) -> None:
        await eventually(status_arrived(public))
        await eventually(status_arrived(direct))
        stored = await Status.get(uri=direct)
        assert await can_view(stored, await local("carol"))
        assert not await can_view(stored, await local("dave"))
        assert not await can_view(stored, None)

    c.call(both_on_c)

    async def public_on_b(fed: Federation) -> None:
        await eventually(status_arrived(public))

    b.call(public_on_b)

    # 4. carol likes the public post: the Like goes to A, the author's server, only.
    async def carol_likes(fed: Federation) -> None:
        await statuses.favourite(fed, await local("carol"), await Status.get(uri=public))

    c.call(carol_likes)

    async def like_on_a(fed: Federation) -> None:
        async def liked() -> bool:
            return await Favourite.exists(account__uri=carol, status__uri=public)

        await eventually(liked)

    a.call(like_on_a)

    # Everything sent has been delivered and processed: now absence means something.
    for instance in (a, b, c):
        instance.settle()

    async def on_a(fed: Federation) -> None:
        assert await posts_by(alice) == {early: V.PUBLIC, public: V.PUBLIC, direct: V.DIRECT}
        assert await followers_of(alice) == {bob, carol}
        assert await boosts() == {(bob, early)}
        assert await favourites() == {(carol, public)}
        assert not await Account.exists(uri=dave)  # dave follows bob, not alice

    async def on_b(fed: Federation) -> None:
        assert await posts_by(alice) == {early: V.PUBLIC, public: V.PUBLIC}
        assert not await Status.exists(uri=direct)
        assert not await InboxItem.exists(activity_id=f"{direct}/activity")
        assert await boosts() == {(bob, early)}
        assert await favourites() == set()
        assert await followers_of(bob) == {dave}
        assert not await Account.exists(uri=carol)  # nothing on B ever named carol

    async def on_c(fed: Federation) -> None:
        assert await posts_by(alice) == {early: V.PUBLIC, public: V.PUBLIC, direct: V.DIRECT}
        assert await InboxItem.exists(activity_id=f"{direct}/activity")
        assert await boosts() == {(bob, early)}
        assert await favourites() == {(carol, public)}

    a.call(on_a)
    b.call(on_b)
    c.call(on_c)
