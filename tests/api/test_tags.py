"""Hashtags: the Tag entity with ``following`` and ``history``, following and unfollowing, the
followed tags list, and followed tags' public posts in the home timeline."""

from __future__ import annotations

from typing import Any

from fediverse_cop.models import Tag, TagFollow
from tests.api.conftest import Api, User


async def _post(api: Api, user: User, text: str, **body: Any) -> str:
    response = await api.post("/api/v1/statuses", as_=user, json={"status": text, **body})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def test_a_tag_shows_its_history_and_whether_the_viewer_follows_it(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await _post(api, alice, "#Chemistry one")
    await _post(api, alice, "#chemistry two")
    await _post(api, bob, "#chemistry three")
    response = await api.get("/api/v1/tags/Chemistry", as_=alice)
    assert response.status_code == 200, response.text
    tag = response.json()
    assert tag["name"] == "chemistry"
    assert tag["url"].endswith("/chemistry")
    assert tag["following"] is False
    assert len(tag["history"]) == 7
    assert (tag["history"][0]["uses"], tag["history"][0]["accounts"]) == ("3", "2")
    assert all(day["uses"] == "0" for day in tag["history"][1:])
    # Anonymous: no following field.
    anonymous = (await api.get("/api/v1/tags/chemistry")).json()
    assert "following" not in anonymous
    assert (await api.get("/api/v1/tags/unknown")).status_code == 404


async def test_following_and_unfollowing_a_tag(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    followed = await api.post("/api/v1/tags/%23Physics/follow", as_=alice)
    assert followed.status_code == 200, followed.text
    assert (followed.json()["name"], followed.json()["following"]) == ("physics", True)
    again = await api.post("/api/v1/tags/physics/follow", as_=alice)
    assert again.json()["following"] is True
    assert await TagFollow.filter(account_id=alice.account.id).count() == 1
    assert (await api.get("/api/v1/tags/physics", as_=bob)).json()["following"] is False
    unfollowed = await api.post("/api/v1/tags/physics/unfollow", as_=alice)
    assert unfollowed.json()["following"] is False
    assert (await api.get("/api/v1/tags/physics", as_=alice)).json()["following"] is False
    assert (await api.post("/api/v1/tags/nothing/unfollow", as_=alice)).status_code == 404
    for bad in ("12345", "a-b", "x" * 256):
        response = await api.post(f"/api/v1/tags/{bad}/follow", as_=alice)
        assert response.status_code == 404, bad
    assert await Tag.filter(name="12345").count() == 0


async def test_followed_tags_are_listed_newest_first_with_pagination(api: Api) -> None:
    alice = await api.user("alice")
    for name in ("biology", "chemistry", "physics"):
        await api.post(f"/api/v1/tags/{name}/follow", as_=alice)
    listed = await api.get("/api/v1/followed_tags", as_=alice)
    assert [t["name"] for t in listed.json()] == ["physics", "chemistry", "biology"]
    assert all(t["following"] for t in listed.json())
    first = await api.get("/api/v1/followed_tags", as_=alice, params={"limit": 2})
    assert [t["name"] for t in first.json()] == ["physics", "chemistry"]
    assert 'rel="next"' in first.headers["link"]
    bob = await api.user("bob")
    assert (await api.get("/api/v1/followed_tags", as_=bob)).json() == []


async def test_followed_tags_bring_public_posts_into_home(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await api.post("/api/v1/tags/chemistry/follow", as_=alice)
    public = await _post(api, bob, "a #chemistry post")
    await _post(api, bob, "an unlisted #chemistry post", visibility="unlisted")
    await _post(api, bob, "a private #chemistry post", visibility="private")
    await _post(api, bob, "a #physics post")
    assert _ids(await api.get("/api/v1/timelines/home", as_=alice)) == [public]
    await api.post("/api/v1/tags/chemistry/unfollow", as_=alice)
    assert _ids(await api.get("/api/v1/timelines/home", as_=alice)) == []


async def test_tag_endpoints_need_tokens_and_follow_scopes(api: Api) -> None:
    assert (await api.post("/api/v1/tags/chemistry/follow")).status_code == 401
    assert (await api.get("/api/v1/followed_tags")).status_code == 401
    reader = await api.user("reader", scopes="read")
    assert (await api.post("/api/v1/tags/chemistry/follow", as_=reader)).status_code == 403
    assert (await api.get("/api/v1/followed_tags", as_=reader)).status_code == 200
    writer = await api.user("writer", scopes="write:follows")
    assert (await api.get("/api/v1/followed_tags", as_=writer)).status_code == 403
    assert (await api.post("/api/v1/tags/chemistry/follow", as_=writer)).status_code == 200
    bad = await api.get("/api/v1/tags/chemistry", token="nope")
    assert bad.status_code == 401
