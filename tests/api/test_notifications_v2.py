"""Grouped notifications (``/api/v2/notifications``): favourites, boosts and follows in
groups, filtered and paginated like v1, the unread count after the marker, one group, its
accounts and its dismissal, for their owner only."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fediverse_cop.ids import new_id
from fediverse_cop.models import AccountBlock, Notification, NotificationType, Status
from fediverse_cop.services import mutes, statuses
from fediverse_cop.services.notification_groups import WINDOW_HOURS
from fediverse_cop.services.statuses import Draft
from tests.api.conftest import Api, User
from tests.api.test_foundation import counting_queries

WINDOW_MS = WINDOW_HOURS * 3_600_000


async def grouped(api: Api, user: User, query: str = "") -> dict[str, Any]:
    response = await api.get(f"/api/v2/notifications{query}", as_=user)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def keys(body: dict[str, Any]) -> list[str]:
    return [g["group_key"] for g in body["notification_groups"]]


async def post(api: Api, user: User, text: str) -> Status:
    return await statuses.post(api.fed, user.account, Draft(text=text))


async def ids(user: User, kind: NotificationType) -> list[int]:
    """The ids of ``user``'s notifications of ``kind``, newest first."""
    rows = await Notification.filter(account_id=user.account.id, type=kind).order_by("-id")
    return [n.id for n in rows]


async def clear_of_a_window_edge() -> None:
    """Groups end every 12 hours (00:00 and 12:00 UTC): wait out the last two seconds
    before an edge, so that a test's notifications all fall in one window."""
    left = WINDOW_MS - int(time.time() * 1000) % WINDOW_MS
    if left < 2000:
        await asyncio.sleep(left / 1000 + 0.05)


async def favourited(api: Api) -> tuple[User, list[User], Status]:
    """alice's post favourited by bob, carol and dave, then a mention of alice by erin."""
    await clear_of_a_window_edge()
    alice = await api.user("alice")
    fans = [await api.user(name) for name in ("bob", "carol", "dave")]
    original = await post(api, alice, "a question about rubrics")
    for fan in fans:
        await statuses.favourite(api.fed, fan.account, original)
    await post(api, await api.user("erin"), "@alice see the handbook")
    return alice, fans, original


async def test_favourites_of_one_post_make_one_group_and_mentions_stay_alone(api: Api) -> None:
    alice, fans, original = await favourited(api)
    await statuses.reblog(api.fed, fans[0].account, original)
    await post(api, fans[1], "@alice another mention")

    body = await grouped(api, alice)
    [newer_mention, reblog, older_mention, favourites] = body["notification_groups"]
    favourite_ids = await ids(alice, NotificationType.FAVOURITE)
    hour = (favourite_ids[0] >> 16) // WINDOW_MS * WINDOW_HOURS  # the window's first hour
    assert favourites == {
        "group_key": f"favourite-{original.id}-{hour}",
        "notifications_count": 3,
        "type": "favourite",
        "most_recent_notification_id": favourite_ids[0],
        "page_min_id": str(favourite_ids[-1]),
        "page_max_id": str(favourite_ids[0]),
        "latest_page_notification_at": favourites["latest_page_notification_at"],
        "sample_account_ids": [fans[2].id, fans[1].id, fans[0].id],
        "status_id": str(original.id),
    }
    assert reblog["group_key"] == f"reblog-{original.id}-{hour}"
    assert (reblog["notifications_count"], reblog["sample_account_ids"]) == (1, [fans[0].id])
    mention_ids = await ids(alice, NotificationType.MENTION)
    for group, mention_id in zip((newer_mention, older_mention), mention_ids, strict=True):
        assert group["group_key"] == f"ungrouped-{mention_id}"
        assert (group["type"], group["notifications_count"]) == ("mention", 1)
    # Each account and each post once, whatever the number of groups naming them.
    assert sorted(a["id"] for a in body["accounts"]) == sorted(
        {i for g in body["notification_groups"] for i in g["sample_account_ids"]}
    )
    assert sorted(s["id"] for s in body["statuses"]) == sorted(
        {g["status_id"] for g in body["notification_groups"]}
    )
    assert len(body["statuses"]) == 3  # the favourited post and the two mentions


