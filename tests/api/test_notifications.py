"""Notifications: produced by real interactions (local and from the inbox), listed, filtered,
paginated, fetched, dismissed and cleared, for their owner only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from activitypub.http import SafeHttpClient
from fediverse_cop.app import create_app
from fediverse_cop.models import (
    AccountBlock,
    InboxItem,
    InboxState,
    Notification,
    Status,
    Visibility,
)
from fediverse_cop.services import follows, oauth, statuses
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft
from inbox.receive import InboxReceiver
from inbox.worker import InboxWorker
from tests.api.conftest import Api, User
from tests.api.test_foundation import counting_queries
from tests.inbox.conftest import Local, Peer
from tests.sink import Sink

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def listed(api: Api, user: User, query: str = "") -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/notifications{query}", as_=user)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def kinds(notifications: list[dict[str, Any]]) -> list[str]:
    return [n["type"] for n in notifications]


async def post(api: Api, user: User, text: str, **extra: Any) -> Status:
    return await statuses.post(api.fed, user.account, Draft(text=text, **extra))


# -- produced by local interactions --------------------------------------------------------------


async def test_a_follow_by_a_local_user_notifies_the_followed_user(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await follows.follow(api.fed, bob.account, alice.account)

    [notification] = await listed(api, alice)
    assert notification["type"] == "follow"
    assert notification["account"]["id"] == bob.id
    # Follows group (Mastodon 4.3): the key is the one the grouped API lists it under.
    assert notification["group_key"].startswith("follow-")
    grouped = (await api.get("/api/v2/notifications", as_=alice)).json()
    assert [g["group_key"] for g in grouped["notification_groups"]] == [notification["group_key"]]
    assert notification.get("status") is None
    assert await listed(api, bob) == []


async def test_a_locked_account_gets_a_follow_request_until_it_is_answered(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    alice.account.manually_approves_followers = True
    await alice.account.save(update_fields=["manually_approves_followers"])
    await follows.follow(api.fed, bob.account, alice.account)

    assert kinds(await listed(api, alice)) == ["follow_request"]
    await follows.answer_request(api.fed, alice.account, bob.account, accept=True)
    assert await listed(api, alice) == []


async def test_favourite_boost_and_mention_notify_the_author_with_the_post(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    original = await post(api, alice, "a question about rubrics")
    await statuses.favourite(api.fed, bob.account, original)
    await statuses.reblog(api.fed, bob.account, original)
    reply = await post(api, bob, "@alice see the handbook", in_reply_to=original)

    found = await listed(api, alice)
    assert kinds(found) == ["mention", "reblog", "favourite"]
    assert [n["status"]["id"] for n in found] == [str(reply.id), str(original.id), str(original.id)]
    assert all(n["account"]["id"] == bob.id for n in found)
    # Nobody is told about their own actions.
    await statuses.favourite(api.fed, alice.account, original)
    assert len(await listed(api, alice)) == 3
    assert await listed(api, bob) == []


async def test_a_repeated_interaction_notifies_once(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    original = await post(api, alice, "once")
    await statuses.favourite(api.fed, bob.account, original)
    await statuses.favourite(api.fed, bob.account, original)
    assert kinds(await listed(api, alice)) == ["favourite"]


# -- produced by activities from another server --------------------------------------------------


@pytest.fixture
async def inbox(api: Api, sink_http: SafeHttpClient) -> AsyncIterator[Local]:
    """Our inbox (same database as ``api``), fetching peers' keys from the loopback sink."""
    fed = Federation(api.ctx, sink_http)
    app = create_app(api.ctx.settings)
    app.state.fed = fed
    app.state.inbox = InboxReceiver(fed)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cop.test") as client:
        yield Local(app, fed, client, InboxWorker(fed))


async def deliver(inbox: Local, peer: Peer, activity: dict[str, Any]) -> None:
    response = await inbox.post("/inbox", activity, peer=peer)
    assert response.status_code == 202, response.text
    await inbox.worker.run_once()
    item = await InboxItem.get(activity_id=activity["id"])
    assert item.state is InboxState.DONE, item.error


