"""Search v2 (and v1): local accounts, hashtags and posts; resolving remote accounts,
communities and posts through a simulated remote server, only for logged-in users."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from activitypub.http import SafeHttpClient
from fediverse_cop.app import create_app
from fediverse_cop.models import Account, Visibility
from fediverse_cop.services import follows, oauth, statuses
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft
from fediverse_cop.settings import Settings
from tests.api.conftest import BASE, Api, User
from tests.inbox.conftest import Peer
from tests.sink import Sink

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def remote_api(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    sink_http: SafeHttpClient,
) -> AsyncIterator[Api]:
    """The app (lifespan run) whose outbound client reaches the loopback sink's peers."""
    app = create_app(dataclasses.replace(settings, in_process_workers=False))
    async with app.router.lifespan_context(app):
        fed = Federation(app.state.ctx, sink_http, app.state.fed.signer)
        app.state.fed = fed
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Api(app.state.ctx, client, fed)


async def search(
    api: Api, query: str, *, as_: User | None = None, v: int = 2, **params: str
) -> dict[str, Any]:
    args = "&".join(f"{k}={quote(v_)}" for k, v_ in {"q": query, **params}.items())
    response = await api.get(f"/api/v{v}/search?{args}", as_=as_)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def accts(result: dict[str, Any]) -> list[str]:
    return [a["acct"] for a in result["accounts"]]


async def post(api: Api, user: User, text: str, **extra: Any) -> Any:
    return await statuses.post(api.fed, user.account, Draft(text=text, **extra))


# -- local search --------------------------------------------------------------------------------


async def test_accounts_by_handle_or_display_name_prefix(api: Api) -> None:
    alice = await api.user("alice", display_name="Alice Martin")
    await api.user("alicia")
    await api.user("bob", display_name="Ally Bob")

    assert accts(await search(api, "ali", as_=alice)) == ["alice", "alicia"]
    assert accts(await search(api, "ALLY", as_=alice)) == ["bob"]
    assert accts(await search(api, "@alicia@cop.test", as_=alice)) == ["alicia"]
    assert accts(await search(api, "alicia@cop.test")) == ["alicia"]
    assert accts(await search(api, "nobody", as_=alice)) == []
    # Paging and type.
    assert accts(await search(api, "ali", as_=alice, limit="1", offset="1")) == ["alicia"]
    only_tags = await search(api, "ali", as_=alice, type="hashtags")
    assert only_tags == {"accounts": [], "statuses": [], "hashtags": []}


async def test_suspended_accounts_and_the_instance_actor_are_not_found(api: Api) -> None:
    alice, mallory = await api.user("alice"), await api.user("mallory")
    mallory.account.suspend("spam", utcnow())
    await mallory.account.save()
    assert accts(await search(api, "mallory", as_=alice)) == []
    assert accts(await search(api, "instance", as_=alice)) == []


