"""Community moderation, Lemmy's set: what local moderators send (announced by the group),
what remote moderators send to our communities, and what remote groups announce."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from activitypub.http import SafeHttpClient
from fediverse_cop import db
from fediverse_cop.models import (
    Account,
    Community,
    CommunityRole,
    CommunityRoleKind,
    FanoutJob,
    Follow,
    FollowState,
    InboxState,
    Report,
    Status,
    StatusPin,
)
from fediverse_cop.services import (
    communities,
    follows,
    groups,
    moderation_groups,
    oauth,
    statuses,
    timelines,
)
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.remote import Federation, fetch_actor
from fediverse_cop.services.statuses import Draft
from fediverse_cop.services.timelines import AccountFilter
from fediverse_cop.settings import Settings
from fediverse_cop.streaming import hub
from fediverse_cop.streaming.events import Frame
from fediverse_cop.streaming.hub import Subscriber
from fediverse_cop.streaming.streams import USER, StreamKey
from outbox.worker import DeliveryWorker
from tests.communities.test_groups import (
    groups_account,
    jobs,
    join,
    lemmy,
    local_user,
    make_community,
    masto,
    received,
    serve_nodeinfo,
)
from tests.conftest import Cli
from tests.inbox.conftest import Local, Peer
from tests.inbox.test_statuses import PUBLIC, deliver, note, refused
from tests.sink import Sink, sink_resolver

__all__ = ["lemmy", "masto"]

FIXTURES = Path(__file__).parent / "fixtures"


def lemmy_activity(name: str, replacements: dict[str, str]) -> dict[str, Any]:
    """One of Lemmy's moderation activities (GROUPS-INTEROP §4.7) with its actors replaced."""
    text = orjson.dumps(orjson.loads((FIXTURES / "lemmy_moderation.json").read_text())[name])
    decoded = text.decode()
    for old, new in replacements.items():
        decoded = decoded.replace(old, new)
    result: dict[str, Any] = orjson.loads(decoded)
    return result


def as_lemmy(moderator: Peer, group: str, member: Peer, post: str) -> dict[str, str]:
    return {
        "http://enterprise.lemmy.ml/u/lemmy_beta": moderator.uri,
        "http://enterprise.lemmy.ml/c/main": group,
        "http://enterprise.lemmy.ml/activities": f"{moderator.base}/activities",
        "http://ds9.lemmy.ml/u/lemmy_alpha": member.uri,
        "http://ds9.lemmy.ml/activities": f"{member.base}/activities",
        "http://ds9.lemmy.ml/post/2": post,
        "http://ds9.lemmy.ml/comment/1": post,
    }


async def job_count() -> int:
    return await FanoutJob.all().count()


async def announced(community: Community) -> list[dict[str, Any]]:
    """The activities the group announced (embedded ones only, in order)."""
    return [
        job.activity["object"]
        for job in await jobs(community.account, "Announce")
        if isinstance(job.activity["object"], dict)
    ]


async def community_timeline(community: Community) -> list[str]:
    query = timelines.of_account(None, community.account, AccountFilter())
    return [str(uri) for uri in await query.values_list("uri", flat=True)]


async def member_post(local: Local, peer: Peer, community: Community, n: int) -> Status:
    post = note(peer, n, cc=[community.account.uri], audience=community.account.uri)
    item = await deliver(local, peer, peer.activity("Create", post))
    assert item.state is InboxState.DONE, item.error
    return await Status.get(uri=post["id"])


# -- local moderators ----------------------------------------------------------------------------


