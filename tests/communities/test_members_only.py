"""Members-only communities (Lemmy's private communities) against simulated remote servers:
never addressed to Public, fetchable only by servers with a member, moderators warned
when a new server gets in."""

from __future__ import annotations

import logging

import orjson
import pytest

from activitypub.keys import load_private_key_pem
from activitypub.signatures import HttpSignatureAuth
from fediverse_cop.models import (
    Account,
    Community,
    ContentVisibility,
    FanoutJob,
    Follow,
    FollowState,
    InboxState,
    JoinPolicy,
    Notification,
    NotificationType,
    Status,
    Visibility,
)
from fediverse_cop.services import (
    communities,
    follows,
    groups,
    oauth,
    statuses,
    timelines,
    visibility,
)
from fediverse_cop.services.communities import CommunityPolicy
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.statuses import Draft
from fediverse_cop.streaming import hub
from fediverse_cop.streaming.streams import USER, StreamKey
from tests.communities.test_groups import announces, jobs, join, local_user, serve_nodeinfo
from tests.communities.test_moderation import next_frame
from tests.inbox.conftest import Local, Peer
from tests.inbox.test_statuses import PUBLIC, deliver, note, refused
from tests.sink import Sink

AS2 = "application/activity+json"


async def make_circle(local: Local, handle: str = "circle") -> Community:
    return await communities.create_community(
        local.fed.ctx,
        handle,
        name=handle.title(),
        owner="alice",
        policy=CommunityPolicy(join=JoinPolicy.APPROVAL, visibility=ContentVisibility.MEMBERS),
    )


async def approved(local: Local, peer: Peer, community: Community, alice: Account) -> Account:
    await join(local, peer, community)
    member = await Account.get(uri=peer.uri)
    await groups.approve_member(local.fed, community, member, by=alice)
    return member


def signed(peer: Peer) -> HttpSignatureAuth:
    return HttpSignatureAuth(peer.key_id, load_private_key_pem(peer.private_pem))


def path_of(uri: str) -> str:
    return uri[len("http://cop.test") :]


def never_public(activity: dict[str, object]) -> bool:
    addressed = [*activity.get("to", []), *activity.get("cc", [])]  # type: ignore[misc]
    return PUBLIC not in addressed and "as:Public" not in addressed


@pytest.fixture
def lemmy(sink: Sink) -> Peer:
    peer = Peer(sink, "lemmy.sink.test", "picard")
    serve_nodeinfo(peer, "lemmy")
    return peer


@pytest.fixture
def outsider(sink: Sink) -> Peer:
    peer = Peer(sink, "elsewhere.sink.test", "eve")
    serve_nodeinfo(peer, "mastodon")
    return peer


# -- fetching ------------------------------------------------------------------------------------


async def test_members_only_content_is_404_unless_a_member_server_signs(
    local: Local, alice: Account, lemmy: Peer, outsider: Peer
) -> None:
    circle = await make_circle(local)
    await approved(local, lemmy, circle, alice)
    post = await statuses.post(local.fed, alice, Draft("for members", community=circle.account))
    missing = await local.client.get("/objects/1", headers={"Accept": AS2})
    assert missing.status_code == 404

    paths = [
        path_of(post.uri),
        path_of(post.uri) + "/activity",
        "/c/circle/outbox",
        "/c/circle/outbox?page=true",
        "/c/circle/featured",
        "/c/circle/resources",
    ]
    for path in paths:
        unsigned = await local.client.get(path, headers={"Accept": AS2})
        assert (unsigned.status_code, unsigned.json()) == (404, missing.json()), path
        stranger = await local.client.get(path, headers={"Accept": AS2}, auth=signed(outsider))
        assert (stranger.status_code, stranger.json()) == (404, missing.json()), path
        member = await local.client.get(path, headers={"Accept": AS2}, auth=signed(lemmy))
        assert member.status_code == 200, path
    browser = await local.client.get(path_of(post.uri), headers={"Accept": "text/html"})
    assert browser.status_code == 404
    fetched = (
        await local.client.get(path_of(post.uri), headers={"Accept": AS2}, auth=signed(lemmy))
    ).json()
    assert fetched["id"] == post.uri
    assert never_public(fetched)
    # The actor itself stays public: anyone may find the community and ask to join.
    actor = await local.client.get("/c/circle", headers={"Accept": AS2})
    assert (actor.status_code, actor.json()["manuallyApprovesFollowers"]) == (200, True)


