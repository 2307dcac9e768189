"""Timelines: home, public, hashtag and account statuses, with visibility and pagination."""

from __future__ import annotations

from typing import Any

from fediverse_cop.models import (
    Account,
    ActorType,
    Follow,
    FollowState,
    MediaAttachment,
    MediaType,
    Status,
    Visibility,
    acct_key,
)
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.visibility import PUBLIC
from tests.api.conftest import Api, User


async def _follow(follower: Account, target: Account) -> None:
    await Follow.create(account=follower, target=target, state=FollowState.ACCEPTED)


async def _post(api: Api, user: User, text: str, **body: Any) -> str:
    response = await api.post("/api/v1/statuses", as_=user, json={"status": text, **body})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _remote(name: str, kind: ActorType = ActorType.PERSON) -> Account:
    return await Account.create(
        username=name,
        domain="remote.example",
        acct_key=acct_key(name, "remote.example"),
        actor_type=kind,
        uri=f"https://remote.example/u/{name}",
        followers_uri=f"https://remote.example/u/{name}/followers",
        inbox_uri=f"https://remote.example/u/{name}/inbox",
    )


async def _remote_post(author: Account, n: int, **fields: Any) -> Status:
    return await Status.create(
        uri=f"{author.uri}/notes/{n}",
        account=author,
        content=f"<p>remote {n}</p>",
        to=[PUBLIC],
        published_at=utcnow(),
        **fields,
    )


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def test_home_shows_what_the_viewer_follows_and_what_is_addressed_to_them(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    await _follow(alice.account, bob.account)
    own = await _post(api, alice, "mine")
    followed = await _post(api, bob, "from bob")
    followers_only = await _post(api, bob, "bob's followers", visibility="private")
    stranger = await _post(api, carol, "from carol")
    carol_private = await _post(api, carol, "carol's followers", visibility="private")
    direct = await _post(api, carol, "@alice psst", visibility="direct")
    boost = (await api.post(f"/api/v1/statuses/{stranger}/reblog", as_=bob)).json()["id"]
    deleted = await _post(api, bob, "regretted")
    await api.delete(f"/api/v1/statuses/{deleted}", as_=bob)
    home = _ids(await api.get("/api/v1/timelines/home", as_=alice))
    assert home == [boost, direct, followers_only, followed, own]
    assert stranger not in home
    assert carol_private not in home
    # Deleting the boosted post takes the boost away too.
    await api.delete(f"/api/v1/statuses/{stranger}", as_=carol)
    assert boost not in _ids(await api.get("/api/v1/timelines/home", as_=alice))
    # Carol's home has none of bob's followers-only posts.
    assert followers_only not in _ids(await api.get("/api/v1/timelines/home", as_=carol))


async def test_home_needs_a_token_with_read_scope(api: Api) -> None:
    assert (await api.get("/api/v1/timelines/home")).status_code == 401
    writer = await api.user("writer", scopes="write")
    assert (await api.get("/api/v1/timelines/home", as_=writer)).status_code == 403
    bad = await api.get("/api/v1/timelines/home", token="nope")
    assert (bad.status_code, bad.json()) == (401, {"error": "The access token is invalid"})


async def test_home_has_the_posts_of_joined_communities_once(api: Api) -> None:
    alice = await api.user("alice")
    group = await _remote("chemistry", ActorType.GROUP)
    author = await _remote("ada")
    await _follow(alice.account, group)
    in_group = await _remote_post(author, 1, audience=group.uri)
    reply_in_group = await _remote_post(author, 2, audience=group.uri, in_reply_to=in_group)
    elsewhere = await _remote_post(author, 3)
    # The group announces its own post (left out: the post is there) and another one.
    await Status.create(
        uri=f"{group.uri}/announces/1",
        account=group,
        reblog_of=in_group,
        to=[PUBLIC],
        audience=group.uri,
        published_at=utcnow(),
    )
    boost_elsewhere = await Status.create(
        uri=f"{group.uri}/announces/2",
        account=group,
        reblog_of=elsewhere,
        to=[PUBLIC],
        published_at=utcnow(),
    )
    not_joined = await _remote_post(author, 4, audience="https://remote.example/u/other")
    home = _ids(await api.get("/api/v1/timelines/home", as_=alice))
    assert home == [str(boost_elsewhere.id), str(reply_in_group.id), str(in_group.id)]
    assert str(not_joined.id) not in home
    # The community's own timeline: the posts in it and its boosts of others.
    timeline = _ids(await api.get(f"/api/v1/accounts/{group.id}/statuses"))
    assert timeline == [str(boost_elsewhere.id), str(reply_in_group.id), str(in_group.id)]
    no_boosts = await api.get(
        f"/api/v1/accounts/{group.id}/statuses", params={"exclude_reblogs": "1"}
    )
    assert _ids(no_boosts) == [str(reply_in_group.id), str(in_group.id)]


async def test_home_pagination_with_link_header(api: Api) -> None:
    alice = await api.user("alice")
    ids = [await _post(api, alice, f"post {i}") for i in range(5)]
    newest_first = list(reversed(ids))
    first = await api.get("/api/v1/timelines/home", as_=alice, params={"limit": 2})
    assert _ids(first) == newest_first[:2]
    link = first.headers["link"]
    assert f"max_id={newest_first[1]}" in link
    assert 'rel="next"' in link
    assert f"min_id={newest_first[0]}" in link
    assert 'rel="prev"' in link
    assert "limit=2" in link
    older = await api.get(
        "/api/v1/timelines/home", as_=alice, params={"limit": 2, "max_id": newest_first[1]}
    )
    assert _ids(older) == newest_first[2:4]
    since = await api.get("/api/v1/timelines/home", as_=alice, params={"since_id": ids[1]})
    assert _ids(since) == newest_first[:3]
    just_above = await api.get(
        "/api/v1/timelines/home", as_=alice, params={"min_id": ids[1], "limit": 2}
    )
    assert _ids(just_above) == [ids[3], ids[2]]
    empty = await api.get("/api/v1/timelines/home", as_=alice, params={"max_id": ids[0]})
    assert _ids(empty) == []
    assert "link" not in empty.headers


async def test_public_timeline_local_remote_and_media(api: Api) -> None:
    alice = await api.user("alice")
    local = await _post(api, alice, "local public")
    await _post(api, alice, "unlisted", visibility="unlisted")
    await _post(api, alice, "private", visibility="private")
    await _post(api, alice, "@alice direct", visibility="direct")
    media = await MediaAttachment.create(
        account=alice.account, type=MediaType.IMAGE, content_type="image/png", file_name="x.png"
    )
    with_media = await _post(api, alice, "picture", media_ids=[str(media.id)])
    author = await _remote("ada")
    remote = await _remote_post(author, 1)
    remote_media = await _remote_post(
        author, 2, attachments=[{"type": "Document", "url": "https://remote.example/a.png"}]
    )
    await _remote_post(author, 3, visibility=Visibility.UNLISTED)
    everything = _ids(await api.get("/api/v1/timelines/public"))
    assert everything == [str(remote_media.id), str(remote.id), with_media, local]
    only_local = _ids(await api.get("/api/v1/timelines/public", params={"local": "true"}))
    assert only_local == [with_media, local]
    only_remote = _ids(await api.get("/api/v1/timelines/public", params={"remote": "1"}))
    assert only_remote == [str(remote_media.id), str(remote.id)]
    only_media = _ids(await api.get("/api/v1/timelines/public", params={"only_media": "true"}))
    assert only_media == [str(remote_media.id), with_media]
    paged = await api.get("/api/v1/timelines/public", params={"limit": 1, "max_id": remote.id})
    assert _ids(paged) == [with_media]
    assert f"max_id={with_media}" in paged.headers["link"]


async def test_hashtag_timeline_any_all_none(api: Api) -> None:
    alice = await api.user("alice")
    chem = await _post(api, alice, "#chemistry basics")
    both = await _post(api, alice, "#chemistry and #physics")
    phys = await _post(api, alice, "#physics only")
    await _post(api, alice, "#chemistry but unlisted", visibility="unlisted")
    assert _ids(await api.get("/api/v1/timelines/tag/Chemistry")) == [both, chem]
    any_of = await api.get("/api/v1/timelines/tag/chemistry", params={"any[]": ["physics"]})
    assert _ids(any_of) == [phys, both, chem]
    all_of = await api.get("/api/v1/timelines/tag/chemistry", params={"all[]": ["physics"]})
    assert _ids(all_of) == [both]
    none_of = await api.get("/api/v1/timelines/tag/chemistry", params={"none[]": ["physics"]})
    assert _ids(none_of) == [chem]
    assert _ids(await api.get("/api/v1/timelines/tag/nothing")) == []


async def test_account_statuses_respect_visibility_and_filters(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    await _follow(bob.account, alice.account)
    public = await _post(api, alice, "#tagged public")
    private = await _post(api, alice, "followers only", visibility="private")
    direct = await _post(api, alice, "@carol direct", visibility="direct")
    other = await _post(api, carol, "carol's post")
    reply = await _post(api, alice, "a reply", in_reply_to_id=other)
    thread = await _post(api, alice, "continuing my thread", in_reply_to_id=public)
    boost = (await api.post(f"/api/v1/statuses/{other}/reblog", as_=alice)).json()["id"]
    path = f"/api/v1/accounts/{alice.id}/statuses"
    assert _ids(await api.get(path, as_=alice)) == [boost, thread, reply, direct, private, public]
    assert _ids(await api.get(path, as_=bob)) == [boost, thread, reply, private, public]
    assert _ids(await api.get(path, as_=carol)) == [boost, thread, reply, direct, public]
    assert _ids(await api.get(path)) == [boost, thread, reply, public]
    no_replies = await api.get(path, params={"exclude_replies": "true"})
    assert _ids(no_replies) == [boost, thread, public]
    no_boosts = await api.get(path, params={"exclude_reblogs": "true"})
    assert _ids(no_boosts) == [thread, reply, public]
    assert _ids(await api.get(path, params={"tagged": "tagged"})) == [public]
    assert _ids(await api.get(path, params={"only_media": "true"})) == []
    missing = await api.get("/api/v1/accounts/424242/statuses")
    assert (missing.status_code, missing.json()) == (404, {"error": "Record not found"})
