"""Mutes, a user's own domain blocks and account notes: the endpoints, and what they hide
from timelines, threads and notifications."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fediverse_cop.models import (
    Account,
    ActorType,
    FanoutJob,
    Follow,
    FollowState,
    Mute,
    Notification,
    NotificationType,
    Status,
    acct_key,
)
from fediverse_cop.services import notifications
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.visibility import PUBLIC
from tests.api.conftest import Api, User


async def _post(api: Api, user: User, text: str, **body: Any) -> str:
    response = await api.post("/api/v1/statuses", as_=user, json={"status": text, **body})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def _follow(follower: Account, target: Account) -> None:
    await Follow.create(account=follower, target=target, state=FollowState.ACCEPTED)


async def _remote(name: str, domain: str = "spam.example") -> Account:
    return await Account.create(
        username=name,
        domain=domain,
        acct_key=acct_key(name, domain),
        actor_type=ActorType.PERSON,
        uri=f"https://{domain}/u/{name}",
        followers_uri=f"https://{domain}/u/{name}/followers",
        inbox_uri=f"https://{domain}/u/{name}/inbox",
    )


async def _remote_post(author: Account, n: int, text: str = "remote") -> Status:
    return await Status.create(
        uri=f"{author.uri}/notes/{n}",
        account=author,
        content=f"<p>{text} {n}</p>",
        to=[PUBLIC],
        published_at=utcnow(),
    )


async def _notified_types(api: Api, user: User) -> list[tuple[str, str]]:
    response = await api.get("/api/v1/notifications", as_=user)
    assert response.status_code == 200, response.text
    return [(n["type"], n["account"]["id"]) for n in response.json()]


# -- mutes ---------------------------------------------------------------------------------------


async def test_mute_and_unmute_answer_the_relationship_and_list_the_muted(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    muted = await api.post(f"/api/v1/accounts/{bob.id}/mute", as_=alice)
    assert muted.status_code == 200, muted.text
    assert (muted.json()["muting"], muted.json()["muting_notifications"]) == (True, True)
    quiet = await api.post(
        f"/api/v1/accounts/{carol.id}/mute",
        as_=alice,
        json={"notifications": False, "duration": 3600},
    )
    assert (quiet.json()["muting"], quiet.json()["muting_notifications"]) == (True, False)

    listed = await api.get("/api/v1/mutes", as_=alice)
    assert listed.status_code == 200
    by_id = {a["id"]: a for a in listed.json()}
    assert list(by_id) == [carol.id, bob.id]
    assert by_id[bob.id]["mute_expires_at"] is None
    assert by_id[carol.id]["mute_expires_at"] is not None
    relationships = await api.get(
        "/api/v1/accounts/relationships", as_=alice, params={"id[]": [bob.id, carol.id]}
    )
    assert [r["muting"] for r in relationships.json()] == [True, True]
    # Bob's view of alice is untouched.
    theirs = await api.get("/api/v1/accounts/relationships", as_=bob, params={"id[]": alice.id})
    assert theirs.json()[0]["muting"] is False

    unmuted = await api.post(f"/api/v1/accounts/{bob.id}/unmute", as_=alice)
    assert unmuted.json()["muting"] is False
    assert [a["id"] for a in (await api.get("/api/v1/mutes", as_=alice)).json()] == [carol.id]


async def test_muting_oneself_a_missing_account_or_a_bad_duration_is_refused(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    own = await api.post(f"/api/v1/accounts/{alice.id}/mute", as_=alice)
    assert (own.status_code, own.json()) == (404, {"error": "Record not found"})
    assert (await api.post("/api/v1/accounts/12345/mute", as_=alice)).status_code == 404
    bad = await api.post(f"/api/v1/accounts/{bob.id}/mute", as_=alice, json={"duration": "x"})
    assert bad.status_code == 422
    assert not await Mute.exists(account_id=alice.account.id)


async def test_mutes_need_a_token_and_the_mute_scopes(api: Api) -> None:
    bob = await api.user("bob")
    assert (await api.post(f"/api/v1/accounts/{bob.id}/mute")).status_code == 401
    assert (await api.get("/api/v1/mutes")).status_code == 401
    reader = await api.user("reader", scopes="read")
    assert (await api.post(f"/api/v1/accounts/{bob.id}/mute", as_=reader)).status_code == 403
    writer = await api.user("writer", scopes="write:mutes")
    assert (await api.get("/api/v1/mutes", as_=writer)).status_code == 403
    assert (await api.post(f"/api/v1/accounts/{bob.id}/mute", as_=writer)).status_code == 200
    # The legacy follow scope covers mutes, as in Mastodon.
    legacy = await api.user("legacy", scopes="follow")
    assert (await api.get("/api/v1/mutes", as_=legacy)).status_code == 200


async def test_a_muted_account_leaves_home_public_tag_timelines_and_threads(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    await _follow(alice.account, bob.account)
    await _follow(alice.account, carol.account)
    by_bob = await _post(api, bob, "hello #chemistry")
    by_carol = await _post(api, carol, "carol here")
    boost_of_bob = (await api.post(f"/api/v1/statuses/{by_bob}/reblog", as_=carol)).json()["id"]
    reply = await _post(api, bob, "a reply", in_reply_to_id=by_carol)
    await api.post(f"/api/v1/accounts/{bob.id}/mute", as_=alice)

    home = _ids(await api.get("/api/v1/timelines/home", as_=alice))
    assert home == [by_carol]
    assert boost_of_bob not in home
    public = _ids(await api.get("/api/v1/timelines/public", as_=alice))
    assert by_bob not in public
    assert by_carol in public
    assert _ids(await api.get("/api/v1/timelines/tag/chemistry", as_=alice)) == []
    thread = await api.get(f"/api/v1/statuses/{by_carol}/context", as_=alice)
    assert thread.json()["descendants"] == []
    # Others still see everything; the muted account's own page still shows its posts.
    assert by_bob in _ids(await api.get("/api/v1/timelines/public", as_=carol))
    assert [s["id"] for s in thread.json()["descendants"]] == []
    other = await api.get(f"/api/v1/statuses/{by_carol}/context", as_=carol)
    assert [s["id"] for s in other.json()["descendants"]] == [reply]
    assert by_bob in _ids(await api.get(f"/api/v1/accounts/{bob.id}/statuses", as_=alice))

    # An expired mute no longer hides anything.
    await Mute.filter(account_id=alice.account.id).update(expires_at=utcnow() - timedelta(1))
    assert by_bob in _ids(await api.get("/api/v1/timelines/home", as_=alice))
    assert (await api.get("/api/v1/mutes", as_=alice)).json() == []


async def test_a_timed_mute_ends_on_time_in_home_and_public_timelines(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await _follow(alice.account, bob.account)
    by_bob = await _post(api, bob, "hello")
    await api.post(f"/api/v1/accounts/{bob.id}/mute", as_=alice)
    # Read while muted for good, then with an end a moment away.
    paths = ("/api/v1/timelines/home", "/api/v1/timelines/public")
    for path in paths:
        assert by_bob not in _ids(await api.get(path, as_=alice))
    await Mute.filter(account_id=alice.account.id).update(
        expires_at=utcnow() + timedelta(seconds=1)
    )
    for path in paths:
        assert by_bob not in _ids(await api.get(path, as_=alice))
    await asyncio.sleep(1.2)
    for path in paths:
        assert by_bob in _ids(await api.get(path, as_=alice)), path


async def test_muting_with_notifications_hides_and_stops_them(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    post = await _post(api, alice, "mine")
    await api.post(f"/api/v1/statuses/{post}/favourite", as_=bob)
    await api.post(f"/api/v1/statuses/{post}/favourite", as_=carol)
    await api.post(f"/api/v1/accounts/{bob.id}/mute", as_=alice)
    await api.post(f"/api/v1/accounts/{carol.id}/mute", as_=alice, json={"notifications": False})
    # Existing notifications from bob are hidden, carol's (notifications not muted) stay.
    assert await _notified_types(api, alice) == [("favourite", carol.id)]
    # New ones from bob are not even made.
    await api.post(f"/api/v1/statuses/{post}/reblog", as_=bob)
    assert not await Notification.exists(
        account_id=alice.account.id, from_account_id=bob.account.id, type=NotificationType.REBLOG
    )
    await api.post(f"/api/v1/accounts/{bob.id}/unmute", as_=alice)
    assert ("favourite", bob.id) in await _notified_types(api, alice)


# -- domain blocks -------------------------------------------------------------------------------


async def test_domain_blocks_are_added_listed_paginated_and_removed(api: Api) -> None:
    alice = await api.user("alice")
    for domain in ("spam.example", "HTTPS://Noise.Example/path", "third.example"):
        added = await api.post("/api/v1/domain_blocks", as_=alice, data={"domain": domain})
        assert (added.status_code, added.json()) == (200, {})
    again = await api.post("/api/v1/domain_blocks", as_=alice, json={"domain": "spam.example"})
    assert again.status_code == 200
    listed = await api.get("/api/v1/domain_blocks", as_=alice)
    assert listed.json() == ["third.example", "noise.example", "spam.example"]
    first = await api.get("/api/v1/domain_blocks", as_=alice, params={"limit": 2})
    assert first.json() == ["third.example", "noise.example"]
    assert 'rel="next"' in first.headers["link"]
    removed = await api.request(
        "DELETE", "/api/v1/domain_blocks", as_=alice, params={"domain": "noise.example"}
    )
    assert removed.status_code == 200
    remaining = (await api.get("/api/v1/domain_blocks", as_=alice)).json()
    assert remaining == ["third.example", "spam.example"]
    # Nobody else's list.
    bob = await api.user("bob")
    assert (await api.get("/api/v1/domain_blocks", as_=bob)).json() == []


async def test_domain_blocks_refuse_bad_domains_and_need_scopes(api: Api) -> None:
    alice = await api.user("alice")
    missing = await api.post("/api/v1/domain_blocks", as_=alice, json={})
    assert missing.status_code == 400
    bad = await api.post("/api/v1/domain_blocks", as_=alice, json={"domain": "not a domain"})
    assert bad.status_code == 422
    own = await api.post("/api/v1/domain_blocks", as_=alice, json={"domain": api.ctx.domain})
    assert own.status_code == 422
    assert (await api.get("/api/v1/domain_blocks")).status_code == 401
    reader = await api.user("reader", scopes="read")
    blocked = await api.post("/api/v1/domain_blocks", as_=reader, json={"domain": "a.example"})
    assert blocked.status_code == 403
    writer = await api.user("writer", scopes="write:blocks")
    assert (await api.get("/api/v1/domain_blocks", as_=writer)).status_code == 403


async def test_a_blocked_domain_leaves_timelines_and_notifications(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    spammer, friend = await _remote("spammer"), await _remote("friend")
    elsewhere = await _remote("someone", "fine.example")
    await _follow(alice.account, friend)
    await _follow(alice.account, bob.account)
    spam = await _remote_post(spammer, 1)
    kept = await _remote_post(friend, 2)
    fine = await _remote_post(elsewhere, 3)
    boost = (await api.post(f"/api/v1/statuses/{spam.id}/reblog", as_=bob)).json()["id"]
    mine = await _post(api, alice, "mine")
    mine_status = await Status.get(id=int(mine))
    await notifications.notify(alice.account, spammer, NotificationType.FAVOURITE, mine_status)
    await notifications.notify(alice.account, friend, NotificationType.FAVOURITE, mine_status)
    assert len(await _notified_types(api, alice)) == 2

    await api.post("/api/v1/domain_blocks", as_=alice, json={"domain": "spam.example"})
    public = _ids(await api.get("/api/v1/timelines/public", as_=alice))
    assert str(spam.id) not in public
    assert str(kept.id) not in public
    assert str(fine.id) in public
    home = _ids(await api.get("/api/v1/timelines/home", as_=alice))
    # The account still followed there stays in home; the boost of the other goes.
    assert str(kept.id) in home
    assert boost not in home
    assert await _notified_types(api, alice) == [("favourite", str(friend.id))]
    # New notifications from the domain are not made (but from followed accounts they are).
    await notifications.notify(alice.account, spammer, NotificationType.MENTION, mine_status)
    assert not await Notification.exists(from_account_id=spammer.id, type=NotificationType.MENTION)
    relationship = await api.get(
        "/api/v1/accounts/relationships", as_=alice, params={"id[]": [str(spammer.id), bob.id]}
    )
    assert [r["domain_blocking"] for r in relationship.json()] == [True, False]
    # Others see the domain as before.
    assert str(spam.id) in _ids(await api.get("/api/v1/timelines/public", as_=bob))


async def test_blocking_a_domain_removes_its_followers_with_a_reject(api: Api) -> None:
    alice = await api.user("alice")
    follower, requester = await _remote("follower"), await _remote("requester")
    other = await _remote("other", "fine.example")
    for account, state in (
        (follower, FollowState.ACCEPTED),
        (requester, FollowState.PENDING),
        (other, FollowState.ACCEPTED),
    ):
        await Follow.create(
            account=account, target=alice.account, state=state, uri=f"{account.uri}/follows/1"
        )
    await _follow(alice.account, follower)
    response = await api.post("/api/v1/domain_blocks", as_=alice, json={"domain": "spam.example"})
    assert response.status_code == 200
    remaining = await Follow.filter(target_id=alice.account.id).values_list("account_id", flat=True)
    assert list(remaining) == [other.id]
    # Alice's own follow of an account there stays, as Mastodon keeps it.
    assert await Follow.exists(account_id=alice.account.id, target_id=follower.id)
    rejects = [
        job
        for job in await FanoutJob.filter(sender=alice.account)
        if job.activity.get("type") == "Reject"
    ]
    assert sorted(job.activity["object"]["actor"] for job in rejects) == [
        follower.uri,
        requester.uri,
    ]
    assert sorted(job.activity["object"]["id"] for job in rejects) == [
        f"{follower.uri}/follows/1",
        f"{requester.uri}/follows/1",
    ]


# -- notes ---------------------------------------------------------------------------------------


async def test_an_account_note_is_kept_shown_in_the_relationship_and_removed(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    noted = await api.post(
        f"/api/v1/accounts/{bob.id}/note", as_=alice, data={"comment": "met at the workshop"}
    )
    assert noted.status_code == 200, noted.text
    assert noted.json()["note"] == "met at the workshop"
    changed = await api.post(f"/api/v1/accounts/{bob.id}/note", as_=alice, json={"comment": "x"})
    assert changed.json()["note"] == "x"
    relationship = await api.get(
        "/api/v1/accounts/relationships", as_=alice, params={"id[]": bob.id}
    )
    assert relationship.json()[0]["note"] == "x"
    # Private: bob's relationship to alice has no note.
    theirs = await api.get("/api/v1/accounts/relationships", as_=bob, params={"id[]": alice.id})
    assert theirs.json()[0]["note"] == ""
    cleared = await api.post(f"/api/v1/accounts/{bob.id}/note", as_=alice, json={"comment": ""})
    assert cleared.json()["note"] == ""


async def test_notes_refuse_long_text_missing_accounts_and_missing_scopes(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    long = await api.post(
        f"/api/v1/accounts/{bob.id}/note", as_=alice, json={"comment": "a" * 2001}
    )
    assert long.status_code == 422
    assert (await api.post("/api/v1/accounts/999/note", as_=alice)).status_code == 404
    assert (await api.post(f"/api/v1/accounts/{bob.id}/note")).status_code == 401
    reader = await api.user("reader", scopes="read")
    refused = await api.post(f"/api/v1/accounts/{bob.id}/note", as_=reader, json={"comment": "x"})
    assert refused.status_code == 403
