"""Statuses in the client API: posting (media, polls, idempotency), reading with visibility,
editing, deleting for redraft, threads, favourites, boosts, bookmarks and pins."""

from __future__ import annotations

from typing import Any

from fediverse_cop.models import (
    Account,
    FanoutJob,
    Follow,
    FollowState,
    MediaAttachment,
    MediaType,
    Poll,
    Status,
    Visibility,
    acct_key,
)
from fediverse_cop.services import oauth, statuses
from tests.api.conftest import Api, User

NOT_FOUND = {"error": "Record not found"}


async def _follow(follower: User, target: User) -> None:
    await Follow.create(account=follower.account, target=target.account, state=FollowState.ACCEPTED)


async def _post(api: Api, user: User, **body: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/statuses", as_=user, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def _media(user: User, name: str = "a") -> MediaAttachment:
    return await MediaAttachment.create(
        account=user.account,
        type=MediaType.IMAGE,
        content_type="image/png",
        file_name=f"{name * 32}.png",
        thumbnail_name=f"{name * 32}-small.png",
        description=f"alt text {name}",
        blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        meta={"original": {"width": 640, "height": 480}},
    )


async def _remote(name: str) -> Account:
    return await Account.create(
        username=name,
        domain="remote.example",
        acct_key=acct_key(name, "remote.example"),
        uri=f"https://remote.example/users/{name}",
        followers_uri=f"https://remote.example/users/{name}/followers",
        inbox_uri=f"https://remote.example/users/{name}/inbox",
    )


async def _jobs(kind: str) -> list[dict[str, Any]]:
    return [j.activity for j in await FanoutJob.all() if j.activity.get("type") == kind]


# -- posting and reading ----------------------------------------------------------------------


async def test_each_visibility_is_seen_by_exactly_who_may_see_it(api: Api) -> None:
    alice, bob, carol, dave = [await api.user(n) for n in ("alice", "bob", "carol", "dave")]
    await _follow(bob, alice)
    posted = {
        visibility: await _post(
            api, alice, status=f"@carol {visibility} post", visibility=visibility
        )
        for visibility in ("public", "unlisted", "private", "direct")
    }
    assert {v: p["visibility"] for v, p in posted.items()} == {v: v for v in posted}
    # Who sees what: the author, a follower, the mentioned user, a stranger, anonymous.
    expected: list[tuple[User | None, set[str]]] = [
        (alice, {"public", "unlisted", "private", "direct"}),
        (bob, {"public", "unlisted", "private"}),
        (carol, {"public", "unlisted", "private", "direct"}),
        (dave, {"public", "unlisted"}),
        (None, {"public", "unlisted"}),
    ]
    for viewer, visible in expected:
        for visibility, status in posted.items():
            response = await api.get(f"/api/v1/statuses/{status['id']}", as_=viewer)
            if visibility in visible:
                assert response.status_code == 200, (viewer, visibility)
                assert response.json()["id"] == status["id"]
            else:
                assert response.status_code == 404, (viewer, visibility)
                assert response.json() == NOT_FOUND
    missing = await api.get("/api/v1/statuses/12345", as_=alice)
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)