async def test_following_keeps_followed_accounts(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bobby")
    await api.user("bobbie")
    await follows.follow(api.fed, alice.account, bob.account)
    assert accts(await search(api, "bob", as_=alice)) == ["bobbie", "bobby"]
    assert accts(await search(api, "bob", as_=alice, following="true")) == ["bobby"]


async def test_hashtags_by_prefix_in_v2_and_v1_shapes(api: Api) -> None:
    alice = await api.user("alice")
    await post(api, alice, "lab day #Chemistry #chemlab #biology")
    found = await search(api, "#chem", as_=alice)
    assert [t["name"] for t in found["hashtags"]] == ["chemistry", "chemlab"]
    assert found["hashtags"][0]["url"] == "http://cop.test/tags/chemistry"
    assert found["hashtags"][0]["history"] == []
    legacy = await search(api, "chem", as_=alice, v=1)
    assert legacy["hashtags"] == ["chemistry", "chemlab"]


async def test_posts_by_text_are_the_viewers_own_and_public_ones(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    mine_private = await post(api, alice, "photosynthesis notes", visibility=Visibility.PRIVATE)
    theirs_public = await post(api, bob, "Photosynthesis in one slide")
    await post(api, bob, "photosynthesis answers", visibility=Visibility.PRIVATE)

    found = await search(api, "photosynthesis", as_=alice)
    assert [s["id"] for s in found["statuses"]] == [str(theirs_public.id), str(mine_private.id)]
    by_bob = await search(api, "photosynthesis", as_=alice, account_id=bob.id)
    assert [s["id"] for s in by_bob["statuses"]] == [str(theirs_public.id)]
    # Without a token there is no text search of posts.
    assert (await search(api, "photosynthesis"))["statuses"] == []


async def test_a_known_post_url_is_found_when_the_viewer_may_see_it(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    public = await post(api, bob, "public post")
    private = await post(api, bob, "followers only", visibility=Visibility.PRIVATE)

    assert [s["id"] for s in (await search(api, public.uri))["statuses"]] == [str(public.id)]
    assert (await search(api, private.uri, as_=alice))["statuses"] == []
    await follows.follow(api.fed, alice.account, bob.account)
    found = await search(api, private.uri, as_=alice)
    assert [s["id"] for s in found["statuses"]] == [str(private.id)]
    account = await search(api, bob.account.uri, as_=alice)
    assert accts(account) == ["bob"]


# -- resolving what the server does not know -----------------------------------------------------


async def test_resolve_fetches_a_remote_account_by_handle(remote_api: Api, sink: Sink) -> None:
    alice = await remote_api.user("alice")
    peer = Peer(sink, "remote.sink.test", "carol")
    handle = f"carol@{sink.domain('remote.sink.test')}"

    assert accts(await search(remote_api, f"@{handle}", as_=alice)) == []
    assert sink.gets() == []
    found = await search(remote_api, f"@{handle}", as_=alice, resolve="true")
    assert accts(found) == [handle]
    assert found["accounts"][0]["uri"] == peer.uri
    assert await Account.exists(uri=peer.uri)
    # Now known: found without resolving.
    assert accts(await search(remote_api, handle, as_=alice)) == [handle]
    assert accts(await search(remote_api, "carol", as_=alice)) == [handle]


async def test_resolve_fetches_a_community_by_url(remote_api: Api, sink: Sink) -> None:
    alice = await remote_api.user("alice")
    community = Peer(sink, "lemmy.sink.test", "chemistry", extra={"type": "Group"})
    found = await search(remote_api, community.uri, as_=alice, resolve="1")
    [account] = found["accounts"]
    assert (account["group"], account["uri"]) == (True, community.uri)


async def test_resolve_fetches_a_public_remote_post_by_url(remote_api: Api, sink: Sink) -> None:
    alice = await remote_api.user("alice")
    peer = Peer(sink, "remote.sink.test", "carol")
    note: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.uri}/statuses/7",
        "type": "Note",
        "attributedTo": peer.uri,
        "content": "<p>titration tips</p>",
        "published": "2024-03-05T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{peer.uri}/followers"],
    }
    sink.serve(peer.host, urlsplit(note["id"]).path, note)
    hidden = {**note, "id": f"{peer.uri}/statuses/8", "to": [f"{peer.uri}/followers"], "cc": []}
    sink.serve(peer.host, urlsplit(hidden["id"]).path, hidden)

    found = await search(remote_api, note["id"], as_=alice, resolve="true")
    [status] = found["statuses"]
    assert (status["uri"], status["content"]) == (note["id"], "<p>titration tips</p>")
    assert (await search(remote_api, hidden["id"], as_=alice, resolve="true"))["statuses"] == []
    unknown = await search(remote_api, f"{peer.uri}/statuses/404", as_=alice, resolve="true")
    assert unknown == {"accounts": [], "statuses": [], "hashtags": []}


async def test_resolving_needs_a_logged_in_user_and_fetches_nothing_otherwise(
    remote_api: Api, sink: Sink
) -> None:
    Peer(sink, "remote.sink.test", "carol")
    handle = f"carol@{sink.domain('remote.sink.test')}"
    app_token = await remote_api.token(None, "read")
    for token in (None, app_token):
        response = await remote_api.get(f"/api/v2/search?q={handle}&resolve=true", token=token)
        assert response.status_code == 401
        assert "without authentication" in response.json()["error"]
    paged = await remote_api.get("/api/v2/search?q=carol&offset=20")
    assert paged.status_code == 401
    assert sink.gets() == []
    assert not await Account.exists(domain=sink.domain("remote.sink.test"))


# -- bad input and authorization -----------------------------------------------------------------


async def test_bad_input(api: Api) -> None:
    alice = await api.user("alice")
    missing = await api.get("/api/v2/search", as_=alice)
    assert missing.status_code == 400
    assert missing.json() == {"error": "param is missing or the value is empty: q"}
    assert (await api.get("/api/v2/search?q=%20", as_=alice)).status_code == 400
    assert (await api.get("/api/v2/search?q=a&resolve=maybe", as_=alice)).status_code == 422
    assert (await api.get("/api/v2/search?q=a&limit=many", as_=alice)).status_code == 422
    assert (await api.get("/api/v2/search?q=" + "a" * 501, as_=alice)).status_code == 422
    unknown_type = await search(api, "alice", as_=alice, type="people")
    assert unknown_type == {"accounts": [], "statuses": [], "hashtags": []}


async def test_a_token_needs_the_search_scope_and_must_be_valid(api: Api) -> None:
    alice = await api.user("alice")
    writer = await api.token(alice.account, "write")
    refused = await api.get("/api/v2/search?q=alice", token=writer)
    assert (refused.status_code, refused.json()) == (
        403,
        {"error": "This action is outside the authorized scopes"},
    )
    searcher = await api.token(alice.account, "read:search")
    assert (await api.get("/api/v2/search?q=alice", token=searcher)).status_code == 200
    await oauth.revoke_account_tokens(alice.account)
    assert (await api.get("/api/v2/search?q=alice", token=searcher)).status_code == 401
