"""Communities across three real instances (``serve`` processes, real HTTP, own databases).

A hosts an open and an approval community; members on B and C join; what B posts
reaches C through A's Announce, and so do its edit and its deletion; a banned
member's post is refused with a Reject and never announced. One test on purpose:
every instance costs seconds to start.
"""

from __future__ import annotations

from collections.abc import Callable

from fediverse_cop.models import (
    Account,
    FanoutJob,
    FollowState,
    InboxItem,
    InboxState,
    PeerSoftware,
    Status,
)
from fediverse_cop.services import groups, statuses
from fediverse_cop.services.communities import get_local_community
from fediverse_cop.services.remote import Federation, resolve
from fediverse_cop.services.statuses import Draft
from tests.federation.conftest import Instance, eventually, follow_is
from tests.federation.test_posts import local


def group_uri(instance: Instance, name: str) -> str:
    return f"http://{instance.domain}/c/{name}"


def joined(instance: Instance, user: str, group: str) -> None:
    """Wait until ``user`` there is an accepted member of ``group``."""

    async def body(fed: Federation) -> None:
        await eventually(follow_is(instance.actor(user), group, FollowState.ACCEPTED))

    instance.call(body)


def test_a_community_across_three_instances(instances: Callable[[int], list[Instance]]) -> None:
    a, b, c = instances(3)
    a.cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    a.cli.ok("community", "create", "physics", "--owner", "alice", "--name", "Physics")
    a.cli.ok("community", "create", "study", "--owner", "alice", "--join", "approval")
    b.cli.ok("user", "create", "bob", "--email", "bob@uni-b.edu")
    c.cli.ok("user", "create", "carol", "--email", "carol@uni-c.edu")
    physics, study = group_uri(a, "physics"), group_uri(a, "study")

    # Joining: the open community accepts at once, the approval one waits for alice.
    b.follow("bob", a, "physics", wait=False)
    c.follow("carol", a, "physics", wait=False)
    b.follow("bob", a, "study", wait=False)
    joined(b, "bob", physics)
    joined(c, "carol", physics)

    async def approve(fed: Federation) -> None:
        await eventually(follow_is(b.actor("bob"), study, FollowState.PENDING))
        community = await get_local_community("study")
        await groups.approve_member(
            fed, community, await Account.get(uri=b.actor("bob")), by=await local("alice")
        )
        kinds = {peer.software for peer in await PeerSoftware.all()}
        assert kinds == {"fediverse-cop"}

    a.call(approve)
    joined(b, "bob", study)

    # Bob posts into the community; Carol on C gets it through A's Announce.
    async def bob_posts(fed: Federation) -> str:
        group = await resolve(fed, f"physics@{a.domain}")
        draft = Draft("Does anyone have notes on entropy?", community=group)
        return (await statuses.post(fed, await local("bob"), draft)).uri

    post = b.call(bob_posts)

    async def arrived_on_c(fed: Federation) -> None:
        async def stored() -> bool:
            return await Status.exists(uri=post, audience=physics) and await Status.exists(
                reblog_of__uri=post, account__uri=physics
            )

        await eventually(stored)

    c.call(arrived_on_c)

    async def on_a(fed: Federation) -> None:
        status = await Status.get(uri=post)
        assert status.audience == physics
        assert await Status.exists(reblog_of=status, account__uri=physics, local=True)

    a.call(on_a)

    # The edit and the deletion follow the same way.
    async def bob_edits(fed: Federation) -> None:
        status = await Status.get(uri=post)
        await statuses.edit(fed, await local("bob"), status, "Notes on entropy, please!")

    b.call(bob_edits)

    async def edited_on_c(fed: Federation) -> None:
        async def edited() -> bool:
            status = await Status.get(uri=post)
            return status.edited_at is not None and "please!" in status.content

        await eventually(edited)

    c.call(edited_on_c)

    async def bob_deletes(fed: Federation) -> None:
        await statuses.delete(fed, await local("bob"), await Status.get(uri=post))

    b.call(bob_deletes)

    async def deleted_on_c(fed: Federation) -> None:
        async def deleted() -> bool:
            return (await Status.get(uri=post)).deleted_at is not None

        await eventually(deleted)

    c.call(deleted_on_c)

    # Alice bans Carol: Carol's membership ends on C, and her next post is refused.
    async def ban_carol(fed: Federation) -> None:
        community = await get_local_community("physics")
        carol = await Account.get(uri=c.actor("carol"))
        await groups.ban_member(fed, community, carol, reason="off topic", by=await local("alice"))

    a.call(ban_carol)

    async def carol_posts(fed: Federation) -> str:
        await eventually(follow_is(c.actor("carol"), physics, None))
        group = await Account.get(uri=physics)
        status = await statuses.post(
            fed, await local("carol"), Draft("still here", community=group)
        )
        assert status.audience == physics
        return status.uri

    refused_post = c.call(carol_posts)

    async def rejected_on_c(fed: Federation) -> None:
        async def rejected() -> bool:
            item = await InboxItem.get_or_none(handled_as="Reject/Create")
            status = await Status.get(uri=refused_post)
            return item is not None and status.audience is None

        await eventually(rejected)

    c.call(rejected_on_c)

    async def refused_on_a(fed: Federation) -> None:
        async def failed() -> bool:
            return await InboxItem.exists(
                actor__uri=c.actor("carol"), state=InboxState.FAILED, error__contains="banned"
            )

        await eventually(failed)
        assert not await Status.exists(uri=refused_post)
        announced = [
            job.activity
            for job in await FanoutJob.filter(sender__uri=physics)
            if job.activity["type"] == "Announce"
        ]
        mentioned = [str(activity["object"]) for activity in announced]
        assert not any(refused_post in text for text in mentioned)

    a.call(refused_on_a)

    async def nothing_reached_b(fed: Federation) -> None:
        assert not await Status.exists(uri=refused_post)

    a.settle()
    b.call(nothing_reached_b)
