"""Lists: CRUD, members (accounts followed only), the list timeline with its replies policy,
exclusive lists, and joined communities offered as read-only lists."""

from __future__ import annotations

from typing import Any

import pytest

from fediverse_cop.ids import new_id
from fediverse_cop.models import (
    Account,
    ActorType,
    Follow,
    FollowState,
    List,
    Status,
    acct_key,
)
from fediverse_cop.services import lists
from fediverse_cop.services.communities import create_community
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.visibility import PUBLIC
from tests.api.conftest import Api, User


async def _follow(follower: Account, target: Account) -> None:
    await Follow.create(account=follower, target=target, state=FollowState.ACCEPTED)


async def _post(api: Api, user: User, text: str, **body: Any) -> str:
    response = await api.post("/api/v1/statuses", as_=user, json={"status": text, **body})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def _new_list(api: Api, user: User, title: str = "Lab", **body: Any) -> str:
    response = await api.post("/api/v1/lists", as_=user, json={"title": title, **body})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _remote_group(name: str) -> Account:
    return await Account.create(
        username=name,
        domain="remote.example",
        acct_key=acct_key(name, "remote.example"),
        actor_type=ActorType.GROUP,
        display_name=name.title(),
        uri=f"https://remote.example/c/{name}",
        followers_uri=f"https://remote.example/c/{name}/followers",
        inbox_uri=f"https://remote.example/c/{name}/inbox",
    )


# -- the lists themselves ------------------------------------------------------------------------