async def test_a_removed_post_is_announced_hidden_and_restorable(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    post = await member_post(local, masto, physics, 1)
    boost = await Status.get(account=physics.account, reblog_of=post)
    assert post.uri in await community_timeline(physics)

    delete = await moderation_groups.remove_post(
        local.fed, physics, post, reason="off topic", by=alice
    )
    post = await Status.get(id=post.id)
    assert (post.removal_reason, post.deleted_at) == ("off topic", None)
    assert post.removed_at is not None
    assert post.uri not in await community_timeline(physics)
    # Lemmy's remove_note: the moderator's Delete, with the reason, announced by the group.
    assert {k: delete[k] for k in ("type", "actor", "object", "summary", "to", "cc")} == {
        "type": "Delete",
        "actor": alice.uri,
        "object": post.uri,
        "summary": "off topic",
        "to": [PUBLIC],
        "cc": [physics.account.uri],
    }
    (announce,) = [
        j for j in await jobs(physics.account, "Announce") if j.activity["object"] == delete
    ]
    assert announce.recipients == [f"{physics.account.followers_uri}#group-aware"]
    assert announce.activity["actor"] == physics.account.uri
    # Mastodon's members lose the group's boost of it.
    (undo,) = await jobs(physics.account, "Undo")
    assert undo.activity["object"]["id"] == boost.uri
    assert undo.recipients == [f"{physics.account.followers_uri}#microblog"]
    assert not await Status.exists(account=physics.account, reblog_of=post)

    restored = await moderation_groups.restore_post(local.fed, physics, post, by=alice)
    assert restored["type"] == "Undo"
    assert restored["object"]["type"] == "Delete"
    assert restored["object"]["object"] == post.uri
    assert restored["object"]["id"] != delete["id"]  # regenerated, as Lemmy does
    assert (await announced(physics))[-1] == restored
    post = await Status.get(id=post.id)
    assert post.removed_at is None
    assert post.uri in await community_timeline(physics)
    assert await Status.exists(account=physics.account, reblog_of=post)


async def test_a_removed_local_post_answers_as_removed_at_its_uri(
    local: Local, alice: Account
) -> None:
    physics = await make_community(local)
    bob = await local_user(local, "bob")
    await follows.follow(local.fed, bob, physics.account)
    post = await statuses.post(local.fed, bob, Draft("hello", community=physics.account))
    accept = {"Accept": "application/activity+json"}
    assert (await local.client.get(post.uri, headers=accept)).status_code == 200

    await moderation_groups.remove_post(local.fed, physics, post, reason="spam")
    gone = await local.client.get(post.uri, headers=accept)
    assert gone.status_code == 410
    assert gone.json()["type"] == "Tombstone"
    assert await timelines.get_visible(None, post.id) is None

    await moderation_groups.restore_post(local.fed, physics, post)
    assert (await local.client.get(post.uri, headers=accept)).status_code == 200


async def next_frame(sub: Subscriber) -> Frame:
    return await asyncio.wait_for(sub.queue.get(), 10)


async def test_members_streams_hear_of_accepted_posts_and_of_removals(
    local: Local, alice: Account, masto: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    bob = await local_user(local, "bob")  # a member, who does not follow the author
    await follows.follow(local.fed, bob, physics.account)
    scopes = frozenset({"read"})
    registered = await oauth.register_app("Test client", [oauth.OOB_REDIRECT], scopes)
    token = (await oauth.issue_token(registered.app, bob, scopes)).token
    async with hub.running(local.fed.ctx, token_recheck=3600) as streams:
        sub = streams.connect(bob, token, scopes, "websocket")
        await streams.subscribe(sub, StreamKey(USER))

        # As Mastodon posts into a group: a mention, no audience.
        mention = [{"type": "Mention", "href": physics.account.uri}]
        post = note(masto, 1, cc=[physics.account.uri], tag=mention)
        item = await deliver(local, masto, masto.activity("Create", post))
        assert item.state is InboxState.DONE, item.error
        stored = await Status.get(uri=post["id"])
        shown = await next_frame(sub)
        assert (shown.stream, shown.event) == (("user",), "update")
        assert orjson.loads(shown.payload or "{}")["id"] == str(stored.id)

        await moderation_groups.remove_post(local.fed, physics, stored, reason="spam")
        removed = await next_frame(sub)
        assert (removed.stream, removed.event, removed.payload) == (
            ("user",),
            "delete",
            str(stored.id),
        )
        await moderation_groups.restore_post(local.fed, physics, stored)
        restored = await next_frame(sub)
        assert restored.event == "update"
        assert orjson.loads(restored.payload or "{}")["id"] == str(stored.id)


async def test_only_moderators_remove_posts(local: Local, alice: Account, masto: Peer) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    post = await member_post(local, masto, physics, 1)
    bob = await local_user(local, "bob")
    before = await job_count()
    with pytest.raises(Invalid, match="does not moderate"):
        await moderation_groups.remove_post(local.fed, physics, post, by=bob)
    post = await Status.get(id=post.id)
    assert post.removed_at is None
    assert await job_count() == before


async def test_a_ban_rejects_the_follow_and_announces_a_block(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    post = await member_post(local, lemmy, physics, 1)
    member = await Account.get(uri=lemmy.uri)
    expires = utcnow() + timedelta(days=7)

    block = await moderation_groups.ban(
        local.fed, physics, member, reason="spam", expires_at=expires, remove_data=True
    )
    assert await CommunityRole.exists(
        community=physics, account=member, role=CommunityRoleKind.BANNED
    )
    assert not await Follow.exists(account=member, target=physics.account)
    (ended,) = await jobs(physics.account, "Reject")
    assert (ended.activity["object"]["type"], ended.recipients) == ("Follow", [lemmy.uri])
    # Lemmy's block_user: the owner acts, target = the community, expiry and removeData.
    assert block["type"] == "Block"
    assert (block["actor"], block["object"], block["target"]) == (
        alice.uri,
        lemmy.uri,
        physics.account.uri,
    )
    assert (block["summary"], block["removeData"]) == ("spam", True)
    assert block["expires"].startswith(expires.date().isoformat())
    (announce,) = [
        j for j in await jobs(physics.account, "Announce") if j.activity["object"] == block
    ]
    # The banned member's own server (group-aware) hears of it too.
    assert announce.recipients == [f"{physics.account.followers_uri}#group-aware", lemmy.uri]
    post = await Status.get(id=post.id)
    assert (post.removed_at is not None, post.removal_reason) == (True, "spam")

    undo = await moderation_groups.unban(local.fed, physics, member)
    assert (undo["type"], undo["object"]["type"], undo["object"]["target"]) == (
        "Undo",
        "Block",
        physics.account.uri,
    )
    assert (await announced(physics))[-1] == undo
    assert not await CommunityRole.exists(community=physics, account=member)


async def test_a_locked_thread_refuses_replies(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    top = await member_post(local, lemmy, physics, 1)
    lock = await moderation_groups.lock(local.fed, physics, top, reason="heated")
    assert (lock["type"], lock["object"], lock["summary"]) == ("Lock", top.uri, "heated")
    assert (await announced(physics))[-1] == lock
    before = await job_count()

    reply = note(masto, 2, inReplyTo=top.uri, cc=[lemmy.uri])
    create = masto.activity("Create", reply)
    item = await deliver(local, masto, create)
    assert refused(item, "the thread is locked")
    assert not await Status.exists(uri=reply["id"])
    new_jobs = (await FanoutJob.all().order_by("created_at", "id"))[before:]
    assert [(j.activity["type"], j.recipients) for j in new_jobs] == [("Reject", [masto.uri])]
    assert new_jobs[0].activity["object"]["id"] == create["id"]

    bob = await local_user(local, "bob")
    await follows.follow(local.fed, bob, physics.account)
    with pytest.raises(Invalid, match="locked"):
        await statuses.post(local.fed, bob, Draft("me too", in_reply_to=top))

    unlock = await moderation_groups.lock(local.fed, physics, top, locked=False)
    assert (unlock["type"], unlock["object"]["type"]) == ("Undo", "Lock")
    item = await deliver(local, masto, masto.activity("Create", {**reply, "id": reply["id"] + "b"}))
    assert item.state is InboxState.DONE, item.error


async def test_pins_and_moderators_are_collection_changes(
    local: Local, alice: Account, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, lemmy, physics)
    top = await member_post(local, lemmy, physics, 1)
    add = await moderation_groups.pin(local.fed, physics, top)
    assert (add["type"], add["object"], add["target"]) == (
        "Add",
        top.uri,
        physics.account.featured_uri,
    )
    assert await StatusPin.exists(account=physics.account, status=top)
    featured = await local.client.get(
        physics.account.featured_uri or "", headers={"Accept": "application/activity+json"}
    )
    assert top.uri in featured.json()["orderedItems"]
    remove = await moderation_groups.pin(local.fed, physics, top, pinned=False)
    assert (remove["type"], remove["target"]) == ("Remove", physics.account.featured_uri)
    assert not await StatusPin.exists(account=physics.account, status=top)

    member = await Account.get(uri=lemmy.uri)
    moderators_uri = f"{physics.account.uri}/moderators"
    added = await moderation_groups.set_moderator(local.fed, physics, member)
    assert (added["type"], added["object"], added["target"]) == ("Add", lemmy.uri, moderators_uri)
    listed = await local.client.get(moderators_uri, headers={"Accept": "application/activity+json"})
    assert listed.json()["orderedItems"] == [alice.uri, lemmy.uri]
    removed = await moderation_groups.set_moderator(local.fed, physics, member, moderator=False)
    assert removed["type"] == "Remove"
    assert [a["type"] for a in (await announced(physics))[-4:]] == [
        "Add",
        "Remove",
        "Add",
        "Remove",
    ]
    with pytest.raises(Invalid, match="owns"):
        await moderation_groups.set_moderator(local.fed, physics, alice, moderator=False)


async def test_a_community_update_is_sent_by_the_group(local: Local, alice: Account) -> None:
    physics = await make_community(local)
    update = await moderation_groups.send_group_update(local.fed.ctx, physics)
    (job,) = await jobs(physics.account, "Update")
    assert job.activity == update
    assert (update["actor"], update["object"]["type"]) == (physics.account.uri, "Group")
    assert update["object"]["id"] == physics.account.uri
    assert job.recipients == [physics.account.followers_uri]


# -- Lemmy's moderation activities sent to our community by its remote moderators --------------------


@pytest.fixture
def beta(sink: Sink) -> Peer:
    peer = Peer(sink, "lemmy.sink.test", "beta")
    serve_nodeinfo(peer, "lemmy")
    return peer


async def moderator(local: Local, community: Community, peer: Peer) -> Account:
    await join(local, peer, community)
    account = await Account.get(uri=peer.uri)
    await CommunityRole.create(
        community=community, account=account, role=CommunityRoleKind.MODERATOR
    )
    return account


async def test_lemmy_moderation_from_a_remote_moderator_is_applied_and_announced(
    local: Local, alice: Account, masto: Peer, lemmy: Peer, beta: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    await moderator(local, physics, beta)
    post = await member_post(local, masto, physics, 1)
    group = physics.account.uri

    def lemmy_said(name: str) -> dict[str, Any]:
        return lemmy_activity(name, as_lemmy(beta, group, masto, post.uri))

    remove = lemmy_said("remove_note")
    lock = lemmy_said("lock_page")
    pin = lemmy_said("add_featured_post")
    pin["target"] = physics.account.featured_uri
    for activity in (remove, lock, pin):
        item = await deliver(local, beta, activity)
        assert item.state is InboxState.DONE, item.error
    post = await Status.get(id=post.id)
    assert (post.removal_reason, post.locked_at is not None) == ("bad comment", True)
    assert await StatusPin.exists(account=physics.account, status=post)
    # Announced as received, unchanged.
    assert (await announced(physics))[-3:] == [remove, lock, pin]

    block = lemmy_said("block_user")
    block["object"] = lemmy.uri
    item = await deliver(local, beta, block)
    assert item.state is InboxState.DONE, item.error
    banned = await CommunityRole.get(community=physics, account__uri=lemmy.uri)
    assert (banned.role, banned.reason) == (CommunityRoleKind.BANNED, "spam post")
    assert banned.expires_at is not None
    assert banned.expires_at.year == 2099
    assert (await announced(physics))[-1] == block

    update = lemmy_said("update_community")
    item = await deliver(local, beta, update)
    assert item.state is InboxState.DONE, item.error
    await physics.account.refresh_from_db()
    assert (physics.account.display_name, physics.account.note) == (
        "Main Community (renamed)",
        "A new description",
    )
    (group_update,) = await jobs(physics.account, "Update")
    assert group_update.activity["object"]["name"] == "Main Community (renamed)"


async def test_reports_to_the_community_and_their_resolution(
    local: Local, alice: Account, masto: Peer, lemmy: Peer, beta: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    await moderator(local, physics, beta)
    post = await member_post(local, masto, physics, 1)
    names = as_lemmy(beta, physics.account.uri, lemmy, post.uri)
    flag = lemmy_activity("report_page", names)
    item = await deliver(local, lemmy, flag)
    assert item.state is InboxState.DONE, item.error

    report = await Report.get(uri=flag["id"]).select_related("reporter", "target", "community")
    assert report.community is not None
    assert (report.reporter.uri, report.target.uri, report.community.uri) == (
        lemmy.uri,
        masto.uri,
        physics.account.uri,
    )
    assert (report.status_uris, report.comment) == ([post.uri], "report this post")
    assert [r.id for r in await moderation_groups.community_reports(physics)] == [report.id]
    # Remote moderators' servers get the report, nobody else (as Mbin and PieFed).
    (forwarded,) = [
        j for j in await jobs(physics.account, "Announce") if j.activity["object"] == flag
    ]
    assert forwarded.recipients == [beta.uri]

    resolve = lemmy_activity("resolve_report_page", names)
    item = await deliver(local, beta, resolve)
    assert item.state is InboxState.DONE, item.error
    await report.refresh_from_db()
    assert report.resolved_at is not None
    assert report.resolved_by_id == (await Account.get(uri=beta.uri)).id  # type: ignore[attr-defined]
    assert await moderation_groups.community_reports(physics) == []


async def test_a_local_resolution_is_sent_to_the_reporter_and_remote_moderators(
    local: Local, alice: Account, masto: Peer, lemmy: Peer, beta: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    await moderator(local, physics, beta)
    post = await member_post(local, masto, physics, 1)
    flag = lemmy_activity("report_page", as_lemmy(beta, physics.account.uri, lemmy, post.uri))
    await deliver(local, lemmy, flag)
    report = await Report.get(uri=flag["id"])

    resolve = await moderation_groups.resolve_report(local.fed, report, by=alice)
    assert resolve is not None
    assert (resolve["type"], resolve["actor"]) == ("Resolve", alice.uri)
    assert (resolve["object"]["type"], resolve["object"]["id"]) == ("Flag", flag["id"])
    (sent,) = [
        j for j in await jobs(physics.account, "Announce") if j.activity["object"] == resolve
    ]
    assert sent.recipients == [beta.uri, lemmy.uri]
    await report.refresh_from_db()
    assert report.resolved_by_id == alice.id  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["remove_note", "lock_page", "block_user", "add_featured_post"])
async def test_moderation_from_a_non_moderator_is_refused_with_no_side_effects(
    local: Local, alice: Account, masto: Peer, lemmy: Peer, kind: str
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    post = await member_post(local, masto, physics, 1)
    activity = lemmy_activity(kind, as_lemmy(lemmy, physics.account.uri, masto, post.uri))
    if kind == "add_featured_post":
        activity["target"] = physics.account.featured_uri
    before = await job_count()

    item = await deliver(local, lemmy, activity)

    assert item.state is InboxState.FAILED
    post = await Status.get(id=post.id)
    assert (post.removed_at, post.deleted_at, post.locked_at) == (None, None, None)
    assert not await StatusPin.exists(account=physics.account)
    assert not await CommunityRole.exists(community=physics, role=CommunityRoleKind.BANNED)
    assert await Follow.exists(account__uri=masto.uri, target=physics.account)
    assert await job_count() == before


# -- what remote groups announce ------------------------------------------------------------------


@pytest.fixture
async def remote_group(local: Local, alice: Account, sink: Sink) -> tuple[Peer, Account]:
    """A Lemmy community with ``beta`` as its moderator, followed by alice."""
    group = Peer(sink, "lemmy.sink.test", "main")
    moderators = f"{group.uri}/moderators"
    group.extra = {"type": "Group", "attributedTo": moderators}
    group.publish()
    beta_uri = f"{group.base}/users/beta"
    collection = {"id": moderators, "type": "OrderedCollection", "orderedItems": [beta_uri]}
    sink.serve(group.host, "/users/main/moderators", collection)
    account = await groups_account(local, group)
    await Follow.create(account=alice, target=account, state=FollowState.ACCEPTED, uri="urn:x:1")
    return group, account


async def group_post(local: Local, group: Peer, author: Peer) -> Status:
    post = note(author, 1, cc=[group.uri], audience=group.uri)
    create = {"id": f"{author.uri}/c/1", "type": "Create", "actor": author.uri, "object": post}
    item = await deliver(local, group, group.activity("Announce", create))
    assert item.state is InboxState.DONE, item.error
    return await Status.get(uri=post["id"])


async def test_a_remote_moderators_announced_removal_and_lock_apply(
    local: Local, alice: Account, sink: Sink, remote_group: tuple[Peer, Account]
) -> None:
    group, account = remote_group
    beta = Peer(sink, "lemmy.sink.test", "beta")
    author = Peer(sink, "lemmy.sink.test", "alpha")
    post = await group_post(local, group, author)
    names = as_lemmy(beta, group.uri, author, post.uri)

    for name in ("remove_note", "lock_page"):
        item = await deliver(local, group, group.activity("Announce", lemmy_activity(name, names)))
        assert item.state is InboxState.DONE, item.error
    post = await Status.get(id=post.id)
    assert (post.removal_reason, post.deleted_at) == ("bad comment", None)
    assert post.locked_at is not None
    assert await timelines.get_visible(alice, post.id) is None
    # Removed, the post is gone for everyone but its author: nothing to reply to.
    with pytest.raises(NotFound):
        await statuses.post(local.fed, alice, Draft("reply", in_reply_to=post))

    undo = group.activity("Undo", lemmy_activity("remove_note", names), actor=beta.uri)
    undo["id"] = f"{beta.uri}/undo/1"
    item = await deliver(local, group, group.activity("Announce", undo))
    assert item.state is InboxState.DONE, item.error
    post = await Status.get(id=post.id)
    assert post.removed_at is None

    block = lemmy_activity("block_user", names)
    item = await deliver(local, group, group.activity("Announce", block))
    assert item.state is InboxState.DONE, item.error
    role = await CommunityRole.get(account__uri=author.uri, community__account=account)
    assert role.role is CommunityRoleKind.BANNED
    post = await Status.get(id=post.id)
    assert post.removed_at is not None  # removeData
    # Nothing of a remote group's moderation is sent anywhere from here.
    assert await job_count() == 0


async def test_remote_moderation_not_by_a_moderator_or_not_announced_is_refused(
    local: Local, alice: Account, sink: Sink, remote_group: tuple[Peer, Account]
) -> None:
    group, _ = remote_group
    beta = Peer(sink, "lemmy.sink.test", "beta")
    author = Peer(sink, "lemmy.sink.test", "alpha")
    intruder = Peer(sink, "lemmy.sink.test", "gamma")
    post = await group_post(local, group, author)

    by_intruder = lemmy_activity("remove_note", as_lemmy(intruder, group.uri, author, post.uri))
    item = await deliver(local, group, group.activity("Announce", by_intruder))
    assert refused(item, "is not a moderator")
    lock_by_intruder = lemmy_activity("lock_page", as_lemmy(intruder, group.uri, author, post.uri))
    item = await deliver(local, group, group.activity("Announce", lock_by_intruder))
    assert refused(item, "is not a moderator")

    # The moderator's own Delete, not announced by the group: the owner check refuses it.
    direct = lemmy_activity("remove_note", as_lemmy(beta, group.uri, author, post.uri))
    item = await deliver(local, beta, direct)
    assert item.state is InboxState.FAILED

    # Announced by someone who is not the group.
    not_the_group = intruder.activity("Announce", by_intruder)
    item = await deliver(local, intruder, not_the_group)
    assert item.state is InboxState.FAILED

    post = await Status.get(id=post.id)
    assert (post.removed_at, post.deleted_at, post.locked_at) == (None, None, None)
    assert await job_count() == 0


# -- the operator's commands ------------------------------------------------------------------------


def seed_member_and_report(settings: Settings) -> tuple[str, str]:
    """A remote member of ``physics`` with a post in it and a report about it."""

    async def seed() -> tuple[str, str]:
        async with db.database(settings):
            community = await communities.get_local_community("physics")
            member = await Account.create(
                username="ann",
                domain="remote.example",
                acct_key="ann@remote.example",
                uri="https://remote.example/users/ann",
                inbox_uri="https://remote.example/users/ann/inbox",
            )
            await Follow.create(
                account=member,
                target=community.account,
                state=FollowState.ACCEPTED,
                uri="https://remote.example/follows/1",
            )
            post = await Status.create(
                uri="https://remote.example/notes/1",
                account=member,
                audience=community.account.uri,
                published_at=utcnow(),
                to=[PUBLIC],
            )
            report = await Report.create(
                reporter=member,
                target=member,
                status_uris=[post.uri],
                comment="wrong place",
                community=community.account,
                uri="https://remote.example/flags/1",
            )
            return post.uri, str(report.id)

    return asyncio.run(seed())


def test_the_operator_bans_removes_and_resolves_from_the_cli(cli: Cli, settings: Settings) -> None:
    cli.ok("user", "create", "alice", "--email", "a@uni-a.edu")
    cli.ok("user", "create", "bob", "--email", "b@uni-a.edu")
    cli.ok("community", "create", "physics", "--owner", "alice")
    post_uri, report_id = seed_member_and_report(settings)

    banned = cli.ok(
        "community",
        "ban",
        "physics",
        "ann@remote.example",
        "--reason",
        "spam",
        "--expires-in",
        "7d",
        "--remove-data",
        "--json",
    ).json()
    block = banned["activity"]
    assert (block["type"], block["object"], block["target"]) == (
        "Block",
        "https://remote.example/users/ann",
        "http://cop.test/c/physics",
    )
    assert (block["actor"], block["summary"], block["removeData"]) == (
        "http://cop.test/users/alice",
        "spam",
        True,
    )
    not_a_moderator = cli("community", "unban", "physics", "ann@remote.example", "--as", "bob")
    assert not_a_moderator.code == 1
    assert "does not moderate" in not_a_moderator.stderr
    assert "lifted the ban" in cli.ok("community", "unban", "physics", "ann@remote.example").stdout

    restored = cli.ok("community", "remove-post", "physics", post_uri, "--restore", "--json")
    assert restored.json()["activity"]["type"] == "Undo"  # removed by --remove-data above
    again = cli.ok("community", "remove-post", "physics", post_uri, "--reason", "off topic")
    assert "removed" in again.stdout
    twice = cli("community", "remove-post", "physics", post_uri)
    assert (twice.code, "removed already" in twice.stderr) == (1, True)

    listed = cli.ok("community", "reports", "physics", "--json").json()
    assert [(r["id"], r["comment"], r["posts"]) for r in listed] == [
        (report_id, "wrong place", [post_uri])
    ]
    resolved = cli.ok("community", "resolve", report_id, "--json").json()
    assert resolved["activity"]["type"] == "Resolve"
    assert resolved["activity"]["object"]["id"] == "https://remote.example/flags/1"
    assert cli.ok("community", "reports", "physics", "--json").json() == []
    assert len(cli.ok("community", "reports", "physics", "--all", "--json").json()) == 1
    assert cli("community", "resolve", "12345").code == 1


def seed_members_and_thread(settings: Settings, sink: Sink, *members: Peer) -> str:
    """``members`` join ``physics`` as their servers would (actor and NodeInfo read from the
    sink, which knows the community's key); the first starts a thread in it. Returns the
    thread's URI."""

    async def seed() -> str:
        async with (
            db.database(settings),
            SafeHttpClient(
                user_agent="fediverse-cop-tests",
                allowed_networks=["127.0.0.0/8"],
                resolver=sink_resolver,
            ) as http,
        ):
            fed = Federation(ServerContext(settings), http)
            community = await communities.get_local_community("physics")
            group = community.account
            sink.keys[group.public_key_id or ""] = group.public_key_pem
            for peer in members:
                member = await fetch_actor(fed, peer.uri)
                await Follow.create(
                    account=member,
                    target=community.account,
                    state=FollowState.ACCEPTED,
                    uri=f"{peer.uri}/follows/1",
                )
                await groups.learn_peer(fed, member)
            post = await Status.create(
                uri=f"{members[0].uri}/notes/1",
                account=await Account.get(uri=members[0].uri),
                audience=community.account.uri,
                published_at=utcnow(),
                to=[PUBLIC],
                cc=[community.account.uri],
            )
            return post.uri

    return asyncio.run(seed())


def deliver_everything(settings: Settings) -> None:
    """Run the delivery worker until nothing is left to send (deliveries about one post go
    one after the other)."""

    async def work() -> None:
        async with (
            db.database(settings),
            SafeHttpClient(
                user_agent="fediverse-cop-tests",
                allowed_networks=["127.0.0.0/8"],
                resolver=sink_resolver,
            ) as http,
        ):
            worker = DeliveryWorker(http, local_domain=settings.domain)
            for _ in range(20):
                stats = await worker.run_once()
                if not stats.jobs and not stats.attempted:
                    return
            raise AssertionError("deliveries were still pending")

    asyncio.run(work())


def test_the_operator_locks_pins_and_names_moderators_from_the_cli(
    cli: Cli, settings: Settings, sink: Sink, lemmy: Peer, masto: Peer
) -> None:
    cli.ok("user", "create", "alice", "--email", "a@uni-a.edu")
    cli.ok("user", "create", "bob", "--email", "b@uni-a.edu")
    cli.ok("community", "create", "physics", "--owner", "alice")
    thread = seed_members_and_thread(settings, sink, lemmy, masto)
    group = "http://cop.test/c/physics"

    locked = cli.ok("community", "lock", "physics", thread, "--reason", "heated", "--json").json()
    assert {k: locked["activity"][k] for k in ("type", "actor", "object", "summary")} == {
        "type": "Lock",
        "actor": "http://cop.test/users/alice",
        "object": thread,
        "summary": "heated",
    }
    twice = cli("community", "lock", "physics", thread)
    assert (twice.code, twice.stderr.strip()) == (1, "error: the thread is locked already")
    assert cli.ok("community", "unlock", "physics", thread).stdout.strip() == (
        f"unlocked {thread} in physics"
    )
    pinned = cli.ok("community", "pin", "physics", thread, "--json").json()["activity"]
    assert (pinned["type"], pinned["object"], pinned["target"]) == (
        "Add",
        thread,
        f"{group}/featured",
    )
    assert "pinned already" in cli("community", "pin", "physics", thread).stderr
    assert "unpinned" in cli.ok("community", "unpin", "physics", thread).stdout
    missing = cli("community", "pin", "physics", "https://nowhere.example/notes/9")
    assert (missing.code, missing.stderr.strip()) == (
        1,
        "error: no post 'https://nowhere.example/notes/9'",
    )
    assert cli("community", "unpin", "physics").code == 2  # no post named

    # Moderator roles are the moderators collection: each change is announced.
    assert (
        "bob is now moderator of physics"
        in cli.ok("community", "add-role", "physics", "bob", "moderator").stdout
    )
    cli.ok("community", "add-role", "physics", "bob", "trainer")  # no longer a moderator
    cli.ok("community", "add-role", "physics", "bob", "moderator")
    cli.ok("community", "remove-role", "physics", "bob", "moderator")

    deliver_everything(settings)
    posts = [r for r in sink.posts(lemmy.host) if orjson.loads(r.body)["type"] == "Announce"]
    assert posts
    assert all(r.signature.verified for r in posts)
    announced = [orjson.loads(r.body) for r in posts]
    assert {a["actor"] for a in announced} == {group}
    bob = "http://cop.test/users/bob"

    def shape(activity: dict[str, Any]) -> tuple[str, str, str | None]:
        inner = activity["object"]
        if inner["type"] == "Undo":
            return ("Undo", inner["object"]["type"], inner["object"]["object"])
        return (inner["type"], inner["object"], inner.get("target"))

    # The group-aware member's server hears of every change as Lemmy sends them; the changes
    # to one collection (or of one thread) arrive in the order they were made.
    shapes = [shape(a) for a in announced]
    assert [s for s in shapes if s[1:] != (bob, f"{group}/moderators")] == [
        ("Lock", thread, None),
        ("Undo", "Lock", thread),
        ("Add", thread, f"{group}/featured"),
        ("Remove", thread, f"{group}/featured"),
    ]
    assert [s[0] for s in shapes if s[1:] == (bob, f"{group}/moderators")] == [
        "Add",
        "Remove",
        "Add",
        "Remove",
    ]
    # Mastodon does not understand these: its member's server gets none of them.
    assert [a for a in received(sink, masto.host) if a["type"] == "Announce"] == []
