"""Local posting (addressing, mentions, edits, deletes, boosts, likes) and serving posts (TC37)."""

from __future__ import annotations

import httpx
import pytest

from activitypub.keys import load_private_key_pem
from activitypub.signatures import HttpSignatureAuth
from fediverse_cop.models import (
    Account,
    FanoutJob,
    Favourite,
    Follow,
    FollowState,
    Status,
    StatusEdit,
    StatusMention,
    StatusTag,
    Visibility,
)
from fediverse_cop.services import accounts, instance, statuses
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.remote import fetch_actor
from fediverse_cop.services.statuses import Draft
from fediverse_cop.services.visibility import PUBLIC, can_view
from tests.inbox.conftest import Local, Peer

AS2 = "application/activity+json"


async def _job() -> FanoutJob:
    return await FanoutJob.all().order_by("-id").first()  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("visibility", "to", "cc_has_public", "followers_addressed"),
    [
        (Visibility.PUBLIC, "public", False, True),
        (Visibility.UNLISTED, "followers", True, True),
        (Visibility.PRIVATE, "followers", False, True),
        (Visibility.DIRECT, "mentions", False, False),
    ],
)
async def test_addressing_follows_the_visibility(
    local: Local,
    alice: Account,
    peer: Peer,
    visibility: Visibility,
    to: str,
    cc_has_public: bool,
    followers_addressed: bool,
) -> None:
    bob = await fetch_actor(local.fed, peer.uri)
    status = await statuses.post(
        local.fed, alice, Draft(f"hello @{bob.handle} #Maths", visibility=visibility)
    )
    followers = alice.followers_uri
    expected_to = {"public": [PUBLIC], "followers": [followers], "mentions": [bob.uri]}[to]
    assert status.to == expected_to
    assert (PUBLIC in status.cc) is cc_has_public
    assert bob.uri in status.to + status.cc
    assert status.visibility is visibility
    job = await _job()
    assert job.activity["type"] == "Create"
    assert job.activity["object"]["id"] == status.uri
    assert (followers in job.recipients) is followers_addressed
    assert bob.uri in job.recipients
    note = job.activity["object"]
    assert note["tag"] == [
        {"type": "Mention", "href": bob.uri, "name": f"@{bob.handle}"},
        {"type": "Hashtag", "href": "http://cop.test/tags/maths", "name": "#maths"},
    ]
    assert f'href="{bob.uri}"' in note["content"]
    assert await StatusMention.filter(status=status, account=bob).exists()
    assert await StatusTag.filter(status=status, tag__name="maths").exists()


async def test_a_reply_addresses_the_parent_author(
    local: Local, alice: Account, database: object
) -> None:
    carol = await accounts.create_user(
        local.fed.ctx, "carol", email="c@uni-a.edu", password="long enough"
    )
    parent = await statuses.post(local.fed, carol, Draft("question?"))
    reply = await statuses.post(local.fed, alice, Draft("answer", in_reply_to=parent))
    assert (reply.in_reply_to_uri, reply.in_reply_to_id) == (parent.uri, parent.id)  # type: ignore[attr-defined]
    assert carol.uri in reply.cc
    assert await StatusMention.filter(status=reply, account=carol).exists()


async def test_edit_keeps_history_and_sends_update(local: Local, alice: Account) -> None:
    status = await statuses.post(local.fed, alice, Draft("first"))
    edited = await statuses.edit(local.fed, alice, status, "second", spoiler_text="cw")
    assert (edited.text, edited.summary, edited.content) == ("second", "cw", "<p>second</p>")
    history = await StatusEdit.filter(status=status)
    assert [h.content for h in history] == ["<p>first</p>"]
    job = await _job()
    assert (job.activity["type"], job.activity["object"]["content"]) == ("Update", "<p>second</p>")
    assert job.ordering_key == status.uri