async def test_remote_mention_favourite_boost_follow_and_update_notify(
    api: Api, inbox: Local, sink: Sink
) -> None:
    alice = await api.user("alice")
    peer = Peer(sink, "remote.sink.test", "carol")
    mine = await post(api, alice, "course notes are up")

    note = {
        "id": f"{peer.uri}/statuses/1",
        "type": "Note",
        "attributedTo": peer.uri,
        "content": "<p>@alice thanks!</p>",
        "published": "2024-03-05T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{peer.uri}/followers", alice.account.uri],
        "tag": [{"type": "Mention", "href": alice.account.uri, "name": "@alice@cop.test"}],
    }
    await deliver(inbox, peer, peer.activity("Create", note, to=note["to"], cc=note["cc"]))
    await deliver(inbox, peer, peer.activity("Like", mine.uri))
    await deliver(inbox, peer, peer.activity("Announce", mine.uri, to=[PUBLIC]))
    await deliver(inbox, peer, peer.activity("Follow", alice.account.uri))

    theirs = await Status.get(uri=note["id"])
    await statuses.reblog(api.fed, alice.account, theirs)
    edited = {**note, "content": "<p>@alice thanks a lot!</p>", "updated": "2024-03-05T11:00:00Z"}
    await deliver(inbox, peer, peer.activity("Update", edited, to=note["to"], cc=note["cc"]))

    found = await listed(api, alice)
    assert kinds(found) == ["update", "follow", "reblog", "favourite", "mention"]
    assert {n["account"]["acct"] for n in found} == {f"carol@{sink.domain('remote.sink.test')}"}
    assert found[0]["status"]["id"] == str(theirs.id)
    assert "thanks a lot" in found[0]["status"]["content"]
    assert [n["status"]["id"] for n in found[2:4]] == [str(mine.id), str(mine.id)]
    assert found[4]["status"]["id"] == str(theirs.id)


# -- reading: filters, pagination, visibility -----------------------------------------------------


async def several(api: Api) -> tuple[User, User, User]:
    """alice gets: follow from bob, favourite from bob, mention from carol (oldest first)."""
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    await follows.follow(api.fed, bob.account, alice.account)
    original = await post(api, alice, "hello")
    await statuses.favourite(api.fed, bob.account, original)
    await post(api, carol, "@alice hi")
    return alice, bob, carol


async def test_types_exclude_types_and_account_id_filter(api: Api) -> None:
    alice, bob, carol = await several(api)
    assert kinds(await listed(api, alice)) == ["mention", "favourite", "follow"]
    query = "?types[]=follow&types[]=mention"
    assert kinds(await listed(api, alice, query)) == ["mention", "follow"]
    assert kinds(await listed(api, alice, "?exclude_types[]=mention")) == ["favourite", "follow"]
    assert kinds(await listed(api, alice, f"?account_id={bob.id}")) == ["favourite", "follow"]
    assert kinds(await listed(api, alice, f"?account_id={carol.id}")) == ["mention"]
    # Types this server never produces (or that do not exist) select nothing.
    assert await listed(api, alice, "?types[]=severed_relationships") == []
    assert await listed(api, alice, "?types[]=nonsense") == []
    assert await listed(api, alice, "?account_id=not-a-number") == []


async def test_pages_with_limit_max_id_min_id_and_link_header(api: Api) -> None:
    alice, _, _ = await several(api)
    everything = await listed(api, alice)
    first = await api.get("/api/v1/notifications?limit=2", as_=alice)
    assert [n["id"] for n in first.json()] == [n["id"] for n in everything[:2]]
    link = first.headers["link"]
    assert f'max_id={everything[1]["id"]}>; rel="next"' in link
    assert f'min_id={everything[0]["id"]}>; rel="prev"' in link
    older = await listed(api, alice, f"?max_id={everything[1]['id']}")
    assert [n["id"] for n in older] == [everything[2]["id"]]
    newer = await listed(api, alice, f"?min_id={everything[2]['id']}&limit=1")
    assert [n["id"] for n in newer] == [everything[1]["id"]]
    since = await listed(api, alice, f"?since_id={everything[2]['id']}")
    assert [n["id"] for n in since] == [n["id"] for n in everything[:2]]
    assert "link" not in (await api.get("/api/v1/notifications?max_id=1", as_=alice)).headers


