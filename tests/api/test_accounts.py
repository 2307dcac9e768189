"""Accounts in the client API: credentials, profiles, follows, relationships, blocks, lookup,
search and the directory."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from activitypub.http import SafeHttpClient
from fediverse_cop.app import create_app
from fediverse_cop.models import (
    Account,
    AccountBlock,
    ActorType,
    CommunityRole,
    CommunityRoleKind,
    FanoutJob,
    Follow,
    FollowState,
    JoinPolicy,
    Notification,
    NotificationType,
    Visibility,
    acct_key,
)
from fediverse_cop.services import accounts as account_service
from fediverse_cop.services import communities, follows, oauth, statuses
from fediverse_cop.services.communities import CommunityPolicy
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft
from fediverse_cop.settings import Settings
from tests.api.conftest import BASE, Api, User
from tests.conftest import TEST_DOMAIN
from tests.inbox.conftest import Peer
from tests.sink import Sink

# -- helpers ---------------------------------------------------------------------------------


async def remote_account(name: str, domain: str = "remote.example", **extra: Any) -> Account:
    uri = f"https://{domain}/users/{name}"
    values: dict[str, Any] = {
        "username": name,
        "domain": domain,
        "acct_key": acct_key(name, domain),
        "local": False,
        "uri": uri,
        "inbox_uri": f"{uri}/inbox",
        "followers_uri": f"{uri}/followers",
        "last_fetched_at": utcnow(),
        **extra,
    }
    return await Account.create(**values)


async def community(api: Api, handle: str, owner: User, *, approval: bool = False) -> Account:
    policy = CommunityPolicy(join=JoinPolicy.APPROVAL if approval else JoinPolicy.OPEN)
    made = await communities.create_community(
        api.ctx, handle, name=handle.title(), policy=policy, owner=owner.account.username
    )
    return made.account


def png(width: int = 8, height: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def jobs_of(account: Account, kind: str) -> list[FanoutJob]:
    return [j for j in await FanoutJob.filter(sender=account) if j.activity.get("type") == kind]


@pytest.fixture
async def fed_api(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    sink_http: SafeHttpClient,
) -> AsyncIterator[Api]:
    """The API app whose outbound requests reach the loopback sink (simulated remote servers)."""
    app = create_app(dataclasses.replace(settings, in_process_workers=False))
    async with app.router.lifespan_context(app):
        fed = Federation(app.state.ctx, sink_http)
        app.state.fed = fed
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Api(app.state.ctx, client, fed)


# -- verify_credentials ----------------------------------------------------------------------


async def test_verify_credentials_has_source_and_role(api: Api) -> None:
    alice = await api.user("alice", display_name="Alice")
    response = await api.get("/api/v1/accounts/verify_credentials", as_=alice)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alice.id
    assert body["username"] == "alice"
    assert body["source"]["privacy"] == "public"
    assert body["source"]["follow_requests_count"] == 0
    assert body["role"]["name"] == "user"


async def test_verify_credentials_refuses_missing_wrong_and_revoked_tokens(api: Api) -> None:
    alice = await api.user("alice")
    assert (await api.get("/api/v1/accounts/verify_credentials")).status_code == 401
    writer = await api.token(alice.account, "write")
    refused = await api.get("/api/v1/accounts/verify_credentials", token=writer)
    assert refused.status_code == 403
    assert refused.json() == {"error": "This action is outside the authorized scopes"}
    app_token = await api.token(None, "read")
    assert (
        await api.get("/api/v1/accounts/verify_credentials", token=app_token)
    ).status_code == 401
    await oauth.revoke_account_tokens(alice.account)
    revoked = await api.get("/api/v1/accounts/verify_credentials", as_=alice)
    assert revoked.status_code == 401


# -- update_credentials ----------------------------------------------------------------------


async def test_update_credentials_from_a_form(api: Api) -> None:
    alice = await api.user("alice")
    response = await api.patch(
        "/api/v1/accounts/update_credentials",
        as_=alice,
        data={
            "display_name": "Alice Liddell",
            "note": "Chemistry <teacher>\n\nRoom 4",
            "locked": "true",
            "bot": "0",
            "discoverable": "false",
            "fields_attributes[0][name]": "Web",
            "fields_attributes[0][value]": "https://uni-a.edu/alice",
            "fields_attributes[1][name]": "Room",
            "fields_attributes[1][value]": "B 2.14",
            "source[privacy]": "unlisted",
            "source[sensitive]": "1",
            "source[language]": "de",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["display_name"] == "Alice Liddell"
    assert body["locked"] is True
    assert body["discoverable"] is False
    assert body["source"]["privacy"] == "unlisted"
    assert body["source"]["sensitive"] is True
    assert body["source"]["language"] == "de"
    assert [f["name"] for f in body["fields"]] == ["Web", "Room"]
    assert 'href="https://uni-a.edu/alice"' in body["fields"][0]["value"]
    assert body["source"]["fields"][0]["value"] == "https://uni-a.edu/alice"
    stored = await Account.get(id=alice.account.id)
    assert stored.default_visibility is Visibility.UNLISTED
    assert stored.manually_approves_followers is True
    # Notes of local accounts are stored as the plain text typed; peers get HTML.
    assert stored.note == "Chemistry <teacher>\n\nRoom 4"
    [job] = await jobs_of(alice.account, "Update")
    assert job.activity["object"]["summary"] == "<p>Chemistry &lt;teacher&gt;</p><p>Room 4</p>"
    assert job.activity["object"]["manuallyApprovesFollowers"] is True
    # Profile fields travel as Mastodon's PropertyValue attachments.
    assert [(f["type"], f["name"]) for f in job.activity["object"]["attachment"]] == [
        ("PropertyValue", "Web"),
        ("PropertyValue", "Room"),
    ]
    # The API shows the note as HTML, and its source as typed.
    assert body["note"] == "<p>Chemistry &lt;teacher&gt;</p><p>Room 4</p>"
    assert body["source"]["note"] == "Chemistry <teacher>\n\nRoom 4"


async def test_update_credentials_from_json_and_the_update_goes_to_followers(api: Api) -> None:
    alice = await api.user("alice")
    response = await api.patch(
        "/api/v1/accounts/update_credentials",
        as_=alice,
        json={"display_name": "A.", "fields_attributes": [{"name": "Pronouns", "value": "she"}]},
    )
    assert response.status_code == 200
    assert response.json()["fields"][0]["name"] == "Pronouns"
    [job] = await jobs_of(alice.account, "Update")
    assert job.activity["object"]["type"] == "Person"
    assert job.activity["object"]["name"] == "A."
    assert "https://w3id.org/security/v1" in job.activity["@context"]
    assert job.recipients == [alice.account.followers_uri]


async def test_update_credentials_refuses_bad_input(api: Api) -> None:
    alice = await api.user("alice")
    path = "/api/v1/accounts/update_credentials"
    five = {f"fields_attributes[{i}][name]": f"n{i}" for i in range(5)}
    assert (await api.patch(path, as_=alice, data=five)).status_code == 422
    direct = {"source[privacy]": "direct"}
    assert (await api.patch(path, as_=alice, data=direct)).status_code == 422
    assert (await api.patch(path, as_=alice, data={"locked": "maybe"})).status_code == 422
    long_name = {"display_name": "x" * 101}
    assert (await api.patch(path, as_=alice, data=long_name)).status_code == 422
    assert (
        await api.patch(path, as_=alice, data={"source[language]": "german"})
    ).status_code == 422
    unchanged = await Account.get(id=alice.account.id)
    assert unchanged.profile_fields == []
    assert await FanoutJob.filter(sender=alice.account).count() == 0


async def test_update_credentials_needs_write_accounts(api: Api) -> None:
    alice = await api.user("alice", scopes="read")
    path = "/api/v1/accounts/update_credentials"
    assert (await api.patch(path, as_=alice, data={"bot": "1"})).status_code == 403
    assert (await api.patch(path, data={"bot": "1"})).status_code == 401


async def test_avatar_and_header_uploads(api: Api) -> None:
    alice = await api.user("alice")
    response = await api.patch(
        "/api/v1/accounts/update_credentials",
        as_=alice,
        files={
            "avatar": ("me.png", png(), "image/png"),
            "header": ("banner.png", png(30, 10), "image/png"),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["avatar"].startswith(f"{BASE}/media/")
    assert body["header"].startswith(f"{BASE}/media/")
    image = await api.client.get(body["avatar"].removeprefix(BASE))
    assert image.status_code == 200
    bad = await api.patch(
        "/api/v1/accounts/update_credentials",
        as_=alice,
        files={"avatar": ("me.png", b"not an image at all", "image/png")},
    )
    assert bad.status_code == 422


async def test_unlocking_accepts_waiting_requests(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")
    alice.account.manually_approves_followers = True
    await alice.account.save()
    await api.post(f"/api/v1/accounts/{alice.id}/follow", as_=bob)
    assert (await Follow.get(account=bob.account)).state is FollowState.PENDING
    await api.patch("/api/v1/accounts/update_credentials", as_=alice, data={"locked": "false"})
    assert (await Follow.get(account=bob.account)).state is FollowState.ACCEPTED


# -- reading accounts ------------------------------------------------------------------------


async def test_get_account_local_remote_and_community(api: Api) -> None:
    alice = await api.user("alice")
    remote = await remote_account("carol")
    group = await community(api, "chem", alice)
    local = await api.get(f"/api/v1/accounts/{alice.id}")
    assert local.status_code == 200
    assert local.json()["acct"] == "alice"
    far = await api.get(f"/api/v1/accounts/{remote.id}", as_=alice)
    assert far.json()["acct"] == "carol@remote.example"
    group_json = (await api.get(f"/api/v1/accounts/{group.id}")).json()
    assert group_json["group"] is True


async def test_hidden_accounts_answer_like_missing_ones(api: Api) -> None:
    alice = await api.user("alice")
    gone = await api.user("gone")
    await account_service.delete_user("gone")
    suspended = await remote_account("spam", suspended_at=utcnow())
    instance_actor = await Account.get(local=True, actor_type=ActorType.APPLICATION)
    for account_id in (gone.id, str(suspended.id), str(instance_actor.id), "12345", "nope"):
        response = await api.get(f"/api/v1/accounts/{account_id}", as_=alice)
        assert response.status_code == 404
        assert response.json() == {"error": "Record not found"}


async def test_followers_and_following_are_paginated(api: Api) -> None:
    alice = await api.user("alice")
    fans = [await api.user(f"fan{i}") for i in range(3)]
    for fan in fans:
        await follows.follow(api.fed, fan.account, alice.account)
    pending = await remote_account("asker")
    await Follow.create(account=pending, target=alice.account, state=FollowState.PENDING)
    first = await api.get(f"/api/v1/accounts/{alice.id}/followers?limit=2")
    assert first.status_code == 200
    assert [a["username"] for a in first.json()] == ["fan2", "fan1"]
    assert 'rel="next"' in first.headers["link"]
    next_url = first.headers["link"].split(";")[0].strip("<>")
    second = await api.get(next_url.removeprefix(BASE))
    assert [a["username"] for a in second.json()] == ["fan0"]
    following = await api.get(f"/api/v1/accounts/{fans[0].id}/following")
    assert [a["id"] for a in following.json()] == [alice.id]
    assert (await api.get("/api/v1/accounts/999/followers")).status_code == 404


# -- follow and unfollow ---------------------------------------------------------------------


async def test_follow_and_unfollow_a_local_account(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")
    response = await api.post(f"/api/v1/accounts/{bob.id}/follow", as_=alice, data={"reblogs": "0"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == bob.id
    assert body["following"] is True
    assert body["requested"] is False
    assert await Notification.exists(
        account=bob.account, from_account=alice.account, type=NotificationType.FOLLOW
    )
    undone = await api.post(f"/api/v1/accounts/{bob.id}/unfollow", as_=alice)
    assert undone.json()["following"] is False
    assert not await Follow.exists(account=alice.account, target=bob.account)
    assert not await Notification.exists(account=bob.account, type=NotificationType.FOLLOW)
    again = await api.post(f"/api/v1/accounts/{bob.id}/unfollow", as_=alice)
    assert again.status_code == 200
    assert again.json()["following"] is False


async def test_following_a_locked_account_is_a_request(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")
    bob.account.manually_approves_followers = True
    await bob.account.save()
    body = (await api.post(f"/api/v1/accounts/{bob.id}/follow", as_=alice)).json()
    assert body["following"] is False
    assert body["requested"] is True
    assert await Notification.exists(
        account=bob.account, from_account=alice.account, type=NotificationType.FOLLOW_REQUEST
    )


async def test_joining_communities(api: Api) -> None:
    owner = await api.user("owner")
    alice = await api.user("alice")
    open_group = await community(api, "open", owner)
    closed_group = await community(api, "closed", owner, approval=True)
    joined = (await api.post(f"/api/v1/accounts/{open_group.id}/follow", as_=alice)).json()
    assert joined["following"] is True
    asked = (await api.post(f"/api/v1/accounts/{closed_group.id}/follow", as_=alice)).json()
    assert asked["requested"] is True
    assert asked["following"] is False
    # The owner moderates: the request reaches them.
    assert await Notification.exists(
        account=owner.account, from_account=alice.account, type=NotificationType.FOLLOW_REQUEST
    )


async def test_a_banned_member_cannot_join(api: Api) -> None:
    owner = await api.user("owner")
    alice = await api.user("alice")
    group = await community(api, "chem", owner)
    await CommunityRole.create(
        community=await communities.get_local_community("chem"),
        account=alice.account,
        role=CommunityRoleKind.BANNED,
    )
    refused = await api.post(f"/api/v1/accounts/{group.id}/follow", as_=alice)
    assert refused.status_code == 403
    assert not await Follow.exists(account=alice.account, target=group)


async def test_following_a_remote_account_waits_for_accept_and_queues_the_follow(
    api: Api,
) -> None:
    alice = await api.user("alice")
    carol = await remote_account("carol")
    body = (await api.post(f"/api/v1/accounts/{carol.id}/follow", as_=alice)).json()
    assert body["requested"] is True
    assert body["following"] is False
    [job] = await jobs_of(alice.account, "Follow")
    assert job.activity["object"] == carol.uri
    assert job.recipients == [carol.uri]
    await api.post(f"/api/v1/accounts/{carol.id}/unfollow", as_=alice)
    [undo] = await jobs_of(alice.account, "Undo")
    assert undo.activity["object"]["type"] == "Follow"


async def test_follow_refusals(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")
    reader = await api.user("reader", scopes="read")
    assert (await api.post(f"/api/v1/accounts/{alice.id}/follow", as_=alice)).status_code == 404
    assert (await api.post(f"/api/v1/accounts/{bob.id}/follow")).status_code == 401
    assert (await api.post(f"/api/v1/accounts/{bob.id}/follow", as_=reader)).status_code == 403
    assert (await api.post("/api/v1/accounts/42/follow", as_=alice)).status_code == 404
    await AccountBlock.create(account=bob.account, target=alice.account)
    blocked = await api.post(f"/api/v1/accounts/{bob.id}/follow", as_=alice)
    assert blocked.status_code == 403
    assert not await Follow.exists(account=alice.account)
    # The legacy follow scope is enough.
    follower = await api.user("follower", scopes="follow")
    ok = await api.post(f"/api/v1/accounts/{alice.id}/follow", as_=follower)
    assert ok.status_code == 200


# -- relationships ---------------------------------------------------------------------------


async def test_relationships_in_one_request(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")
    carol = await remote_account("carol")
    dave = await remote_account("dave")
    await follows.follow(api.fed, alice.account, bob.account)
    await follows.follow(api.fed, bob.account, alice.account)
    await follows.follow(api.fed, alice.account, carol)  # pending until Accept
    await Follow.create(account=dave, target=alice.account, state=FollowState.PENDING)
    await AccountBlock.create(account=dave, target=alice.account)
    ids = [bob.id, str(carol.id), str(dave.id), "999", "junk"]
    response = await api.get(
        "/api/v1/accounts/relationships", as_=alice, params=[("id[]", i) for i in ids]
    )
    assert response.status_code == 200
    by_id = {r["id"]: r for r in response.json()}
    assert list(by_id) == [bob.id, str(carol.id), str(dave.id)]
    assert by_id[bob.id]["following"]
    assert by_id[bob.id]["followed_by"]
    assert by_id[str(carol.id)]["requested"]
    assert not by_id[str(carol.id)]["following"]
    assert by_id[str(dave.id)]["requested_by"]
    assert by_id[str(dave.id)]["blocked_by"]
    single = await api.get(f"/api/v1/accounts/relationships?id={bob.id}", as_=alice)
    assert [r["id"] for r in single.json()] == [bob.id]
    assert (await api.get("/api/v1/accounts/relationships?id[]=1")).status_code == 401


# -- blocks ----------------------------------------------------------------------------------


async def test_blocking_ends_follows_both_ways(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")
    await follows.follow(api.fed, alice.account, bob.account)
    await follows.follow(api.fed, bob.account, alice.account)
    response = await api.post(f"/api/v1/accounts/{bob.id}/block", as_=alice)
    assert response.status_code == 200
    body = response.json()
    assert body["blocking"] is True
    assert body["following"] is False
    assert body["followed_by"] is False
    assert await Follow.filter(account=alice.account).count() == 0
    assert await Follow.filter(account=bob.account).count() == 0
    seen_by_bob = await api.get(f"/api/v1/accounts/relationships?id[]={alice.id}", as_=bob)
    assert seen_by_bob.json()[0]["blocked_by"] is True
    listed = await api.get("/api/v1/blocks", as_=alice)
    assert [a["id"] for a in listed.json()] == [bob.id]
    refollow = await api.post(f"/api/v1/accounts/{alice.id}/follow", as_=bob)
    assert refollow.status_code == 403
    lifted = await api.post(f"/api/v1/accounts/{bob.id}/unblock", as_=alice)
    assert lifted.json()["blocking"] is False
    assert (await api.get("/api/v1/blocks", as_=alice)).json() == []


async def test_blocking_a_remote_account_sends_block_and_undo(api: Api) -> None:
    alice = await api.user("alice")
    carol = await remote_account("carol")
    await follows.follow(api.fed, alice.account, carol)
    await api.post(f"/api/v1/accounts/{carol.id}/block", as_=alice)
    [block] = await jobs_of(alice.account, "Block")
    assert block.activity["object"] == carol.uri
    assert block.recipients == [carol.uri]
    [undo_follow] = await jobs_of(alice.account, "Undo")
    assert undo_follow.activity["object"]["type"] == "Follow"
    await api.post(f"/api/v1/accounts/{carol.id}/unblock", as_=alice)
    undos = await jobs_of(alice.account, "Undo")
    assert [u.activity["object"]["type"] for u in undos].count("Block") == 1


async def test_block_refusals(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")
    reader = await api.user("reader", scopes="read")
    assert (await api.post(f"/api/v1/accounts/{bob.id}/block")).status_code == 401
    assert (await api.post(f"/api/v1/accounts/{bob.id}/block", as_=reader)).status_code == 403
    assert (await api.post(f"/api/v1/accounts/{alice.id}/block", as_=alice)).status_code == 404
    assert (await api.post("/api/v1/accounts/77/block", as_=alice)).status_code == 404
    assert (await api.get("/api/v1/blocks")).status_code == 401
    writer = await api.user("writer", scopes="write")
    assert (await api.get("/api/v1/blocks", as_=writer)).status_code == 403
    assert await AccountBlock.all().count() == 0


async def test_blocks_are_paginated(api: Api) -> None:
    alice = await api.user("alice")
    others = [await api.user(f"other{i}") for i in range(3)]
    for other in others:
        await api.post(f"/api/v1/accounts/{other.id}/block", as_=alice)
    page = await api.get("/api/v1/blocks?limit=2", as_=alice)
    assert [a["username"] for a in page.json()] == ["other2", "other1"]
    assert 'rel="next"' in page.headers["link"]


# -- lookup and search -----------------------------------------------------------------------


async def test_lookup_known_accounts(api: Api) -> None:
    alice = await api.user("alice")
    carol = await remote_account("carol")
    for acct in ("alice", "@alice", f"alice@{TEST_DOMAIN}"):
        found = await api.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert found.status_code == 200
        assert found.json()["id"] == alice.id
    remote = await api.get("/api/v1/accounts/lookup?acct=carol@remote.example")
    assert remote.json()["id"] == str(carol.id)
    missing = await api.get("/api/v1/accounts/lookup?acct=nobody")
    assert missing.status_code == 404
    assert (await api.get("/api/v1/accounts/lookup")).status_code == 400


async def test_lookup_resolves_an_unknown_remote_account_with_webfinger(
    fed_api: Api, sink: Sink
) -> None:
    peer = Peer(sink, "remote.sink.test", "bob")
    handle = f"bob@{sink.domain('remote.sink.test')}"
    found = await fed_api.get("/api/v1/accounts/lookup", params={"acct": handle})
    assert found.status_code == 200, found.text
    assert found.json()["acct"] == handle
    assert await Account.exists(uri=peer.uri)
    unknown = await fed_api.get(
        "/api/v1/accounts/lookup", params={"acct": f"nobody@{sink.domain('remote.sink.test')}"}
    )
    assert unknown.status_code == 404


async def test_search_by_prefix_local_first(api: Api) -> None:
    alice = await api.user("alice")
    await api.user("albert", display_name="Bert")
    await remote_account("alfred")
    await api.user("zed", display_name="Alma Zed")
    response = await api.get("/api/v1/accounts/search?q=al", as_=alice)
    assert response.status_code == 200
    names = [a["acct"] for a in response.json()]
    assert set(names) == {"alice", "albert", "zed", "alfred@remote.example"}
    assert names[-1] == "alfred@remote.example"
    limited = await api.get("/api/v1/accounts/search?q=al&limit=1", as_=alice)
    assert len(limited.json()) == 1
    handle = await api.get("/api/v1/accounts/search?q=@alfred@remote.example", as_=alice)
    assert [a["acct"] for a in handle.json()] == ["alfred@remote.example"]


async def test_search_following_only(api: Api) -> None:
    alice = await api.user("alice")
    anna = await api.user("anna")
    await api.user("andy")
    await follows.follow(api.fed, alice.account, anna.account)
    response = await api.get("/api/v1/accounts/search?q=an&following=true", as_=alice)
    assert [a["username"] for a in response.json()] == ["anna"]


async def test_search_refusals(api: Api) -> None:
    alice = await api.user("alice")
    assert (await api.get("/api/v1/accounts/search?q=al")).status_code == 401
    writer = await api.user("writer", scopes="write")
    assert (await api.get("/api/v1/accounts/search?q=al", as_=writer)).status_code == 403
    assert (await api.get("/api/v1/accounts/search", as_=alice)).status_code == 400


async def test_search_resolves_a_full_handle(fed_api: Api, sink: Sink) -> None:
    alice = await fed_api.user("alice")
    Peer(sink, "remote.sink.test", "bob")
    handle = f"bob@{sink.domain('remote.sink.test')}"
    unresolved = await fed_api.get(
        "/api/v1/accounts/search", as_=alice, params={"q": handle, "resolve": "false"}
    )
    assert unresolved.json() == []
    resolved = await fed_api.get(
        "/api/v1/accounts/search", as_=alice, params={"q": handle, "resolve": "true"}
    )
    assert [a["acct"] for a in resolved.json()] == [handle]


# -- directory -------------------------------------------------------------------------------


async def test_directory_lists_discoverable_people_and_communities(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")
    hidden = await api.user("hidden")
    hidden.account.discoverable = False
    await hidden.account.save()
    group = await community(api, "chem", alice)
    carol = await remote_account("carol", discoverable=True)
    await statuses.post(api.fed, bob.account, Draft(text="hello"))
    active = (await api.get("/api/v1/directory")).json()
    ids = [a["id"] for a in active]
    assert ids[0] == bob.id  # the one who posted comes first
    assert set(ids) == {alice.id, bob.id, str(group.id), str(carol.id)}
    local = (await api.get("/api/v1/directory?local=true&order=new")).json()
    assert [a["id"] for a in local] == [str(group.id), bob.id, alice.id]
    paged = (await api.get("/api/v1/directory?local=true&order=new&offset=1&limit=1")).json()
    assert [a["id"] for a in paged] == [bob.id]
    active_paged = (await api.get("/api/v1/directory?offset=1&limit=10")).json()
    assert bob.id not in [a["id"] for a in active_paged]
    assert len(active_paged) == 3
    fallback = (await api.get("/api/v1/directory?order=popular")).json()
    assert [a["id"] for a in fallback] == ids