async def test_only_the_author_edits_or_deletes(local: Local, alice: Account) -> None:
    mallory = await accounts.create_user(
        local.fed.ctx, "mallory", email="m@uni-a.edu", password="long enough"
    )
    status = await statuses.post(local.fed, alice, Draft("mine"))
    with pytest.raises(NotFound):
        await statuses.edit(local.fed, mallory, status, "theirs")
    with pytest.raises(NotFound):
        await statuses.delete(local.fed, mallory, status)
    assert (await Status.get(id=status.id)).text == "mine"


async def test_boost_and_favourite(local: Local, alice: Account, peer: Peer) -> None:
    bob = await fetch_actor(local.fed, peer.uri)
    remote_post = await Status.create(
        uri=f"{peer.uri}/statuses/1",
        account=bob,
        content="<p>hi</p>",
        published_at=alice.created_at,
        visibility=Visibility.PUBLIC,
        to=[PUBLIC],
    )
    boost = await statuses.reblog(local.fed, alice, remote_post)
    assert boost.reblog_of_id == remote_post.id  # type: ignore[attr-defined]
    announce = (await _job()).activity
    assert (announce["type"], announce["object"]) == ("Announce", remote_post.uri)
    assert bob.uri in (await _job()).recipients
    assert await statuses.reblog(local.fed, alice, remote_post) == boost  # idempotent
    with pytest.raises(Invalid):
        await statuses.reblog(local.fed, alice, boost)
    like = await statuses.favourite(local.fed, alice, remote_post)
    assert (await _job()).activity == {
        **(await _job()).activity,
        "type": "Like",
        "object": remote_post.uri,
        "actor": alice.uri,
    }
    assert await Favourite.filter(id=like.id).exists()


async def test_private_posts_cannot_be_boosted(local: Local, alice: Account) -> None:
    status = await statuses.post(
        local.fed, alice, Draft("friends only", visibility=Visibility.PRIVATE)
    )
    with pytest.raises(NotFound):
        await statuses.reblog(local.fed, alice, status)


# -- serving posts: TC37 --------------------------------------------------------------------


async def _signed_get(local: Local, peer: Peer, path: str) -> httpx.Response:
    auth = HttpSignatureAuth(peer.key_id, load_private_key_pem(peer.private_pem))
    return await local.client.get(path, headers={"Accept": AS2}, auth=auth)


def _path(status: Status) -> str:
    return status.uri.removeprefix("http://cop.test")


async def test_tc37_followers_only_posts_are_served_only_to_a_follower_s_server(
    local: Local, alice: Account, peer: Peer, sink: object
) -> None:
    from tests.sink import Sink

    assert isinstance(sink, Sink)
    public = await statuses.post(local.fed, alice, Draft("for all"))
    private = await statuses.post(local.fed, alice, Draft("friends", visibility=Visibility.PRIVATE))
    missing = "/objects/1234"

    anonymous_public = await local.client.get(_path(public), headers={"Accept": AS2})
    assert anonymous_public.status_code == 200
    assert anonymous_public.json()["id"] == public.uri
    assert anonymous_public.headers["content-type"].startswith(AS2)

    not_found = await local.client.get(missing, headers={"Accept": AS2})
    anonymous_private = await local.client.get(_path(private), headers={"Accept": AS2})
    stranger = await _signed_get(local, peer, _path(private))
    for response in (anonymous_private, stranger):
        assert (response.status_code, response.content) == (
            not_found.status_code,
            not_found.content,
        )

    other = Peer(sink, "remote.sink.test", "eve")  # same server, a follower
    eve = await fetch_actor(local.fed, other.uri)
    await Follow.create(account=eve, target=alice, state=FollowState.ACCEPTED)
    follower_server = await _signed_get(local, peer, _path(private))
    assert follower_server.status_code == 200
    assert follower_server.json()["content"] == "<p>friends</p>"


