"""Communities against simulated Lemmy, PieFed and Mastodon servers: joining, bans,
posting into a community, redistribution per kind of server, and what remote groups send."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from activitypub.nodeinfo import NODEINFO_21
from fediverse_cop.models import (
    Account,
    ActorType,
    Community,
    FanoutJob,
    Follow,
    FollowState,
    InboxState,
    JoinPolicy,
    PeerSoftware,
    PostingPolicy,
    Status,
)
from fediverse_cop.services import accounts, communities, follows, groups, statuses
from fediverse_cop.services.communities import CommunityPolicy
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.remote import fetch_actor
from fediverse_cop.services.statuses import Draft
from outbox.worker import DeliveryWorker
from tests.conftest import Clock
from tests.inbox.conftest import Local, Peer
from tests.inbox.test_statuses import PUBLIC, deliver, note, refused, serve
from tests.sink import Sink

FIXTURES = Path(__file__).parent / "fixtures"


def serve_nodeinfo(peer: Peer, software: str) -> None:
    """The peer's server says what it runs, as NodeInfo 2.1."""
    links = {"links": [{"rel": NODEINFO_21, "href": f"{peer.base}/nodeinfo/2.1"}]}
    info = {
        "version": "2.1",
        "software": {"name": software, "version": "1.0"},
        "protocols": ["activitypub"],
        "usage": {"users": {}},
        "openRegistrations": False,
        "metadata": {},
    }
    peer.sink.serve(peer.host, "/.well-known/nodeinfo", links, content_type="application/json")
    peer.sink.serve(peer.host, "/nodeinfo/2.1", info, content_type="application/json")


def fixture(name: str, replacements: dict[str, str]) -> dict[str, Any]:
    text = (FIXTURES / name).read_text()
    for old, new in replacements.items():
        text = text.replace(old, new)
    result: dict[str, Any] = orjson.loads(text)
    return result


async def make_community(
    local: Local,
    handle: str = "physics",
    *,
    join: JoinPolicy = JoinPolicy.OPEN,
    posting: PostingPolicy = PostingPolicy.MEMBERS,
) -> Community:
    return await communities.create_community(
        local.fed.ctx,
        handle,
        name=handle.title(),
        owner="alice",
        policy=CommunityPolicy(join=join, posting=posting),
    )


async def join(local: Local, peer: Peer, community: Community) -> None:
    item = await deliver(local, peer, peer.activity("Follow", community.account.uri))
    assert item.state is InboxState.DONE, item.error


async def jobs(sender: Account, kind: str) -> list[FanoutJob]:
    return [
        job
        for job in await FanoutJob.filter(sender_id=sender.id).order_by("created_at", "id")
        if job.activity["type"] == kind
    ]


async def announces(community: Community) -> list[FanoutJob]:
    return await jobs(community.account, "Announce")


def received(sink: Sink, host: str) -> list[dict[str, Any]]:
    """The activities POSTed to ``host``, once each (a signature retry is the same activity)."""
    unique: dict[str, dict[str, Any]] = {}
    for r in sink.posts(host):
        activity = orjson.loads(r.body)
        unique.setdefault(activity["id"], activity)
    return list(unique.values())


@pytest.fixture
def masto(sink: Sink) -> Peer:
    peer = Peer(sink, "masto.sink.test", "mastodon")
    serve_nodeinfo(peer, "mastodon")
    return peer


@pytest.fixture
def lemmy(sink: Sink) -> Peer:
    peer = Peer(sink, "lemmy.sink.test", "picard")
    serve_nodeinfo(peer, "lemmy")
    return peer


# -- joining -----------------------------------------------------------------------------------