async def test_a_server_whose_member_left_can_no_longer_fetch(
    local: Local, alice: Account, lemmy: Peer
) -> None:
    circle = await make_circle(local)
    member = await approved(local, lemmy, circle, alice)
    post = await statuses.post(local.fed, alice, Draft("for members", community=circle.account))
    auth = signed(lemmy)
    assert (await local.client.get(path_of(post.uri), auth=auth)).status_code == 200
    await groups.ban_member(local.fed, circle, member, by=alice)
    assert (await local.client.get(path_of(post.uri), auth=auth)).status_code == 404


# -- addressing ----------------------------------------------------------------------------------


async def test_local_posts_into_a_members_only_community_are_never_addressed_to_public(
    local: Local, alice: Account, lemmy: Peer
) -> None:
    circle = await make_circle(local)
    await approved(local, lemmy, circle, alice)
    bob = await local_user(local, "bob")
    carol = await local_user(local, "carol")
    await follows.follow(local.fed, bob, circle.account)
    await groups.approve_member(local.fed, circle, bob, by=alice)

    # The client asks for a public post mentioning a non-member: both are narrowed.
    post = await statuses.post(
        local.fed,
        bob,
        Draft("hello @carol", visibility=Visibility.PUBLIC, community=circle.account),
    )
    group = circle.account
    assert post.visibility is Visibility.DIRECT
    assert (post.to, post.cc) == ([group.uri, group.followers_uri], [])
    (create,) = await jobs(bob, "Create")
    assert never_public(create.activity)
    assert never_public(create.activity["object"])
    assert bob.followers_uri not in create.recipients
    assert not await Notification.exists(account=carol)

    (announce,) = await announces(circle)  # no boost for microblog servers
    assert (announce.activity["to"], announce.activity.get("cc", [])) == (
        [group.followers_uri],
        [],
    )
    assert announce.activity["object"]["id"] == create.activity["id"]
    assert not await Status.exists(account=group, reblog_of=post)


async def test_a_public_post_from_a_member_server_is_rejected_with_no_side_effects(
    local: Local, alice: Account, lemmy: Peer
) -> None:
    circle = await make_circle(local)
    await approved(local, lemmy, circle, alice)
    group = circle.account
    before = await FanoutJob.filter(sender=group).count()

    public = note(lemmy, 1, cc=[group.uri], audience=group.uri)
    create = lemmy.activity("Create", public)
    item = await deliver(local, lemmy, create)

    assert refused(item, "members-only")
    assert not await Status.exists(uri=public["id"])
    new_jobs = (await FanoutJob.filter(sender=group).order_by("id"))[before:]
    assert [job.activity["type"] for job in new_jobs] == ["Reject"]
    assert new_jobs[0].activity["object"]["id"] == create["id"]


async def test_a_lemmy_post_to_the_followers_is_accepted_and_announced_to_them_only(
    local: Local, alice: Account, lemmy: Peer
) -> None:
    circle = await make_circle(local)
    await approved(local, lemmy, circle, alice)
    group = circle.account
    # Lemmy's addressing in a private community: the community and its followers.
    private = note(lemmy, 2, to=[group.uri, group.followers_uri], cc=[], audience=group.uri)
    create = lemmy.activity("Create", private, to=private["to"], cc=[])
    item = await deliver(local, lemmy, create)
    assert item.state is InboxState.DONE, item.error

    stored = await Status.get(uri=private["id"])
    assert (stored.visibility, stored.audience) == (Visibility.DIRECT, group.uri)
    (announce,) = await announces(circle)
    assert announce.activity["object"] == create
    assert (announce.activity["to"], announce.activity.get("cc", [])) == (
        [group.followers_uri],
        [],
    )


# -- who may read ----------------------------------------------------------------------------------