async def test_lists_are_created_read_updated_and_deleted(api: Api) -> None:
    alice = await api.user("alice")
    created = await api.post(
        "/api/v1/lists", as_=alice, data={"title": " Colleagues ", "replies_policy": "followed"}
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body == {
        "id": body["id"],
        "title": "Colleagues",
        "replies_policy": "followed",
        "exclusive": False,
    }
    second = await _new_list(api, alice, "Students")
    listed = await api.get("/api/v1/lists", as_=alice)
    assert [item["id"] for item in listed.json()] == [body["id"], second]
    updated = await api.put(
        f"/api/v1/lists/{second}",
        as_=alice,
        json={"title": "PhD students", "exclusive": True, "replies_policy": "none"},
    )
    assert updated.json() == {
        "id": second,
        "title": "PhD students",
        "replies_policy": "none",
        "exclusive": True,
    }
    fetched = await api.get(f"/api/v1/lists/{second}", as_=alice)
    assert fetched.json()["title"] == "PhD students"
    deleted = await api.delete(f"/api/v1/lists/{second}", as_=alice)
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert (await api.get(f"/api/v1/lists/{second}", as_=alice)).status_code == 404


async def test_bad_titles_and_policies_are_refused(api: Api) -> None:
    alice = await api.user("alice")
    assert (await api.post("/api/v1/lists", as_=alice, json={"title": " "})).status_code == 422
    assert (await api.post("/api/v1/lists", as_=alice, json={})).status_code == 422
    bad_policy = await api.post(
        "/api/v1/lists", as_=alice, json={"title": "x", "replies_policy": "all"}
    )
    assert bad_policy.status_code == 422
    too_long = await api.post("/api/v1/lists", as_=alice, json={"title": "x" * 256})
    assert too_long.status_code == 422
    list_id = await _new_list(api, alice)
    blank = await api.put(f"/api/v1/lists/{list_id}", as_=alice, json={"title": ""})
    assert blank.status_code == 422
    assert await List.filter(account_id=alice.account.id).count() == 1


async def test_another_users_list_answers_like_a_missing_one(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    list_id = await _new_list(api, alice)
    for response in (
        await api.get(f"/api/v1/lists/{list_id}", as_=bob),
        await api.put(f"/api/v1/lists/{list_id}", as_=bob, json={"title": "mine now"}),
        await api.delete(f"/api/v1/lists/{list_id}", as_=bob),
        await api.get(f"/api/v1/lists/{list_id}/accounts", as_=bob),
        await api.get(f"/api/v1/timelines/list/{list_id}", as_=bob),
        await api.get("/api/v1/lists/not-a-number", as_=bob),
    ):
        assert (response.status_code, response.json()) == (404, {"error": "Record not found"})
    assert (await api.get("/api/v1/lists", as_=bob)).json() == []
    assert (await List.get(id=int(list_id))).title == "Lab"


async def test_lists_need_a_token_and_the_list_scopes(api: Api) -> None:
    alice = await api.user("alice")
    list_id = await _new_list(api, alice)
    assert (await api.get("/api/v1/lists")).status_code == 401
    assert (await api.get(f"/api/v1/timelines/list/{list_id}")).status_code == 401
    reader = await api.user("reader", scopes="read:lists")
    assert (await api.post("/api/v1/lists", as_=reader, json={"title": "x"})).status_code == 403
    assert (await api.get("/api/v1/lists", as_=reader)).status_code == 200
    writer = await api.user("writer", scopes="write:lists")
    assert (await api.get("/api/v1/lists", as_=writer)).status_code == 403
    statuses_only = await api.user("statuses", scopes="read:statuses")
    assert (await api.get("/api/v1/lists", as_=statuses_only)).status_code == 403


# -- members -------------------------------------------------------------------------------------


async def test_only_followed_accounts_can_be_added_and_members_are_listed(api: Api) -> None:
    alice, bob, carol, dave = [await api.user(n) for n in ("alice", "bob", "carol", "dave")]
    await _follow(alice.account, bob.account)
    await _follow(alice.account, carol.account)
    list_id = await _new_list(api, alice)
    added = await api.post(
        f"/api/v1/lists/{list_id}/accounts", as_=alice, data={"account_ids[]": [bob.id, carol.id]}
    )
    assert (added.status_code, added.json()) == (200, {})
    stranger = await api.post(
        f"/api/v1/lists/{list_id}/accounts", as_=alice, json={"account_ids": [dave.id]}
    )
    assert stranger.status_code == 404
    again = await api.post(
        f"/api/v1/lists/{list_id}/accounts", as_=alice, json={"account_ids": [bob.id]}
    )
    assert again.status_code == 422
    assert (await api.post(f"/api/v1/lists/{list_id}/accounts", as_=alice)).status_code == 422
    members = await api.get(f"/api/v1/lists/{list_id}/accounts", as_=alice)
    assert [a["id"] for a in members.json()] == [carol.id, bob.id]
    first = await api.get(f"/api/v1/lists/{list_id}/accounts", as_=alice, params={"limit": 1})
    assert [a["id"] for a in first.json()] == [carol.id]
    assert 'rel="next"' in first.headers["link"]
    everyone = await api.get(f"/api/v1/lists/{list_id}/accounts", as_=alice, params={"limit": 0})
    assert len(everyone.json()) == 2
    in_lists = await api.get(f"/api/v1/accounts/{bob.id}/lists", as_=alice)
    assert [item["id"] for item in in_lists.json()] == [list_id]
    assert (await api.get(f"/api/v1/accounts/{dave.id}/lists", as_=alice)).json() == []

    removed = await api.request(
        "DELETE", f"/api/v1/lists/{list_id}/accounts", as_=alice, params={"account_ids[]": bob.id}
    )
    assert removed.status_code == 200
    members = await api.get(f"/api/v1/lists/{list_id}/accounts", as_=alice)
    assert [a["id"] for a in members.json()] == [carol.id]


# -- the list timeline ---------------------------------------------------------------------------


async def test_the_list_timeline_has_its_members_posts_and_boosts(api: Api) -> None:
    alice, bob, carol, dave = [await api.user(n) for n in ("alice", "bob", "carol", "dave")]
    for target in (bob, carol):
        await _follow(alice.account, target.account)
    list_id = await _new_list(api, alice)
    await api.post(f"/api/v1/lists/{list_id}/accounts", as_=alice, json={"account_ids": [bob.id]})
    by_bob = await _post(api, bob, "bob's post")
    private = await _post(api, bob, "bob's followers", visibility="private")
    by_carol = await _post(api, carol, "carol's post")
    by_dave = await _post(api, dave, "dave's post")
    boost = (await api.post(f"/api/v1/statuses/{by_dave}/reblog", as_=bob)).json()["id"]
    timeline = _ids(await api.get(f"/api/v1/timelines/list/{list_id}", as_=alice))
    assert timeline == [boost, private, by_bob]
    assert by_carol not in timeline
    first = await api.get(f"/api/v1/timelines/list/{list_id}", as_=alice, params={"limit": 1})
    assert _ids(first) == [boost]
    assert f"max_id={boost}" in first.headers["link"]
    # After an unfollow the member's posts leave the list.
    await Follow.filter(account_id=alice.account.id, target_id=bob.account.id).delete()
    assert _ids(await api.get(f"/api/v1/timelines/list/{list_id}", as_=alice)) == []


async def test_replies_follow_the_lists_replies_policy(api: Api) -> None:
    alice, bob, carol, dave = [await api.user(n) for n in ("alice", "bob", "carol", "dave")]
    for target in (bob, carol):
        await _follow(alice.account, target.account)
    by_alice = await _post(api, alice, "alice")
    by_bob = await _post(api, bob, "bob")
    by_carol = await _post(api, carol, "carol")
    by_dave = await _post(api, dave, "dave")
    to_self = await _post(api, bob, "more", in_reply_to_id=by_bob)
    to_owner = await _post(api, bob, "@alice yes", in_reply_to_id=by_alice)
    to_followed = await _post(api, bob, "@carol yes", in_reply_to_id=by_carol)
    to_stranger = await _post(api, bob, "@dave yes", in_reply_to_id=by_dave)
    expected = {
        "none": [to_owner, to_self, by_bob],
        "list": [to_owner, to_self, by_bob],
        "followed": [to_followed, to_owner, to_self, by_bob],
    }
    for policy, wanted in expected.items():
        list_id = await _new_list(api, alice, policy, replies_policy=policy)
        await api.post(
            f"/api/v1/lists/{list_id}/accounts", as_=alice, json={"account_ids": [bob.id]}
        )
        timeline = _ids(await api.get(f"/api/v1/timelines/list/{list_id}", as_=alice))
        assert timeline == wanted, policy
        assert to_stranger not in timeline
    # With carol in the list, replies to her are shown under "list" and not under "none".
    for policy, shown in (("list", True), ("none", False)):
        list_id = await _new_list(api, alice, f"{policy} 2", replies_policy=policy)
        await api.post(
            f"/api/v1/lists/{list_id}/accounts",
            as_=alice,
            json={"account_ids": [bob.id, carol.id]},
        )
        timeline = _ids(await api.get(f"/api/v1/timelines/list/{list_id}", as_=alice))
        assert (to_followed in timeline) is shown, policy


async def test_an_exclusive_lists_members_leave_the_home_timeline(api: Api) -> None:
    alice, bob, carol = [await api.user(n) for n in ("alice", "bob", "carol")]
    for target in (bob, carol):
        await _follow(alice.account, target.account)
    list_id = await _new_list(api, alice, exclusive=True)
    await api.post(f"/api/v1/lists/{list_id}/accounts", as_=alice, json={"account_ids": [bob.id]})
    by_bob = await _post(api, bob, "bob")
    mention = await _post(api, bob, "@alice look")
    by_carol = await _post(api, carol, "carol")
    assert _ids(await api.get("/api/v1/timelines/home", as_=alice)) == [by_carol, mention]
    assert _ids(await api.get(f"/api/v1/timelines/list/{list_id}", as_=alice)) == [
        mention,
        by_bob,
    ]
    await api.put(f"/api/v1/lists/{list_id}", as_=alice, json={"exclusive": False})
    assert by_bob in _ids(await api.get("/api/v1/timelines/home", as_=alice))


# -- communities as lists ------------------------------------------------------------------------


async def test_joined_communities_are_read_only_lists_with_the_community_timeline(
    api: Api,
) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    group = await _remote_group("chemistry")
    other_group = await _remote_group("physics")
    await _follow(alice.account, group)
    # A pending join is not a joined community.
    await Follow.create(account=alice.account, target=other_group, state=FollowState.PENDING)
    local = await create_community(api.ctx, "biology", name="Biology Lab", owner="alice")
    own_list = await _new_list(api, alice, "Zoology friends")

    listed = (await api.get("/api/v1/lists", as_=alice)).json()
    assert listed == [
        {"id": own_list, "title": "Zoology friends", "replies_policy": "list", "exclusive": False},
        {
            "id": str(local.account_id),  # type: ignore[attr-defined]
            "title": "Biology Lab",
            "replies_policy": "list",
            "exclusive": False,
        },
        {"id": str(group.id), "title": "Chemistry", "replies_policy": "list", "exclusive": False},
    ]
    assert (await api.get("/api/v1/lists", as_=bob)).json() == []

    author = await Account.create(
        username="ada",
        domain="remote.example",
        acct_key=acct_key("ada", "remote.example"),
        uri="https://remote.example/u/ada",
        inbox_uri="https://remote.example/u/ada/inbox",
    )
    in_group = await Status.create(
        uri=f"{author.uri}/notes/1",
        account=author,
        content="<p>in the group</p>",
        to=[PUBLIC],
        audience=group.uri,
        published_at=utcnow(),
    )
    await Status.create(
        uri=f"{author.uri}/notes/2",
        account=author,
        content="<p>elsewhere</p>",
        to=[PUBLIC],
        published_at=utcnow(),
    )
    timeline = _ids(await api.get(f"/api/v1/timelines/list/{group.id}", as_=alice))
    assert timeline == [str(in_group.id)]
    # The same as the community's own statuses.
    assert timeline == _ids(await api.get(f"/api/v1/accounts/{group.id}/statuses", as_=alice))
    fetched = await api.get(f"/api/v1/lists/{group.id}", as_=alice)
    assert fetched.json()["title"] == "Chemistry"
    members = await api.get(f"/api/v1/lists/{group.id}/accounts", as_=alice)
    assert [a["id"] for a in members.json()] == [str(group.id)]
    in_lists = await api.get(f"/api/v1/accounts/{group.id}/lists", as_=alice)
    assert [item["id"] for item in in_lists.json()] == [str(group.id)]

    read_only = {"error": "this list is a community and cannot be changed"}
    for response in (
        await api.put(f"/api/v1/lists/{group.id}", as_=alice, json={"title": "mine"}),
        await api.delete(f"/api/v1/lists/{group.id}", as_=alice),
        await api.post(
            f"/api/v1/lists/{group.id}/accounts", as_=alice, json={"account_ids": [bob.id]}
        ),
        await api.request(
            "DELETE", f"/api/v1/lists/{group.id}/accounts", as_=alice, params={"account_ids[]": 1}
        ),
    ):
        assert (response.status_code, response.json()) == (403, read_only)
    # Not joined: not a list of this user.
    for path in (f"/api/v1/lists/{other_group.id}", f"/api/v1/timelines/list/{group.id}"):
        response = await api.get(path, as_=bob if "timelines" in path else alice)
        assert response.status_code == 404


async def test_a_muted_author_leaves_a_community_list(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    community = await create_community(api.ctx, "biology", name="Biology", owner="alice")
    group_id = str(community.account_id)  # type: ignore[attr-defined]
    joined = await api.post(f"/api/v1/accounts/{group_id}/follow", as_=bob)
    assert joined.json()["following"] is True
    post = await _post(api, bob, "in biology", community_id=group_id)
    assert post in _ids(await api.get(f"/api/v1/timelines/list/{group_id}", as_=alice))
    await api.post(f"/api/v1/accounts/{bob.id}/mute", as_=alice)
    assert post not in _ids(await api.get(f"/api/v1/timelines/list/{group_id}", as_=alice))


async def test_a_new_list_never_takes_an_accounts_id(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await api.user("alice")
    minted = iter([alice.account.id, new_id()])
    monkeypatch.setattr(lists, "new_id", lambda: next(minted))
    list_id = await _new_list(api, alice)
    assert int(list_id) != alice.account.id
    assert (await api.get(f"/api/v1/lists/{list_id}", as_=alice)).json()["title"] == "Lab"