async def test_a_deleted_post_answers_410_with_a_tombstone(local: Local, alice: Account) -> None:
    status = await statuses.post(local.fed, alice, Draft("soon gone"))
    await statuses.delete(local.fed, alice, status)
    response = await local.client.get(_path(status), headers={"Accept": AS2})
    assert response.status_code == 410
    assert (response.json()["type"], response.json()["id"]) == ("Tombstone", status.uri)
    job = await _job()
    assert (job.activity["type"], job.activity["object"]["type"]) == ("Delete", "Tombstone")
    assert not await can_view(await Status.get(id=status.id), alice)


async def test_the_outbox_lists_public_activities_newest_first(
    local: Local, alice: Account, peer: Peer
) -> None:
    bob = await fetch_actor(local.fed, peer.uri)
    posts = {
        v: await statuses.post(local.fed, alice, Draft(f"{v.value} @{bob.handle}", visibility=v))
        for v in Visibility
    }
    boost = await statuses.reblog(local.fed, alice, posts[Visibility.PUBLIC])
    collection = (await local.client.get("/users/alice/outbox", headers={"Accept": AS2})).json()
    assert collection["totalItems"] == 3
    page = (await local.client.get(collection["first"], headers={"Accept": AS2})).json()
    items = page["orderedItems"]
    assert [(i["type"], i["id"]) for i in items] == [
        ("Announce", boost.uri),
        ("Create", f"{posts[Visibility.UNLISTED].uri}/activity"),
        ("Create", f"{posts[Visibility.PUBLIC].uri}/activity"),
    ]
    assert items[2]["object"]["tag"][0]["href"] == bob.uri
    older = (await local.client.get(page["next"], headers={"Accept": AS2})).json()
    assert older["orderedItems"] == []
    newer = (await local.client.get(page["prev"], headers={"Accept": AS2})).json()
    assert newer["orderedItems"] == []
    middle = f"/users/alice/outbox?page=true&max_id={boost.id}"
    assert [i["type"] for i in (await local.client.get(middle)).json()["orderedItems"]] == [
        "Create",
        "Create",
    ]


async def test_activities_are_served_at_their_uris(local: Local, alice: Account) -> None:
    public = await statuses.post(local.fed, alice, Draft("out loud"))
    private = await statuses.post(local.fed, alice, Draft("hush", visibility=Visibility.PRIVATE))
    boost = await statuses.reblog(local.fed, alice, public)

    create = await local.client.get(_path(public) + "/activity", headers={"Accept": AS2})
    assert create.status_code == 200
    assert (create.json()["type"], create.json()["object"]["id"]) == ("Create", public.uri)
    hidden = await local.client.get(_path(private) + "/activity", headers={"Accept": AS2})
    assert hidden.status_code == 404
    announce = await local.client.get(_path(boost), headers={"Accept": AS2})
    assert (announce.status_code, announce.json()["type"], announce.json()["object"]) == (
        200,
        "Announce",
        public.uri,
    )
    follow_like = await local.client.get("/activities/1", headers={"Accept": AS2})
    assert follow_like.status_code == 404


async def test_stats_count_local_posts_but_not_boosts_or_deleted_ones(
    local: Local, alice: Account
) -> None:
    kept = await statuses.post(local.fed, alice, Draft("kept"))
    gone = await statuses.post(local.fed, alice, Draft("gone"))
    await statuses.reblog(local.fed, alice, kept)
    await statuses.delete(local.fed, alice, gone)
    assert (await instance.stats()).posts == 1


async def test_a_deleted_private_post_answers_like_a_missing_one(
    local: Local, alice: Account
) -> None:
    status = await statuses.post(local.fed, alice, Draft("hush", visibility=Visibility.PRIVATE))
    await statuses.delete(local.fed, alice, status)
    missing = await local.client.get("/objects/1234", headers={"Accept": AS2})
    response = await local.client.get(_path(status), headers={"Accept": AS2})
    assert (response.status_code, response.content) == (missing.status_code, missing.content)