async def test_follows_group_and_a_window_ends_a_group(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    now = int(time.time() * 1000)
    start = now - now % WINDOW_MS  # the window we are in
    for sender, at in ((bob, start - 1000), (carol, start + 1000), (bob, start + 2000)):
        await Notification.create(
            id=new_id(at), account=alice.account, from_account=sender.account, type="follow"
        )
    hour = start // 3_600_000
    body = await grouped(api, alice)
    assert [(g["group_key"], g["notifications_count"]) for g in body["notification_groups"]] == [
        (f"follow-{hour}", 2),
        (f"follow-{hour - WINDOW_HOURS}", 1),
    ]
    assert body["notification_groups"][0]["sample_account_ids"] == [bob.id, carol.id]


async def test_types_exclude_types_grouped_types_and_expand_accounts(api: Api) -> None:
    alice, fans, _ = await favourited(api)
    favourite_ids = await ids(alice, NotificationType.FAVOURITE)
    mention_ids = await ids(alice, NotificationType.MENTION)

    ungrouped = await grouped(api, alice, "?grouped_types[]=follow&grouped_types[]=reblog")
    assert keys(ungrouped) == [f"ungrouped-{i}" for i in mention_ids + favourite_ids]
    assert [g["sample_account_ids"] for g in ungrouped["notification_groups"][1:]] == [
        [fan.id] for fan in reversed(fans)
    ]
    assert [
        g["type"]
        for g in (await grouped(api, alice, "?exclude_types[]=mention"))["notification_groups"]
    ] == ["favourite"]
    only = await grouped(api, alice, "?types[]=mention")
    assert keys(only) == [f"ungrouped-{mention_ids[0]}"]
    assert [
        g["notifications_count"]
        for g in (await grouped(api, alice, f"?account_id={fans[1].id}"))["notification_groups"]
    ] == [1]
    assert (await grouped(api, alice, "?types[]=nonsense"))["notification_groups"] == []

    partial = await grouped(api, alice, "?expand_accounts=partial_avatars&include_filtered=true")
    assert partial == await grouped(api, alice)
    refused = await api.get("/api/v2/notifications?expand_accounts=some", as_=alice)
    assert refused.status_code == 400


async def test_pages_count_notifications_and_groups_count_older_members(api: Api) -> None:
    alice, fans, original = await favourited(api)
    [erin] = await Notification.filter(account_id=alice.account.id, type="mention").values_list(
        "from_account_id", flat=True
    )
    last = await api.user("frank")
    await statuses.favourite(api.fed, last.account, original)
    favourite_ids = await ids(alice, NotificationType.FAVOURITE)  # frank, dave, carol, bob
    [mention_id] = await ids(alice, NotificationType.MENTION)

    first = await api.get("/api/v2/notifications?limit=2", as_=alice)
    [favourites, mention] = first.json()["notification_groups"]
    assert mention["group_key"] == f"ungrouped-{mention_id}"
    # One favourite in the page; the group counts the three below it and shows them.
    assert favourites["notifications_count"] == 4
    assert (favourites["page_min_id"], favourites["page_max_id"]) == (str(favourite_ids[0]),) * 2
    assert favourites["sample_account_ids"] == [last.id] + [f.id for f in reversed(fans)]
    assert f'max_id={mention_id}>; rel="next"' in first.headers["link"]
    assert f'min_id={favourite_ids[0]}>; rel="prev"' in first.headers["link"]

    older = await grouped(api, alice, f"?limit=2&max_id={mention_id}")
    [same] = older["notification_groups"]
    assert same["group_key"] == favourites["group_key"]
    assert same["notifications_count"] == 3  # the notifications up to this page's newest
    assert (same["page_min_id"], same["page_max_id"]) == (
        str(favourite_ids[2]),
        str(favourite_ids[1]),
    )
    assert [a["id"] for a in older["accounts"]] == [fans[2].id, fans[1].id, fans[0].id]
    newer = await grouped(api, alice, f"?min_id={favourite_ids[3]}&limit=1")
    assert newer["notification_groups"][0]["page_max_id"] == str(favourite_ids[2])
    since = await grouped(api, alice, f"?since_id={favourite_ids[1]}")
    assert keys(since) == [favourites["group_key"], mention["group_key"]]
    assert str(erin) in [a["id"] for a in since["accounts"]]
    assert "link" not in (await api.get("/api/v2/notifications?max_id=1", as_=alice)).headers


async def test_unread_count_counts_groups_after_the_marker(api: Api) -> None:
    alice, fans, original = await favourited(api)
    await statuses.reblog(api.fed, fans[0].account, original)
    [mention_id] = await ids(alice, NotificationType.MENTION)

    async def unread(query: str = "") -> int:
        response = await api.get(f"/api/v2/notifications/unread_count{query}", as_=alice)
        assert response.status_code == 200, response.text
        count: int = response.json()["count"]
        return count

    assert await unread() == 3  # the favourites, the mention, the boost
    assert await unread("?limit=2") == 2
    assert await unread("?grouped_types[]=reblog") == 5
    assert await unread("?exclude_types[]=favourite") == 2
    saved = await api.post(
        "/api/v1/markers", as_=alice, json={"notifications": {"last_read_id": str(mention_id)}}
    )
    assert saved.status_code == 200
    assert await unread() == 1
    assert await unread("?types[]=mention") == 0


async def test_a_group_its_accounts_and_its_dismissal(api: Api) -> None:
    alice, fans, original = await favourited(api)
    body = await grouped(api, alice)
    key = body["notification_groups"][1]["group_key"]
    mention_key = body["notification_groups"][0]["group_key"]

    one = await api.get(f"/api/v2/notifications/{key}", as_=alice)
    assert one.status_code == 200
    [group] = one.json()["notification_groups"]
    assert (group["group_key"], group["notifications_count"]) == (key, 3)
    assert "page_min_id" not in group
    assert [s["id"] for s in one.json()["statuses"]] == [str(original.id)]
    assert (await api.get(f"/api/v2/notifications/{mention_key}", as_=alice)).status_code == 200

    senders = await api.get(f"/api/v2/notifications/{key}/accounts", as_=alice)
    assert [a["id"] for a in senders.json()] == [fan.id for fan in reversed(fans)]
    paged = await api.get(f"/api/v2/notifications/{key}/accounts?limit=1", as_=alice)
    assert [a["id"] for a in paged.json()] == [fans[2].id]
    assert 'rel="next"' in paged.headers["link"]

    for path in (key, mention_key, "favourite-1-13", "policy", "ungrouped-x"):
        missing = await api.get(f"/api/v2/notifications/{path}", as_=fans[0])
        assert (missing.status_code, missing.json()) == (404, {"error": "Record not found"})
    foreign = await api.post(f"/api/v2/notifications/{key}/dismiss", as_=fans[0])
    assert foreign.status_code == 404

    dismissed = await api.post(f"/api/v2/notifications/{key}/dismiss", as_=alice)
    assert (dismissed.status_code, dismissed.json()) == (200, {})
    assert keys(await grouped(api, alice)) == [mention_key]
    assert await Notification.filter(account_id=alice.account.id).count() == 1
    again = await api.post(f"/api/v2/notifications/{key}/dismiss", as_=alice)
    assert again.status_code == 404
    assert (await api.get(f"/api/v2/notifications/{key}", as_=alice)).status_code == 404
    gone = await api.post(f"/api/v2/notifications/{mention_key}/dismiss", as_=alice)
    assert gone.status_code == 200
    assert (await grouped(api, alice))["notification_groups"] == []


async def test_blocked_and_muted_senders_and_hidden_posts_are_left_out(api: Api) -> None:
    alice, (bob, carol, dave), original = await favourited(api)
    await AccountBlock.create(account=alice.account, target=bob.account)
    await mutes.mute(alice.account, carol.account, notifications=True, duration=0)

    body = await grouped(api, alice)
    [_, favourites] = body["notification_groups"]
    assert (favourites["notifications_count"], favourites["sample_account_ids"]) == (1, [dave.id])
    assert {a["id"] for a in body["accounts"]} & {bob.id, carol.id} == set()
    key = favourites["group_key"]
    [group] = (await api.get(f"/api/v2/notifications/{key}", as_=alice)).json()[
        "notification_groups"
    ]
    assert (group["notifications_count"], group["sample_account_ids"]) == (1, [dave.id])
    senders = (await api.get(f"/api/v2/notifications/{key}/accounts", as_=alice)).json()
    assert [a["id"] for a in senders] == [dave.id]
    unread = await api.get("/api/v2/notifications/unread_count", as_=alice)
    assert unread.json() == {"count": 2}

    # A notification about a post the viewer may no longer see is left out, as in v1.
    await statuses.delete(api.fed, alice.account, original)
    assert [g["type"] for g in (await grouped(api, alice))["notification_groups"]] == ["mention"]
    assert (await api.get(f"/api/v2/notifications/{key}", as_=alice)).status_code == 404
    unread = await api.get("/api/v2/notifications/unread_count", as_=alice)
    assert unread.json() == {"count": 1}


async def test_a_token_and_the_notification_scopes_are_required(api: Api) -> None:
    alice, _, _ = await favourited(api)
    key = keys(await grouped(api, alice))[1]
    reads = [
        "/api/v2/notifications",
        "/api/v2/notifications/unread_count",
        f"/api/v2/notifications/{key}",
        f"/api/v2/notifications/{key}/accounts",
    ]
    reader = await api.token(alice.account, "read:notifications")
    writer = await api.token(alice.account, "write:notifications")
    other = await api.token(alice.account, "read:statuses write:statuses")
    for path in reads:
        assert (await api.get(path)).status_code == 401, path
        assert (await api.get(path, token=other)).status_code == 403, path
        assert (await api.get(path, token=writer)).status_code == 403, path
        assert (await api.get(path, token=reader)).status_code == 200, path
    dismiss = f"/api/v2/notifications/{key}/dismiss"
    assert (await api.post(dismiss)).json() == {"error": "The access token is invalid"}
    refused = await api.post(dismiss, token=reader)
    assert refused.json() == {"error": "This action is outside the authorized scopes"}
    assert (await api.post(dismiss, token=writer)).json() == {}


async def test_a_page_costs_a_fixed_number_of_queries(api: Api) -> None:
    """A page of 6 notifications and one of 20 (more groups, senders and posts, groups
    reaching below the page in both) cost the same queries."""
    await clear_of_a_window_edge()
    alice = await api.user("alice")
    friends = [await api.user(f"friend{i}") for i in range(4)]
    for text in ("first", "second"):
        original = await post(api, alice, text)
        for friend in friends:
            await statuses.favourite(api.fed, friend.account, original)
            await statuses.reblog(api.fed, friend.account, original)
            await post(api, friend, "@alice hi")

    async def page_queries(limit: int) -> tuple[int, int]:
        await api.quiet()
        with counting_queries() as seen:
            body = await grouped(api, alice, f"?limit={limit}")
        return len(seen), len(body["notification_groups"])

    await page_queries(6)  # the first request of a token does a little more
    small, few = await page_queries(6)
    large, many = await page_queries(20)
    assert many > few
    assert large == small
