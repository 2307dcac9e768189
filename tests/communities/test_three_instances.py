"""Communities across three real instances (``serve`` processes, real HTTP, own databases).

A hosts an open, an approval, a moderators-only and a members-only community;
members on B and C join. What B posts reaches C through A's Announce, and so do
its edit and its deletion; a banned member's post is refused with a Reject and
never announced. In the moderators-only community a member's new thread is
refused with a Reject while a moderator's (on C) is announced; a member's reply
is announced, and its removal by a moderator on A reaches B and C. A resource
added on A is listed on B and C. A members-only community's post answers 404 to
an unsigned GET and to servers with no accepted member, and is served to B's
signed GET once bob is accepted. One test on purpose: every instance costs
seconds to start.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from activitypub.http import AP_ACCEPT, Response
from fediverse_cop.models import (
    Account,
    FanoutJob,
    FollowState,
    InboxItem,
    InboxState,
    PeerSoftware,
    Resource,
    Status,
)
from fediverse_cop.services import groups, moderation_groups, statuses
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


def fetch(instance: Instance, uri: str, *, signed: bool = True) -> Response:
    """A GET of ``uri`` as ``instance`` fetches it: signed by its instance actor (or not)."""

    async def body(fed: Federation) -> Response:
        auth = fed.signer if signed else None
        return await fed.http.request("GET", uri, headers={"Accept": AP_ACCEPT}, auth=auth)

    return instance.call(body)


def resource_titles(instance: Instance, community: str, *options: str) -> list[str]:
    """The titles ``fediverse-cop community resources`` lists there."""
    listed = instance.cli.ok("community", "resources", community, *options, "--json").json()
    return [row["title"] for row in listed]


def test_a_community_across_three_instances(instances: Callable[[int], list[Instance]]) -> None:
    a, b, c = instances(3)
    a.cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    a.cli.ok("community", "create", "physics", "--owner", "alice", "--name", "Physics")
    a.cli.ok("community", "create", "study", "--owner", "alice", "--join", "approval")
    a.cli.ok("community", "create", "news", "--owner", "alice", "--posting", "moderators")
    a.cli.ok("community", "create", "circle", "--owner", "alice", "--visibility", "members")
    b.cli.ok("user", "create", "bob", "--email", "bob@uni-b.edu")
    c.cli.ok("user", "create", "carol", "--email", "carol@uni-c.edu")
    physics, study = group_uri(a, "physics"), group_uri(a, "study")
    news, circle = group_uri(a, "news"), group_uri(a, "circle")

    # Joining: the open community accepts at once, the approval one waits for alice.
    b.follow("bob", a, "physics", wait=False)
    c.follow("carol", a, "physics", wait=False)
    b.follow("bob", a, "study", wait=False)
    b.follow("bob", a, "news", wait=False)
    c.follow("carol", a, "news", wait=False)
    b.follow("bob", a, "circle", wait=False)
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

    # News is an announcement channel: carol of C moderates it.
    async def carol_moderates(fed: Federation) -> None:
        await eventually(follow_is(c.actor("carol"), news, FollowState.ACCEPTED))
        community = await get_local_community("news")
        carol = await Account.get(uri=c.actor("carol"))
        await moderation_groups.set_moderator(fed, community, carol, by=await local("alice"))

    a.call(carol_moderates)

    # Alice posts into the members-only circle while bob's request waits: B may not read it.
    async def alice_posts_in_circle(fed: Federation) -> str:
        await eventually(follow_is(b.actor("bob"), circle, FollowState.PENDING))
        group = await Account.get(uri=circle)
        draft = Draft("Minutes of our first meeting", community=group)
        return (await statuses.post(fed, await local("alice"), draft)).uri

    minutes = a.call(alice_posts_in_circle)
    assert fetch(b, minutes).status == 404

    async def approve_bob_in_circle(fed: Federation) -> None:
        community = await get_local_community("circle")
        bob = await Account.get(uri=b.actor("bob"))
        await groups.approve_member(fed, community, bob, by=await local("alice"))

    a.call(approve_bob_in_circle)

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

    # The members-only circle: its post is served to B (bob is a member now), and to no one else.
    assert fetch(c, minutes, signed=False).status == 404
    assert fetch(c, minutes).status == 404
    served = fetch(b, minutes)
    assert served.status == 200
    assert json.loads(served.body)["id"] == minutes

    # In news only moderators start threads: bob's is refused, carol's (a moderator on C) is not.
    def posts_news(user: str, text: str) -> Callable[[Federation], Awaitable[str]]:
        async def body(fed: Federation) -> str:
            group = await resolve(fed, f"news@{a.domain}")
            return (await statuses.post(fed, await local(user), Draft(text, community=group))).uri

        return body

    thread = b.call(posts_news("bob", "Exam dates, anyone?"))
    announcement = c.call(posts_news("carol", "The exam is on 12 June."))
    # Alice adds a resource to news' library (checked on B and C below).
    resource = a.cli.ok(
        "community",
        "add-resource",
        "news",
        "--as",
        "alice",
        "--title",
        "Exam rules",
        "--link",
        "https://example.org/exam-rules",
        "--json",
    ).json()["post"]

    async def on_b(fed: Federation) -> None:
        async def answered() -> bool:
            refusals = await InboxItem.filter(handled_as="Reject/Create", actor__uri=news)
            refused = any(item.activity["object"]["object"] == thread for item in refusals)
            status = await Status.get(uri=thread)
            announced = await Status.exists(uri=announcement, audience=news)
            return refused and status.audience is None and announced

        await eventually(answered)

    b.call(on_b)

    async def thread_refused_on_a(fed: Federation) -> None:
        async def failed() -> bool:
            return await InboxItem.exists(
                actor__uri=b.actor("bob"),
                state=InboxState.FAILED,
                error__contains="only moderators",
            )

        await eventually(failed)
        assert not await Status.exists(uri=thread)
        assert await Status.exists(uri=announcement, audience=news)
        announced = [
            str(job.activity["object"])
            for job in await FanoutJob.filter(sender__uri=news)
            if job.activity["type"] == "Announce"
        ]
        assert any(announcement in text for text in announced)
        assert not any(thread in text for text in announced)

    a.call(thread_refused_on_a)

    # Bob may reply to carol's thread; a moderator on A removes his reply, on B and C too.
    async def bob_replies(fed: Federation) -> str:
        parent = await Status.get(uri=announcement)
        draft = Draft("Which room?", in_reply_to=parent)
        reply = await statuses.post(fed, await local("bob"), draft)
        assert reply.audience == news
        return reply.uri

    reply = b.call(bob_replies)

    async def reply_on_c(fed: Federation) -> None:
        await eventually(lambda: Status.exists(uri=reply, audience=news))
        assert not await Status.exists(uri=thread)

    c.call(reply_on_c)
    a.cli.ok("community", "remove-post", "news", reply, "--reason", "ask in the thread")

    async def removed_and_received(fed: Federation) -> None:
        async def done() -> bool:
            status = await Status.get(uri=reply)
            received = await Resource.exists(status__uri=resource, community__uri=news)
            return status.removed_at is not None and received

        await eventually(done)
        assert (await Status.get(uri=reply)).removal_reason == "ask in the thread"

    b.call(removed_and_received)
    c.call(removed_and_received)

    # The resource alice added is in news' library on B and C as it arrived, and once.
    for instance in (b, c):
        assert resource_titles(instance, f"news@{a.domain}") == ["Exam rules"]
    assert resource_titles(c, f"news@{a.domain}", "--refresh") == ["Exam rules"]