async def test_members_and_staff_read_members_only_posts_and_no_one_else(
    local: Local, alice: Account, lemmy: Peer
) -> None:
    circle = await make_circle(local)
    await approved(local, lemmy, circle, alice)
    bob = await local_user(local, "bob")
    carol = await local_user(local, "carol")
    await follows.follow(local.fed, bob, circle.account)
    await follows.follow(local.fed, carol, bob)  # carol follows the author, not the community
    await groups.approve_member(local.fed, circle, bob, by=alice)
    post = await statuses.post(local.fed, bob, Draft("members only", community=circle.account))

    for reader, allowed in ((bob, True), (alice, True), (carol, False), (None, False)):
        assert await visibility.can_view(post, reader) is allowed, reader
        in_list = await timelines.visible(reader).filter(id=post.id).exists()
        assert in_list is allowed, reader
    assert not await timelines.home(carol).filter(id=post.id).exists()
    assert (
        await timelines.of_account(alice, circle.account, timelines.AccountFilter())
        .filter(id=post.id)
        .exists()
    )
    with pytest.raises(Invalid, match="not a member"):
        await statuses.post(local.fed, carol, Draft("let me in", community=circle.account))


async def test_members_streams_hear_when_a_members_only_post_goes(
    local: Local, alice: Account
) -> None:
    circle = await make_circle(local)
    bob = await local_user(local, "bob")  # a member who does not follow the author
    await follows.follow(local.fed, bob, circle.account)
    await groups.approve_member(local.fed, circle, bob, by=alice)
    scopes = frozenset({"read"})
    registered = await oauth.register_app("Test client", [oauth.OOB_REDIRECT], scopes)
    token = (await oauth.issue_token(registered.app, bob, scopes)).token
    async with hub.running(local.fed.ctx, token_recheck=3600) as streams:
        sub = streams.connect(bob, token, scopes, "websocket")
        await streams.subscribe(sub, StreamKey(USER))
        post = await statuses.post(
            local.fed, alice, Draft("members only", community=circle.account)
        )
        assert post.visibility is Visibility.DIRECT  # how members-only posts are kept
        shown = await next_frame(sub)
        assert (shown.event, orjson.loads(shown.payload or "{}")["id"]) == ("update", str(post.id))
        await statuses.delete(local.fed, alice, post)
        gone = await next_frame(sub)
        assert (gone.event, gone.payload) == ("delete", str(post.id))


# -- new servers ---------------------------------------------------------------------------------


async def test_the_first_member_from_a_new_server_warns_the_moderators(
    local: Local, alice: Account, lemmy: Peer, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    circle = await make_circle(local)
    second = Peer(sink, lemmy.host, "riker")
    caplog.set_level(logging.WARNING, logger="fediverse_cop.services.private_groups")

    await approved(local, lemmy, circle, alice)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert lemmy.host in warnings[0].getMessage()
    (notice,) = await Notification.filter(account=alice)
    assert notice.type is NotificationType.ADMIN_SIGN_UP
    assert notice.from_account_id == (await Account.get(uri=lemmy.uri)).id  # type: ignore[attr-defined]

    # A second member from the same server: nothing new to warn about.
    caplog.clear()
    await approved(local, second, circle, alice)
    assert [r for r in caplog.records if r.levelno == logging.WARNING] == []
    assert await Notification.filter(account=alice).count() == 1
    states = [f.state for f in await Follow.filter(target=circle.account)]
    assert states == [FollowState.ACCEPTED, FollowState.ACCEPTED]


async def test_a_public_community_does_not_warn(
    local: Local, alice: Account, lemmy: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    study = await communities.create_community(
        local.fed.ctx,
        "study",
        name="Study",
        owner="alice",
        policy=CommunityPolicy(join=JoinPolicy.APPROVAL),
    )
    caplog.set_level(logging.WARNING, logger="fediverse_cop.services.private_groups")
    await approved(local, lemmy, study, alice)
    assert [r for r in caplog.records if r.levelno == logging.WARNING] == []
    assert not await Notification.exists(account=alice, type=NotificationType.ADMIN_SIGN_UP)