async def test_posting_takes_form_bodies_and_the_account_defaults(api: Api) -> None:
    alice = await api.user("alice")
    alice.account.default_visibility = Visibility.UNLISTED
    alice.account.default_language = "de"
    await alice.account.save()
    response = await api.post(
        "/api/v1/statuses",
        as_=alice,
        data={"status": "Hallo #Chemie", "spoiler_text": "cw", "sensitive": "0"},
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["visibility"] == "unlisted"
    assert data["language"] == "de"
    assert data["spoiler_text"] == "cw"
    assert data["sensitive"] is True  # a content warning makes a post sensitive
    assert data["tags"][0]["name"] == "chemie"
    assert data["account"]["id"] == alice.id


async def test_posting_needs_a_user_token_with_write_scope(api: Api) -> None:
    reader = await api.user("reader", scopes="read")
    anonymous = await api.post("/api/v1/statuses", json={"status": "hi"})
    assert anonymous.status_code == 401
    refused = await api.post("/api/v1/statuses", as_=reader, json={"status": "hi"})
    assert refused.status_code == 403
    assert refused.json() == {"error": "This action is outside the authorized scopes"}
    writer = await api.user("writer")
    await oauth.revoke_account_tokens(writer.account)
    revoked = await api.post("/api/v1/statuses", as_=writer, json={"status": "hi"})
    assert revoked.status_code == 401
    app_token = await api.token(None, "write")
    no_user = await api.post("/api/v1/statuses", token=app_token, json={"status": "hi"})
    assert no_user.status_code == 401
    assert await Status.all().count() == 0


async def test_bad_posts_are_refused_with_422(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    bobs_media = await _media(bob)
    cases: list[dict[str, Any]] = [
        {"status": "x" * (statuses.MAX_TEXT + 1)},
        {"status": "   "},
        {},
        {"status": "with media", "media_ids": ["999"]},
        {"status": "with media", "media_ids": ["not-a-number"]},
        {"status": "someone else's media", "media_ids": [str(bobs_media.id)]},
        {"status": "poll", "poll": {"options": ["only one"], "expires_in": 3600}},
        {"status": "poll", "poll": {"options": ["a", "a"], "expires_in": 3600}},
        {"status": "poll", "poll": {"options": ["a", "b"], "expires_in": 10}},
        {"status": "poll", "poll": {"options": ["a", "b", "c", "d", "e"], "expires_in": 3600}},
        {"status": "too soon", "scheduled_at": "2000-01-01T00:00:00Z"},
        {"status": "where", "visibility": "everyone"},
        {"status": "community", "community_id": alice.id},
    ]
    for body in cases:
        response = await api.post("/api/v1/statuses", as_=alice, json=body)
        assert response.status_code == 422, (body, response.text)
        assert isinstance(response.json()["error"], str)
    assert await Status.all().count() == 0


async def test_the_same_idempotency_key_gives_the_same_status(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    headers = {"Idempotency-Key": "key-1"}
    first = await api.post("/api/v1/statuses", as_=alice, json={"status": "once"}, headers=headers)
    again = await api.post("/api/v1/statuses", as_=alice, json={"status": "once"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    other_key = await api.post(
        "/api/v1/statuses", as_=alice, json={"status": "once"}, headers={"Idempotency-Key": "2"}
    )
    assert other_key.json()["id"] != first.json()["id"]
    # Keys are per account.
    bobs = await api.post("/api/v1/statuses", as_=bob, json={"status": "once"}, headers=headers)
    assert bobs.json()["id"] != first.json()["id"]
    assert await Status.filter(account=alice.account).count() == 2
    assert len(await _jobs("Create")) == 3


async def test_media_are_attached_in_order_and_federated_as_documents(api: Api) -> None:
    alice = await api.user("alice")
    first, second = await _media(alice, "a"), await _media(alice, "b")
    data = await _post(api, alice, status="", media_ids=[str(second.id), str(first.id)])
    assert [m["id"] for m in data["media_attachments"]] == [str(second.id), str(first.id)]
    assert data["media_attachments"][0]["description"] == "alt text b"
    status = await Status.get(id=int(data["id"]))
    assert [d["type"] for d in status.attachments] == ["Document", "Document"]
    document = status.attachments[0]
    assert document["url"].endswith(f"/media/{'b' * 32}.png")
    assert document["mediaType"] == "image/png"
    assert document["name"] == "alt text b"
    assert (document["width"], document["height"]) == (640, 480)
    assert document["blurhash"] == second.blurhash
    attached = {m.id: m for m in await MediaAttachment.filter(status_id=status.id)}
    assert (attached[second.id].position, attached[first.id].position) == (0, 1)
    (create,) = await _jobs("Create")
    assert [a["url"] for a in create["object"]["attachment"]] == [
        d["url"] for d in status.attachments
    ]
    # Attached media cannot be attached again.
    reused = await api.post(
        "/api/v1/statuses", as_=alice, json={"status": "again", "media_ids": [str(first.id)]}
    )
    assert reused.status_code == 422


async def test_a_poll_becomes_a_question(api: Api) -> None:
    alice = await api.user("alice")
    data = await _post(
        api,
        alice,
        status="Which solvent?",
        poll={"options": ["water", "ethanol"], "expires_in": 3600, "multiple": True},
    )
    assert [o["title"] for o in data["poll"]["options"]] == ["water", "ethanol"]
    assert data["poll"]["multiple"] is True
    assert data["poll"]["expired"] is False
    status = await Status.get(id=int(data["id"]))
    assert status.object_type == "Question"
    (create,) = await _jobs("Create")
    question = create["object"]
    assert question["type"] == "Question"
    assert [o["name"] for o in question["anyOf"]] == ["water", "ethanol"]
    assert "endTime" in question
    # Form bodies in Rails' bracket notation.
    form = await api.post(
        "/api/v1/statuses",
        as_=alice,
        data={
            "status": "One or the other?",
            "poll[options][]": ["yes", "no"],
            "poll[expires_in]": "600",
        },
    )
    assert form.status_code == 200, form.text
    assert form.json()["poll"]["multiple"] is False
    poll = await Poll.get(status_id=int(form.json()["id"]))
    assert [o["title"] for o in poll.options] == ["yes", "no"]


async def test_replies_need_a_visible_parent(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    public = await _post(api, alice, status="question")
    secret = await _post(api, alice, status="only followers", visibility="private")
    reply = await _post(api, bob, status="answer", in_reply_to_id=public["id"])
    assert reply["in_reply_to_id"] == public["id"]
    assert reply["in_reply_to_account_id"] == alice.id
    hidden = await api.post(
        "/api/v1/statuses", as_=bob, json={"status": "?", "in_reply_to_id": secret["id"]}
    )
    assert (hidden.status_code, hidden.json()) == (404, NOT_FOUND)


# -- deleting and editing ---------------------------------------------------------------------


async def test_delete_returns_the_source_text_for_redraft(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    status = await _post(api, alice, status="Hello **world** #tag")
    theirs = await api.delete(f"/api/v1/statuses/{status['id']}", as_=bob)
    assert (theirs.status_code, theirs.json()) == (404, NOT_FOUND)
    anonymous = await api.delete(f"/api/v1/statuses/{status['id']}")
    assert anonymous.status_code == 401
    deleted = await api.delete(f"/api/v1/statuses/{status['id']}", as_=alice)
    assert deleted.status_code == 200
    assert deleted.json()["text"] == "Hello **world** #tag"
    assert deleted.json()["id"] == status["id"]
    gone = await api.get(f"/api/v1/statuses/{status['id']}", as_=alice)
    assert gone.status_code == 404
    (delete,) = await _jobs("Delete")
    assert delete["object"]["id"] == status["uri"]
    again = await api.delete(f"/api/v1/statuses/{status['id']}", as_=alice)
    assert again.status_code == 404


async def test_edit_keeps_history_and_federates_an_update(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    media = await _media(alice)
    status = await _post(api, alice, status="first version", spoiler_text="cw")
    refused = await api.put(
        f"/api/v1/statuses/{status['id']}", as_=bob, json={"status": "not mine"}
    )
    assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    edited = await api.put(
        f"/api/v1/statuses/{status['id']}",
        as_=alice,
        json={"status": "second version", "media_ids": [str(media.id)], "language": "en"},
    )
    assert edited.status_code == 200, edited.text
    data = edited.json()
    assert "second version" in data["content"]
    assert data["edited_at"] is not None
    assert data["spoiler_text"] == "cw"  # not sent: kept
    assert data["language"] == "en"
    assert [m["id"] for m in data["media_attachments"]] == [str(media.id)]
    source = await api.get(f"/api/v1/statuses/{status['id']}/source", as_=alice)
    assert source.json() == {"id": status["id"], "text": "second version", "spoiler_text": "cw"}
    assert (await api.get(f"/api/v1/statuses/{status['id']}/source", as_=bob)).status_code == 404
    history = await api.get(f"/api/v1/statuses/{status['id']}/history", as_=bob)
    assert history.status_code == 200
    versions = history.json()
    assert len(versions) == 2
    assert "first version" in versions[0]["content"]
    assert "second version" in versions[1]["content"]
    (update,) = await _jobs("Update")
    assert update["object"]["id"] == status["uri"]
    assert update["object"]["attachment"][0]["type"] == "Document"
    # Leaving the media out of an edit removes them (the body is the whole new post).
    await api.put(f"/api/v1/statuses/{status['id']}", as_=alice, json={"status": "third"})
    assert await MediaAttachment.filter(status_id=int(status["id"])).count() == 0
    blank = await api.put(f"/api/v1/statuses/{status['id']}", as_=alice, json={"status": ""})
    assert blank.status_code == 422


# -- threads ----------------------------------------------------------------------------------


async def test_context_shows_the_visible_part_of_a_thread(api: Api) -> None:
    alice, bob, dave = await api.user("alice"), await api.user("bob"), await api.user("dave")
    await _follow(bob, alice)
    root = await _post(api, alice, status="root")
    middle = await _post(api, bob, status="middle", in_reply_to_id=root["id"])
    private = await _post(
        api, alice, status="followers only", visibility="private", in_reply_to_id=middle["id"]
    )
    leaf = await _post(api, bob, status="leaf", in_reply_to_id=middle["id"])
    seen_by_bob = (await api.get(f"/api/v1/statuses/{middle['id']}/context", as_=bob)).json()
    assert [s["id"] for s in seen_by_bob["ancestors"]] == [root["id"]]
    assert [s["id"] for s in seen_by_bob["descendants"]] == [private["id"], leaf["id"]]
    seen_by_dave = (await api.get(f"/api/v1/statuses/{middle['id']}/context", as_=dave)).json()
    assert [s["id"] for s in seen_by_dave["descendants"]] == [leaf["id"]]
    anonymous = await api.get(f"/api/v1/statuses/{leaf['id']}/context")
    assert [s["id"] for s in anonymous.json()["ancestors"]] == [root["id"], middle["id"]]
    assert anonymous.json()["descendants"] == []
    hidden = await api.get(f"/api/v1/statuses/{private['id']}/context", as_=dave)
    assert hidden.status_code == 404


# -- interactions -----------------------------------------------------------------------------


async def test_favourite_and_unfavourite(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    status = await _post(api, alice, status="like me")
    faved = await api.post(f"/api/v1/statuses/{status['id']}/favourite", as_=bob)
    assert faved.status_code == 200
    assert faved.json()["favourited"] is True
    assert faved.json()["favourites_count"] == 1
    by = await api.get(f"/api/v1/statuses/{status['id']}/favourited_by")
    assert [a["id"] for a in by.json()] == [bob.id]
    listed = await api.get("/api/v1/favourites", as_=bob)
    assert [s["id"] for s in listed.json()] == [status["id"]]
    undone = await api.post(f"/api/v1/statuses/{status['id']}/unfavourite", as_=bob)
    assert undone.json()["favourited"] is False
    assert undone.json()["favourites_count"] == 0
    assert (await api.get("/api/v1/favourites", as_=bob)).json() == []
    reader = await api.user("reader", scopes="read")
    refused = await api.post(f"/api/v1/statuses/{status['id']}/favourite", as_=reader)
    assert refused.status_code == 403


async def test_a_remote_post_favourited_and_unfavourited_federates_like_and_undo(api: Api) -> None:
    bob = await api.user("bob")
    remote = await _remote("ada")
    status = await Status.create(
        uri="https://remote.example/notes/1",
        account=remote,
        content="<p>hi</p>",
        to=["https://www.w3.org/ns/activitystreams#Public"],
        published_at=remote.created_at,
    )
    await api.post(f"/api/v1/statuses/{status.id}/favourite", as_=bob)
    await api.post(f"/api/v1/statuses/{status.id}/unfavourite", as_=bob)
    (like,) = await _jobs("Like")
    (undo,) = await _jobs("Undo")
    assert undo["object"]["id"] == like["id"]


async def test_reblog_and_unreblog(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    await _follow(bob, alice)
    status = await _post(api, alice, status="boost me")
    boosted = await api.post(
        f"/api/v1/statuses/{status['id']}/reblog", as_=bob, data={"visibility": "unlisted"}
    )
    assert boosted.status_code == 200
    boost = boosted.json()
    assert boost["reblog"]["id"] == status["id"]
    assert boost["visibility"] == "unlisted"
    assert boost["reblog"]["reblogged"] is True
    by = await api.get(f"/api/v1/statuses/{status['id']}/reblogged_by")
    assert [a["id"] for a in by.json()] == [bob.id]
    undone = await api.post(f"/api/v1/statuses/{status['id']}/unreblog", as_=bob)
    assert undone.json()["reblogged"] is False
    assert undone.json()["reblogs_count"] == 0
    (undo,) = await _jobs("Undo")
    assert undo["object"]["type"] == "Announce"
    # Followers-only posts cannot be boosted; a stranger does not even see them.
    private = await _post(api, alice, status="mine only", visibility="private")
    follower = await api.post(f"/api/v1/statuses/{private['id']}/reblog", as_=bob)
    assert (follower.status_code, follower.json()) == (403, {"error": "This action is not allowed"})
    stranger = await api.post(f"/api/v1/statuses/{private['id']}/reblog", as_=carol)
    assert (stranger.status_code, stranger.json()) == (404, NOT_FOUND)


async def test_bookmarks_are_private_and_paginated(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    posts = [await _post(api, alice, status=f"post {i}") for i in range(3)]
    for post in posts:
        marked = await api.post(f"/api/v1/statuses/{post['id']}/bookmark", as_=bob)
        assert marked.json()["bookmarked"] is True
    first = await api.get("/api/v1/bookmarks", as_=bob, params={"limit": 2})
    assert [s["id"] for s in first.json()] == [posts[2]["id"], posts[1]["id"]]
    assert 'rel="next"' in first.headers["link"]
    next_url = first.headers["link"].split(";")[0].strip("<>")
    second = await api.get(next_url.split("cop.test", 1)[1], as_=bob)
    assert [s["id"] for s in second.json()] == [posts[0]["id"]]
    assert (await api.get("/api/v1/bookmarks", as_=alice)).json() == []
    assert (await api.get("/api/v1/bookmarks")).status_code == 401
    await api.post(f"/api/v1/statuses/{posts[0]['id']}/unbookmark", as_=bob)
    assert len((await api.get("/api/v1/bookmarks", as_=bob)).json()) == 2


async def test_pins_are_own_public_posts_and_at_most_five(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    posts = [await _post(api, alice, status=f"pin {i}") for i in range(statuses.MAX_PINS + 1)]
    for post in posts[: statuses.MAX_PINS]:
        pinned = await api.post(f"/api/v1/statuses/{post['id']}/pin", as_=alice)
        assert pinned.json()["pinned"] is True
    too_many = await api.post(f"/api/v1/statuses/{posts[-1]['id']}/pin", as_=alice)
    assert too_many.status_code == 422
    theirs = await api.post(f"/api/v1/statuses/{posts[-1]['id']}/pin", as_=bob)
    assert theirs.status_code == 422
    private = await _post(api, alice, status="private", visibility="private")
    assert (await api.post(f"/api/v1/statuses/{private['id']}/pin", as_=alice)).status_code == 422
    unpinned = await api.post(f"/api/v1/statuses/{posts[0]['id']}/unpin", as_=alice)
    assert unpinned.json()["pinned"] is False
    assert (await api.post(f"/api/v1/statuses/{posts[-1]['id']}/pin", as_=alice)).status_code == 200
    shown = await api.get(f"/api/v1/accounts/{alice.id}/statuses", params={"pinned": "true"})
    assert {s["id"] for s in shown.json()} == {p["id"] for p in posts[1:]}
    assert len(await _jobs("Add")) == statuses.MAX_PINS + 1
    assert len(await _jobs("Remove")) == 1