async def test_a_notification_about_a_deleted_post_is_not_shown(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    gone = await post(api, bob, "@alice this will vanish")
    await post(api, bob, "@alice this stays")
    [first, second] = await listed(api, alice)
    await statuses.delete(api.fed, bob.account, gone)

    assert [n["id"] for n in await listed(api, alice)] == [first["id"]]
    missing = await api.get(f"/api/v1/notifications/{second['id']}", as_=alice)
    assert (missing.status_code, missing.json()) == (404, {"error": "Record not found"})


async def test_a_followers_only_post_is_hidden_after_unfollowing(api: Api) -> None:
    """An update about a followers-only post of someone the viewer no longer follows."""
    alice, bob = await api.user("alice"), await api.user("bob")
    await follows.follow(api.fed, alice.account, bob.account)
    private = await post(api, bob, "for followers", visibility=Visibility.PRIVATE)
    await Notification.create(
        account=alice.account, from_account=bob.account, type="update", status=private
    )
    assert kinds(await listed(api, alice)) == ["update"]
    await follows.unfollow(api.fed, alice.account, bob.account)
    assert await listed(api, alice) == []


async def test_notifications_from_blocked_accounts_are_not_shown(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await follows.follow(api.fed, bob.account, alice.account)
    await AccountBlock.create(account=alice.account, target=bob.account)
    assert await listed(api, alice) == []


async def test_a_limit_that_is_not_a_number_is_refused(api: Api) -> None:
    alice = await api.user("alice")
    response = await api.get("/api/v1/notifications?limit=many", as_=alice)
    assert response.status_code == 422
    assert response.json()["error"] == "limit must be a number"
    assert len(await listed(api, alice, "?limit=500")) == 0  # capped, not refused


# -- one notification: get, dismiss, clear ------------------------------------------------------


async def test_get_dismiss_and_clear(api: Api) -> None:
    alice, _, _ = await several(api)
    everything = await listed(api, alice)
    one = await api.get(f"/api/v1/notifications/{everything[1]['id']}", as_=alice)
    assert one.status_code == 200
    assert one.json() == everything[1]

    dismissed = await api.post(f"/api/v1/notifications/{everything[1]['id']}/dismiss", as_=alice)
    assert (dismissed.status_code, dismissed.json()) == (200, {})
    assert [n["id"] for n in await listed(api, alice)] == [everything[0]["id"], everything[2]["id"]]
    again = await api.post(f"/api/v1/notifications/{everything[1]['id']}/dismiss", as_=alice)
    assert again.status_code == 404

    cleared = await api.post("/api/v1/notifications/clear", as_=alice)
    assert (cleared.status_code, cleared.json()) == (200, {})
    assert await listed(api, alice) == []


async def test_another_users_notification_answers_like_a_missing_one(api: Api) -> None:
    alice, bob, _ = await several(api)
    theirs = (await listed(api, alice))[0]["id"]
    for response in (
        await api.get(f"/api/v1/notifications/{theirs}", as_=bob),
        await api.post(f"/api/v1/notifications/{theirs}/dismiss", as_=bob),
        await api.get("/api/v1/notifications/999999", as_=bob),
        await api.get("/api/v1/notifications/not-an-id", as_=bob),
    ):
        assert (response.status_code, response.json()) == (404, {"error": "Record not found"})
    await api.post("/api/v1/notifications/clear", as_=bob)
    assert len(await listed(api, alice)) == 3


# -- authorization ------------------------------------------------------------------------------


async def test_a_token_is_required(api: Api) -> None:
    for method, path in (
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/notifications/1"),
        ("POST", "/api/v1/notifications/1/dismiss"),
        ("POST", "/api/v1/notifications/clear"),
    ):
        response = await api.request(method, path)
        assert response.status_code == 401, path
        assert response.json() == {"error": "The access token is invalid"}


async def test_scopes_are_enforced(api: Api) -> None:
    alice, _, _ = await several(api)
    reader = await api.token(alice.account, "read:notifications")
    writer = await api.token(alice.account, "write:notifications")
    other = await api.token(alice.account, "read:statuses write:statuses")
    some_id = (await listed(api, alice))[0]["id"]

    assert (await api.get("/api/v1/notifications", token=reader)).status_code == 200
    assert (await api.get("/api/v1/notifications", token=writer)).status_code == 403
    assert (await api.get("/api/v1/notifications", token=other)).status_code == 403
    assert (await api.post("/api/v1/notifications/clear", token=reader)).status_code == 403
    refused = await api.post(f"/api/v1/notifications/{some_id}/dismiss", token=other)
    assert refused.json() == {"error": "This action is outside the authorized scopes"}
    assert (await api.post(f"/api/v1/notifications/{some_id}/dismiss", token=writer)).json() == {}


async def test_an_app_token_or_a_revoked_token_is_refused(api: Api) -> None:
    alice, _, _ = await several(api)
    app_token = await api.token(None, "read")
    response = await api.get("/api/v1/notifications", token=app_token)
    assert (response.status_code, response.json()) == (
        401,
        {"error": "This method requires an authenticated user"},
    )
    await oauth.revoke_account_tokens(alice.account)
    assert (await api.get("/api/v1/notifications", as_=alice)).status_code == 401


async def test_a_page_costs_a_fixed_number_of_queries(api: Api) -> None:
    """Twice the notifications (and their posts and authors) cost no more queries."""
    alice = await api.user("alice")
    friends = [await api.user(f"friend{i}") for i in range(4)]
    original = await post(api, alice, "count me")

    async def page_queries() -> int:
        await api.quiet()
        with counting_queries() as seen:
            await listed(api, alice)
        return len(seen)

    for friend in friends[:2]:
        await statuses.favourite(api.fed, friend.account, original)
        await post(api, friend, "@alice hi")
    await page_queries()  # the first request of a token does a little more
    small = await page_queries()
    for friend in friends[2:]:
        await statuses.favourite(api.fed, friend.account, original)
        await post(api, friend, "@alice hi")
    assert await page_queries() == small