async def test_joining_records_what_each_members_server_runs(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    follows_here = await Follow.filter(target=physics.account)
    assert [f.state for f in follows_here] == [FollowState.ACCEPTED, FollowState.ACCEPTED]
    assert len(await jobs(physics.account, "Accept")) == 2
    kinds = dict(await PeerSoftware.all().values_list("software", "kind"))
    assert kinds == {"mastodon": "microblog", "lemmy": "group-aware"}


async def test_an_approval_community_waits_for_a_moderator(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    study = await make_community(local, "study", join=JoinPolicy.APPROVAL)
    await join(local, masto, study)
    await join(local, lemmy, study)
    assert [f.account.uri for f in await groups.pending_members(study)] == [masto.uri, lemmy.uri]
    assert await jobs(study.account, "Accept") == []

    outsider = await Account.get(uri=lemmy.uri)
    with pytest.raises(Invalid):
        await groups.approve_member(local.fed, study, outsider, by=outsider)
    await groups.approve_member(local.fed, study, await Account.get(uri=masto.uri), by=alice)
    await groups.reject_member(local.fed, study, outsider, by=alice)

    (accept,) = await jobs(study.account, "Accept")
    (reject,) = await jobs(study.account, "Reject")
    assert (accept.recipients, accept.activity["object"]["actor"]) == ([masto.uri], masto.uri)
    assert (reject.recipients, reject.activity["object"]["actor"]) == ([lemmy.uri], lemmy.uri)
    states = dict(await Follow.filter(target=study.account).values_list("account__uri", "state"))
    assert states == {masto.uri: FollowState.ACCEPTED}


async def test_a_ban_ends_membership_and_refuses_rejoining_until_lifted(
    local: Local, alice: Account, masto: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    member = await Account.get(uri=masto.uri)

    await groups.ban_member(local.fed, physics, member, reason="spam", by=alice)
    assert not await Follow.exists(account=member, target=physics.account)
    (ended,) = await jobs(physics.account, "Reject")
    assert ended.activity["object"]["type"] == "Follow"
    assert ended.activity["object"]["actor"] == masto.uri
    assert await jobs(physics.account, "Block") == []

    again = masto.activity("Follow", physics.account.uri)
    await deliver(local, masto, again)
    assert not await Follow.exists(account=member, target=physics.account)
    refusals = await jobs(physics.account, "Reject")
    assert refusals[-1].activity["object"]["id"] == again["id"]

    await groups.lift_ban(physics, member, by=alice)
    await join(local, masto, physics)
    assert await Follow.exists(account=member, target=physics.account, state=FollowState.ACCEPTED)


async def test_an_expired_ban_no_longer_counts(local: Local, alice: Account, masto: Peer) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    member = await Account.get(uri=masto.uri)
    role = await groups.ban_member(
        local.fed, physics, member, expires_at=utcnow() + timedelta(hours=1)
    )
    assert await groups.is_banned(physics, member)
    role.expires_at = utcnow() - timedelta(seconds=1)
    await role.save(update_fields=["expires_at"])
    assert not await groups.is_banned(physics, member)
    await join(local, masto, physics)
    assert await Follow.exists(account=member, target=physics.account, state=FollowState.ACCEPTED)


# -- posting into a community, and redistribution ---------------------------------------------------


async def test_a_mastodon_post_mentioning_the_group_is_announced_per_kind_of_server(
    local: Local, alice: Account, masto: Peer, lemmy: Peer, sink: Sink, clock: Clock
) -> None:
    physics = await make_community(local, "tenforward")
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    create = fixture(
        "mastodon_group_mention.json",
        {
            "https://masto.qa.urbanwildlife.biz/users/mastodon": masto.uri,
            "https://enterprise.lemmy.ml/c/tenforward": physics.account.uri,
        },
    )
    item = await deliver(local, masto, create)
    assert (item.state, item.handled_as) == (InboxState.DONE, "Create/Note"), item.error

    post = await Status.get(uri=create["object"]["id"])
    assert post.audience == physics.account.uri
    boost = await Status.get(account=physics.account, reblog_of=post)
    assert boost.local

    worker = DeliveryWorker(local.fed.http, local_domain=local.fed.ctx.domain, clock=clock)
    await worker.run_once()
    (to_lemmy,) = [a for a in received(sink, lemmy.host) if a["type"] == "Announce"]
    (to_masto,) = [a for a in received(sink, masto.host) if a["type"] == "Announce"]
    # Group-aware servers get the author's activity unchanged; Mastodon a boost of the post.
    assert to_lemmy["object"] == create
    assert (to_lemmy["actor"], to_lemmy["to"]) == (physics.account.uri, [PUBLIC])
    assert to_lemmy["cc"] == [physics.account.followers_uri]
    assert to_masto["object"] == post.uri
    assert to_masto["id"] == boost.uri


async def test_a_lemmy_page_to_the_group_is_accepted(
    local: Local, alice: Account, lemmy: Peer
) -> None:
    physics = await make_community(local, "tenforward")
    await join(local, lemmy, physics)
    create = fixture(
        "lemmy_create_page.json",
        {
            "https://enterprise.lemmy.ml/u/picard": lemmy.uri,
            "https://enterprise.lemmy.ml/c/tenforward": physics.account.uri,
            "https://enterprise.lemmy.ml": lemmy.base,
        },
    )
    item = await deliver(local, lemmy, create)
    assert item.state is InboxState.DONE, item.error
    post = await Status.get(uri=create["object"]["id"])
    assert (post.object_type, post.audience) == ("Page", physics.account.uri)
    assert post.content.startswith("<p><strong>Post title</strong></p>")
    (announce, boost) = await announces(physics)
    assert announce.activity["object"] == create
    assert boost.activity["object"] == post.uri


async def test_a_mastodon_reply_that_does_not_address_the_group_joins_its_thread(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    top = note(lemmy, 1, cc=[physics.account.uri], audience=physics.account.uri)
    await deliver(local, lemmy, lemmy.activity("Create", top))
    reply = note(masto, 2, inReplyTo=top["id"], cc=[lemmy.uri])
    item = await deliver(local, masto, masto.activity("Create", reply))
    assert item.state is InboxState.DONE, item.error

    stored = await Status.get(uri=reply["id"])
    assert stored.audience == physics.account.uri
    # Comments go to group-aware servers only: no boost of a reply for Mastodon timelines.
    assert not await Status.exists(account=physics.account, reblog_of=stored)
    objects = [job.activity["object"] for job in await announces(physics)]
    assert [o["object"]["id"] for o in objects if isinstance(o, dict)] == [top["id"], reply["id"]]
    assert [o for o in objects if isinstance(o, str)] == [top["id"]]


@pytest.mark.parametrize("why", ["not a member", "banned", "moderators only"])
async def test_a_refused_post_is_rejected_with_no_side_effects(
    local: Local, alice: Account, masto: Peer, why: str
) -> None:
    posting = PostingPolicy.MODERATORS if why == "moderators only" else PostingPolicy.MEMBERS
    physics = await make_community(local, posting=posting)
    if why != "not a member":
        await join(local, masto, physics)
    if why == "banned":
        await groups.ban_member(local.fed, physics, await Account.get(uri=masto.uri))
    before = await FanoutJob.filter(sender=physics.account).count()

    post = note(
        masto, 1, cc=[physics.account.uri], tag=[{"type": "Mention", "href": physics.account.uri}]
    )
    create = masto.activity("Create", post)
    item = await deliver(local, masto, create)

    assert refused(item, "refused by physics")
    assert not await Status.exists(uri=post["id"])
    new_jobs = (await FanoutJob.filter(sender=physics.account).order_by("id"))[before:]
    assert [job.activity["type"] for job in new_jobs] == ["Reject"]
    (rejection,) = new_jobs
    assert rejection.recipients == [masto.uri]
    assert rejection.activity["object"]["id"] == create["id"]
    assert rejection.activity["object"]["object"] == post["id"]


async def test_edits_deletes_and_likes_of_community_posts_are_announced(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    post = note(masto, 1, cc=[physics.account.uri])
    await deliver(local, masto, masto.activity("Create", post))
    edited = {**post, "content": "<p>edited</p>", "updated": "2024-03-05T11:00:00Z"}
    update = masto.activity("Update", edited)
    like = lemmy.activity("Like", post["id"])
    deletion = masto.activity("Delete", {"id": post["id"], "type": "Tombstone"})
    for peer, activity in ((masto, update), (lemmy, like), (masto, deletion)):
        item = await deliver(local, peer, activity)
        assert item.state is InboxState.DONE, item.error

    inner = [
        job.activity["object"]
        for job in await announces(physics)
        if isinstance(job.activity["object"], dict)
    ]
    assert inner[0]["object"]["id"] == post["id"]
    assert inner[1:] == [update, like, deletion]
    (undo,) = await jobs(physics.account, "Undo")
    boost = await Status.get(account=physics.account, reblog_of__uri=post["id"])
    assert undo.activity["object"]["id"] == boost.uri
    assert boost.deleted_at is not None


async def test_local_members_post_into_local_and_remote_communities(
    local: Local, alice: Account, lemmy: Peer, sink: Sink
) -> None:
    physics = await make_community(local)
    bob = await local_user(local, "bob")
    with pytest.raises(Invalid, match="not a member"):
        await statuses.post(local.fed, bob, Draft("hello", community=physics.account))
    await follows.follow(local.fed, bob, physics.account)
    post = await statuses.post(local.fed, bob, Draft("hello", community=physics.account))
    assert post.audience == physics.account.uri
    assert physics.account.uri in post.cc
    (create,) = await jobs(bob, "Create")
    assert create.activity["object"]["audience"] == physics.account.uri
    assert {"type": "Mention", "href": physics.account.uri, "name": "@physics"} in create.activity[
        "object"
    ]["tag"]
    kinds = [type(job.activity["object"]).__name__ for job in await announces(physics)]
    assert kinds == ["dict", "str"]

    # A remote community: the Create goes to it (mentioned, audience), nothing is announced here.
    remote = Peer(sink, "lemmy.sink.test", "tenforward", extra={"type": "Group"})
    group = await groups_account(local, remote)
    await Follow.create(account=bob, target=group, state=FollowState.ACCEPTED, uri="urn:x:1")
    elsewhere = await statuses.post(local.fed, bob, Draft("there", community=group))
    assert elsewhere.audience == remote.uri
    (_, there) = await jobs(bob, "Create")
    assert remote.uri in there.recipients
    assert there.activity["object"]["audience"] == remote.uri


async def test_a_local_members_edit_reaches_microblog_members_as_the_authors_update(
    local: Local, alice: Account, masto: Peer, lemmy: Peer, sink: Sink, clock: Clock
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    bob = await local_user(local, "bob")
    await follows.follow(local.fed, bob, physics.account)
    for account in (bob, physics.account):
        sink.keys[account.public_key_id or ""] = account.public_key_pem
    post = await statuses.post(local.fed, bob, Draft("first", community=physics.account))
    await statuses.edit(local.fed, bob, post, "second")

    worker = DeliveryWorker(local.fed.http, local_domain=local.fed.ctx.domain, clock=clock)
    for _ in range(5):
        await worker.run_once()
    assert all(r.signature.verified for r in sink.posts())
    # Mastodon has the post through the community's boost: it gets bob's own Update.
    to_masto = received(sink, masto.host)
    assert [a["type"] for a in to_masto] == ["Accept", "Announce", "Update"]
    update = to_masto[2]
    assert (update["actor"], update["object"]["id"]) == (bob.uri, post.uri)
    assert "second" in update["object"]["content"]
    # Lemmy gets the community's Announce of it, and not the bare Update.
    to_lemmy = [a for a in received(sink, lemmy.host) if a["type"] != "Accept"]
    assert [(a["type"], a["object"]["type"]) for a in to_lemmy] == [
        ("Announce", "Create"),
        ("Announce", "Update"),
    ]
    assert to_lemmy[1]["object"] == update


async def local_user(local: Local, name: str) -> Account:
    return await accounts.create_user(
        local.fed.ctx, name, email=f"{name}@uni-a.edu", password="long enough"
    )


async def groups_account(local: Local, peer: Peer) -> Account:
    account = await fetch_actor(local.fed, peer.uri)
    assert account.actor_type is ActorType.GROUP
    return account


# -- what remote groups send ------------------------------------------------------------------------


async def test_a_lemmy_announce_of_a_page_is_stored_for_local_members(
    local: Local, alice: Account, sink: Sink
) -> None:
    group = Peer(sink, "lemmy.sink.test", "tenforward", extra={"type": "Group"})
    author = Peer(sink, "lemmy.sink.test", "picard")
    account = await groups_account(local, group)
    await Follow.create(account=alice, target=account, state=FollowState.ACCEPTED, uri="urn:x:1")
    announce = fixture(
        "lemmy_announce_create_page.json",
        {
            "https://lemmy.example/c/tenforward": group.uri,
            "https://lemmy.example/u/picard": author.uri,
            "https://lemmy.example": group.base,
        },
    )
    item = await deliver(local, group, announce)
    assert (item.state, item.handled_as) == (InboxState.DONE, "Announce/Create"), item.error
    post = await Status.get(uri=announce["object"]["object"]["id"]).select_related("account")
    assert (post.account.uri, post.audience, post.object_type) == (author.uri, group.uri, "Page")
    boost = await Status.get(reblog_of=post)
    assert (boost.uri, boost.account_id) == (announce["id"], account.id)  # type: ignore[attr-defined]
    # Nothing of a remote group's is announced again here.
    assert await FanoutJob.all().count() == 0


async def test_a_cross_origin_embedded_copy_is_never_trusted(
    local: Local, alice: Account, sink: Sink
) -> None:
    group = Peer(sink, "group.sink.test", "forum", extra={"type": "Group"})
    author = Peer(sink, "author.sink.test", "ann")
    account = await groups_account(local, group)
    await Follow.create(account=alice, target=account, state=FollowState.ACCEPTED, uri="urn:x:1")
    real = note(author, 1, cc=[group.uri], audience=group.uri)
    serve(author, real)
    forged = {**real, "content": "<p>forged by the group's server</p>"}
    inner = {"id": f"{author.uri}/activities/1", "type": "Create", "actor": author.uri}
    item = await deliver(local, group, group.activity("Announce", {**inner, "object": forged}))
    assert item.state is InboxState.DONE, item.error
    assert (await Status.get(uri=real["id"])).content == "<p>post 1</p>"


async def test_an_announce_arriving_before_the_accept_of_a_join_is_kept(
    local: Local, alice: Account, sink: Sink
) -> None:
    # A group delivers its Accept and its next Announce at once: they can arrive in
    # either order, and a refused inbox item is not tried again.
    group = Peer(sink, "group.sink.test", "forum", extra={"type": "Group"})
    account = await groups_account(local, group)
    await Follow.create(account=alice, target=account, state=FollowState.PENDING, uri="urn:x:1")
    post = note(group, 1)
    create = {"id": f"{group.uri}/c/1", "type": "Create", "actor": group.uri, "object": post}
    item = await deliver(local, group, group.activity("Announce", create))
    assert (item.state, item.handled_as) == (InboxState.DONE, "Announce/Create"), item.error
    assert await Status.exists(uri=post["id"])


async def test_announces_that_must_not_be_followed(
    local: Local, alice: Account, sink: Sink, lemmy: Peer
) -> None:
    group = Peer(sink, "group.sink.test", "forum", extra={"type": "Group"})
    account = await groups_account(local, group)
    post = note(group, 1)
    create = {"id": f"{group.uri}/c/1", "type": "Create", "actor": group.uri, "object": post}

    nobody_follows = await deliver(local, group, group.activity("Announce", create))
    assert refused(nobody_follows, "no one here is a member")

    await Follow.create(account=alice, target=account, state=FollowState.ACCEPTED, uri="urn:x:1")
    chained = await deliver(
        local, group, group.activity("Announce", {"id": f"{group.uri}/a/1", "type": "Announce"})
    )
    assert refused(chained, "Announce of an Announce")

    not_a_group = await deliver(local, lemmy, lemmy.activity("Announce", create))
    assert refused(not_a_group, "only a group announces")
    assert not await Status.exists(uri=post["id"])


async def test_two_groups_following_each_other_never_loop(
    local: Local, alice: Account, sink: Sink, lemmy: Peer
) -> None:
    physics = await make_community(local)
    remote = Peer(sink, "group.sink.test", "forum", extra={"type": "Group"})
    serve_nodeinfo(remote, "lemmy")
    other = await groups_account(local, remote)
    await join(local, remote, physics)  # the remote group follows ours
    await Follow.create(account=physics.account, target=other, state=FollowState.ACCEPTED)
    await join(local, lemmy, physics)

    # The remote group announces a post that also names our community.
    post = note(remote, 1, cc=[physics.account.uri], audience=remote.uri)
    create = {"id": f"{remote.uri}/c/1", "type": "Create", "actor": remote.uri, "object": post}
    item = await deliver(local, remote, remote.activity("Announce", create))
    assert item.state is InboxState.DONE, item.error
    assert await Status.exists(uri=post["id"], audience=remote.uri)
    assert await announces(physics) == []
