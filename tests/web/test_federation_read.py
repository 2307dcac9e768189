"""What other servers GET from us: discovery, actor documents, collections."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest

from activitypub.actors import RemoteActor
from activitypub.jsonld import expand, is_plain_json
from activitypub.nodeinfo import (
    instance_actor_link,
    nodeinfo_content_type,
    nodeinfo_url,
    parse_nodeinfo,
)
from activitypub.vocab import format_datetime
from activitypub.webfinger import JRD_CONTENT_TYPE, lrdd_template, parse_jrd
from fediverse_cop import __version__
from fediverse_cop.app import create_app
from fediverse_cop.converters import GROUP_TERMS
from fediverse_cop.models import (
    Account,
    Community,
    CommunityRoleKind,
    Follow,
    FollowState,
    JoinPolicy,
    PostingPolicy,
)
from fediverse_cop.services import accounts, communities, instance
from fediverse_cop.services.context import ServerContext
from fediverse_cop.settings import RegistrationMode
from fediverse_cop.web.negotiation import parse_accept, wants_activity_json
from tests.conftest import TEST_DOMAIN, Cli
from tests.test_server import serving

BASE = f"http://{TEST_DOMAIN}"
AS2 = "application/activity+json"
LD_AS2 = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
NOT_FOUND = {"error": "Not Found"}
ACTOR_CONTEXT_TERMS: dict[str, Any] = {
    "toot": "http://joinmastodon.org/ns#",
    "lemmy": "https://join-lemmy.org/ns#",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "discoverable": "toot:discoverable",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
    "moderators": {"@id": "lemmy:moderators", "@type": "@id"},
}
ACTOR_CONTEXT = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    ACTOR_CONTEXT_TERMS,
]
SELF_TYPE = "https://www.w3.org/ns/activitystreams#type"
PROFILE_PAGE = "http://webfinger.net/rel/profile-page"


@dataclass
class World:
    ctx: ServerContext
    client: httpx.AsyncClient

    async def get(self, path: str, accept: str | None = None, **params: str) -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        return await self.client.get(path, headers=headers, params=params)

    async def account(self, name: str) -> Account:
        return await Account.get(acct_key=name.lower())


async def _user(ctx: ServerContext, name: str, **extra: Any) -> Account:
    return await accounts.create_user(
        ctx, name, email=f"{name}@uni-a.edu", password="correct horse battery", **extra
    )


@pytest.fixture
async def world(database: ServerContext) -> AsyncIterator[World]:
    """alice owns the community ``teachers``; bob moderates it, dave trains; carol is
    suspended; the instance row and its actor exist."""
    ctx = database
    await instance.ensure_instance(ctx)
    await _user(ctx, "alice", display_name="Alice <Liddell>")
    for name in ("bob", "carol", "dave"):
        await _user(ctx, name)
    await communities.create_community(
        ctx,
        "teachers",
        name="Teachers & Trainers",
        description="Share\n\nand <learn>",
        owner="alice",
    )
    await communities.add_role("teachers", "bob", CommunityRoleKind.MODERATOR)
    await communities.add_role("teachers", "dave", CommunityRoleKind.TRAINER)
    await accounts.suspend("carol", "spam")
    app = create_app(ctx.settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield World(ctx, client)


# -- WebFinger ---------------------------------------------------------------------


async def test_webfinger_for_a_user(world: World) -> None:
    response = await world.get("/.well-known/webfinger", resource=f"acct:alice@{TEST_DOMAIN}")
    assert response.status_code == 200
    assert response.headers["content-type"] == JRD_CONTENT_TYPE
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {
        "subject": "acct:alice@cop.test",
        "aliases": [f"{BASE}/users/alice"],
        "links": [
            {
                "rel": "self",
                "type": AS2,
                "href": f"{BASE}/users/alice",
                "properties": {SELF_TYPE: "Person"},
            },
            {"rel": PROFILE_PAGE, "type": "text/html", "href": f"{BASE}/users/alice"},
        ],
    }
    jrd = parse_jrd(response.json(), str(response.url))
    assert jrd.actor_uri == f"{BASE}/users/alice"
    assert jrd.profile_page == f"{BASE}/users/alice"
    assert jrd.subject_handle is not None
    assert str(jrd.subject_handle) == "alice@cop.test"


@pytest.mark.parametrize(
    "resource",
    [
        "acct:ALICE@COP.TEST",
        "alice@cop.test",
        "@Alice@cop.test",
        f"{BASE}/users/alice",
        f"{BASE}/users/Alice",
    ],
)
async def test_webfinger_names_are_case_insensitive_and_urls_work(
    world: World, resource: str
) -> None:
    response = await world.get("/.well-known/webfinger", resource=resource)
    assert response.status_code == 200
    jrd = parse_jrd(response.json(), str(response.url))
    assert jrd.subject == "acct:alice@cop.test"
    assert jrd.actor_uri == f"{BASE}/users/alice"


@pytest.mark.parametrize("resource", ["acct:teachers@cop.test", f"{BASE}/c/teachers"])
async def test_webfinger_for_a_community(world: World, resource: str) -> None:
    response = await world.get("/.well-known/webfinger", resource=resource)
    assert response.status_code == 200
    assert response.json()["subject"] == "acct:teachers@cop.test"
    assert response.json()["links"][0] == {
        "rel": "self",
        "type": AS2,
        "href": f"{BASE}/c/teachers",
        "properties": {SELF_TYPE: "Group"},
    }


@pytest.mark.parametrize(
    "resource",
    [
        "acct:cop.test@cop.test",
        "acct:COP.test@cop.test",
        f"{BASE}/actor",
        "acct:instance.actor@cop.test",
    ],
)
async def test_webfinger_for_the_instance_actor(world: World, resource: str) -> None:
    response = await world.get("/.well-known/webfinger", resource=resource)
    assert response.status_code == 200
    assert response.json() == {
        "subject": "acct:cop.test@cop.test",
        "aliases": [f"{BASE}/actor"],
        "links": [
            {
                "rel": "self",
                "type": AS2,
                "href": f"{BASE}/actor",
                "properties": {SELF_TYPE: "Application"},
            },
            {"rel": PROFILE_PAGE, "type": "text/html", "href": f"{BASE}/actor"},
        ],
    }


@pytest.mark.parametrize(
    "resource",
    [
        "acct:nobody@cop.test",
        "acct:carol@cop.test",  # suspended
        f"{BASE}/users/carol",
        "acct:alice@other.example",  # foreign
        "https://other.example/users/alice",
        f"{BASE}/c/alice",  # a person is not a community
        f"{BASE}/users/teachers",
        f"{BASE}/users/alice/followers",  # not an actor
        "acct:a+b@cop.test",
    ],
)
async def test_webfinger_unknown_foreign_and_suspended_are_404(world: World, resource: str) -> None:
    response = await world.get("/.well-known/webfinger", resource=resource)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"resource": ""},
        {"resource": "   "},
        {"resource": "alice"},
        {"resource": "acct:alice"},
        {"resource": "acct:@cop.test"},
        {"resource": "mailto:alice@cop.test"},
        {"resource": "acct:alice@cop.test@evil.example"},
        {"resource": "acct:" + "a" * 2000 + "@cop.test"},
    ],
)
async def test_webfinger_malformed_resources_are_400(world: World, params: dict[str, str]) -> None:
    response = await world.get("/.well-known/webfinger", **params)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


async def test_host_meta_points_to_webfinger(world: World) -> None:
    response = await world.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xrd+xml; charset=utf-8"
    template = lrdd_template(response.content, str(response.url))
    assert template == f"{BASE}/.well-known/webfinger?resource={{uri}}"


# -- NodeInfo ------------------------------------------------------------------------


async def test_nodeinfo_links(world: World) -> None:
    response = await world.get("/.well-known/nodeinfo")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": f"{BASE}/nodeinfo/2.1",
            },
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                "href": f"{BASE}/nodeinfo/2.0",
            },
            {"rel": "https://www.w3.org/ns/activitystreams#Application", "href": f"{BASE}/actor"},
        ]
    }
    assert nodeinfo_url(response.json(), str(response.url)) == (f"{BASE}/nodeinfo/2.1", "2.1")
    assert instance_actor_link(response.json(), str(response.url)) == f"{BASE}/actor"


@pytest.mark.parametrize("version", ["2.0", "2.1"])
async def test_nodeinfo_documents_count_people_only(
    world: World, version: Literal["2.0", "2.1"]
) -> None:
    response = await world.get(f"/nodeinfo/{version}")
    assert response.status_code == 200
    assert response.headers["content-type"] == nodeinfo_content_type(version)
    # alice, bob, dave: not carol (suspended), not the community, not the instance actor.
    assert response.json() == {
        "version": version,
        "software": {"name": "fediverse-cop", "version": __version__},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {"users": {"total": 3}, "localPosts": 0},
        "metadata": {"nodeName": "cop.test", "nodeDescription": "", "communities": 1},
    }
    info = parse_nodeinfo(response.json(), str(response.url))
    assert info.software_name == "fediverse-cop"
    assert info.kind == "group-aware"
    assert info.usage.users_total == 3


async def test_nodeinfo_open_registrations_follow_the_instance_mode(world: World) -> None:
    await instance.set_registrations(world.ctx, RegistrationMode.INVITE)
    assert (await world.get("/nodeinfo/2.1")).json()["openRegistrations"] is False
    await instance.set_registrations(world.ctx, RegistrationMode.OPEN)
    assert (await world.get("/nodeinfo/2.1")).json()["openRegistrations"] is True


# -- actors ------------------------------------------------------------------------------


async def test_person_actor_document(world: World) -> None:
    alice = await world.account("alice")
    response = await world.get("/users/alice", AS2)
    assert response.status_code == 200
    assert response.headers["content-type"] == AS2
    assert response.headers["vary"] == "Accept"
    user = f"{BASE}/users/alice"
    assert response.json() == {
        "@context": ACTOR_CONTEXT,
        "id": user,
        "type": "Person",
        "preferredUsername": "alice",
        "name": "Alice <Liddell>",
        "summary": "",
        "url": user,
        "inbox": f"{user}/inbox",
        "outbox": f"{user}/outbox",
        "followers": f"{user}/followers",
        "following": f"{user}/following",
        "featured": f"{user}/collections/featured",
        "endpoints": {"sharedInbox": f"{BASE}/inbox"},
        "publicKey": {
            "id": f"{user}#main-key",
            "owner": user,
            "publicKeyPem": alice.public_key_pem,
        },
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "published": format_datetime(alice.created_at),
    }
    actor = RemoteActor.from_document(response.json(), expected_id=user)
    assert actor.type == "Person"
    assert actor.preferred_username == "alice"
    assert actor.delivery_inbox == f"{BASE}/inbox"
    assert actor.featured == f"{user}/collections/featured"
    assert actor.url == user
    assert actor.key(f"{user}#main-key") is not None


async def test_group_actor_document(world: World) -> None:
    teachers = await world.account("teachers")
    response = await world.get("/c/teachers", LD_AS2)
    assert response.status_code == 200
    assert response.headers["content-type"] == AS2
    assert response.headers["vary"] == "Accept"
    group = f"{BASE}/c/teachers"
    community = await Community.get(account=teachers)
    terms: dict[str, Any] = {**ACTOR_CONTEXT_TERMS, **GROUP_TERMS}
    group_context = [*ACTOR_CONTEXT[:2], terms]
    assert response.json() == {
        "@context": group_context,
        "id": group,
        "type": "Group",
        "preferredUsername": "teachers",
        "name": "Teachers & Trainers",
        "summary": "<p>Share</p><p>and &lt;learn&gt;</p>",
        "url": group,
        "inbox": f"{group}/inbox",
        "outbox": f"{group}/outbox",
        "followers": f"{group}/followers",
        "following": f"{group}/following",
        "featured": f"{group}/featured",
        "endpoints": {"sharedInbox": f"{BASE}/inbox"},
        "publicKey": {
            "id": f"{group}#main-key",
            "owner": group,
            "publicKeyPem": teachers.public_key_pem,
        },
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "published": format_datetime(teachers.created_at),
        "attributedTo": f"{group}/moderators",
        "moderators": f"{group}/moderators",
        "postingRestrictedToMods": False,
        "resources": f"{group}/resources",
        "sensitive": False,
        "updated": format_datetime(community.updated_at),
    }
    actor = RemoteActor.from_document(response.json(), expected_id=group)
    assert actor.is_group
    assert actor.posting_restricted_to_mods is False


async def test_group_policy_shows_in_the_document(world: World) -> None:
    await communities.update_community(
        "teachers", join=JoinPolicy.APPROVAL, posting=PostingPolicy.MODERATORS
    )
    document = (await world.get("/c/teachers", AS2)).json()
    assert document["manuallyApprovesFollowers"] is True
    assert document["postingRestrictedToMods"] is True
    actor = RemoteActor.from_document(document)
    assert actor.manually_approves_followers
    assert actor.posting_restricted_to_mods


async def test_instance_actor_document(world: World) -> None:
    row = await world.account("instance.actor")
    response = await world.get("/actor", AS2)
    assert response.status_code == 200
    assert response.headers["content-type"] == AS2
    assert response.json() == {
        "@context": ACTOR_CONTEXT,
        "id": f"{BASE}/actor",
        "type": "Application",
        "preferredUsername": "cop.test",
        "name": "cop.test",
        "summary": "",
        "url": f"{BASE}/actor",
        "inbox": f"{BASE}/inbox",
        "endpoints": {"sharedInbox": f"{BASE}/inbox"},
        "publicKey": {
            "id": f"{BASE}/actor#main-key",
            "owner": f"{BASE}/actor",
            "publicKeyPem": row.public_key_pem,
        },
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "published": format_datetime(row.created_at),
    }
    actor = RemoteActor.from_document(response.json(), expected_id=f"{BASE}/actor")
    assert actor.type == "Application"


@pytest.mark.parametrize("path", ["/users/alice", "/c/teachers", "/actor"])
async def test_actor_documents_are_plain_json_ld(world: World, path: str) -> None:
    document = (await world.get(path, AS2)).json()
    assert is_plain_json(document)
    expanded = expand(document)
    node = expanded[0]
    assert node["@id"] == document["id"]
    assert node["https://www.w3.org/ns/activitystreams#manuallyApprovesFollowers"] == [
        {"@value": False}
    ]
    assert node["http://joinmastodon.org/ns#discoverable"] == [{"@value": True}]
    if "featured" in document:
        assert node["http://joinmastodon.org/ns#featured"] == [{"@id": document["featured"]}]
    if "moderators" in document:
        assert node["https://join-lemmy.org/ns#moderators"] == [{"@id": document["moderators"]}]
        assert node["https://join-lemmy.org/ns#postingRestrictedToMods"] == [{"@value": False}]


@pytest.mark.parametrize(
    ("accept", "as2"),
    [
        (AS2, True),
        (LD_AS2, True),
        ("application/ld+json", True),
        ('application/ld+json;profile="https://www.w3.org/ns/activitystreams"', True),
        (f"text/html;q=0.5, {AS2}", True),
        (f"{AS2}, {LD_AS2}, text/html;q=0.1", True),  # what Mastodon sends
        (f"text/html, {AS2}", True),  # a tie goes to AS2
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("*/*", False),
        (None, False),
        ("application/json", False),
        (f"{AS2};q=0, text/html", False),
        (f"{AS2};q=0.4, text/html;q=0.9", False),
        ('application/ld+json; profile="https://www.w3.org/ns/did/v1"', False),
    ],
)
async def test_content_negotiation(world: World, accept: str | None, as2: bool) -> None:
    response = await world.get("/users/alice", accept)
    assert response.status_code == 200
    assert response.headers["vary"] == "Accept"
    if as2:
        assert response.headers["content-type"] == AS2
        assert response.json()["id"] == f"{BASE}/users/alice"
    else:
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text.startswith("<!DOCTYPE html>")


async def test_profile_page_escapes_and_links_the_as2_document(world: World) -> None:
    response = await world.get("/c/teachers", "text/html")
    page = response.text
    assert "<h1>Teachers &amp; Trainers</h1>" in page
    assert "@teachers@cop.test" in page
    assert "<p>and &lt;learn&gt;</p>" in page
    assert f'<link rel="alternate" type="{AS2}" href="{BASE}/c/teachers">' in page
    alice = (await world.get("/users/alice", "text/html")).text
    assert "Alice &lt;Liddell&gt;" in alice
    assert "<Liddell>" not in alice
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_unknown_and_suspended_actors_answer_alike(world: World) -> None:
    for accept in (AS2, "text/html"):
        unknown = await world.get("/users/nobody", accept)
        suspended = await world.get("/users/carol", accept)
        assert unknown.status_code == suspended.status_code == 404
        assert unknown.content == suspended.content
        assert unknown.json() == NOT_FOUND
        assert unknown.headers["content-type"] == suspended.headers["content-type"]
    for path in ("followers", "following", "outbox", "collections/featured"):
        unknown = await world.get(f"/users/nobody/{path}")
        suspended = await world.get(f"/users/carol/{path}")
        assert unknown.status_code == suspended.status_code == 404
        assert unknown.content == suspended.content


@pytest.mark.parametrize(
    "path",
    [
        "/users/teachers",  # a community is not a person
        "/c/alice",  # a person is not a community
        "/users/instance.actor",
        "/c/instance.actor",
        "/users/teachers/followers",
        "/c/alice/followers",
        "/c/alice/moderators",
        "/c/alice/resources",
        "/c/alice/featured",
        "/users/teachers/collections/featured",
        "/c/nobody/outbox",
    ],
)
async def test_a_name_of_the_wrong_kind_is_404(world: World, path: str) -> None:
    response = await world.get(path, AS2)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_remote_accounts_are_never_served(world: World) -> None:
    await Account.create(
        username="mallory",
        domain="other.example",
        acct_key="mallory@other.example",
        local=False,
        uri="https://other.example/users/mallory",
        inbox_uri="https://other.example/users/mallory/inbox",
    )
    # The remote account's plain user name is not a local handle.
    await Account.create(
        username="eve",
        domain="other.example",
        acct_key="eve",  # even a row that collides with the local namespace
        local=False,
        uri="https://other.example/users/eve",
        inbox_uri="https://other.example/users/eve/inbox",
    )
    for path in ("/users/mallory", "/users/eve", "/users/eve/followers"):
        assert (await world.get(path, AS2)).status_code == 404
    response = await world.get("/.well-known/webfinger", resource="acct:eve@cop.test")
    assert response.status_code == 404


# -- collections ----------------------------------------------------------------------------


async def test_followers_and_following_show_only_accepted_totals(world: World) -> None:
    alice, bob, dave, teachers = [
        await world.account(name) for name in ("alice", "bob", "dave", "teachers")
    ]
    await Follow.create(account=bob, target=alice, state=FollowState.ACCEPTED)
    await Follow.create(account=dave, target=alice, state=FollowState.PENDING)
    await Follow.create(account=alice, target=teachers, state=FollowState.ACCEPTED)
    await Follow.create(account=bob, target=teachers, state=FollowState.ACCEPTED)

    expected = {
        "/users/alice/followers": 1,
        "/users/alice/following": 1,
        "/users/bob/following": 2,
        "/users/dave/following": 0,
        "/c/teachers/followers": 2,
        "/c/teachers/following": 0,
    }
    for path, total in expected.items():
        response = await world.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == AS2
        assert response.json() == {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{BASE}{path}",
            "type": "OrderedCollection",
            "totalItems": total,
        }


@pytest.mark.parametrize("path", ["/users/alice/outbox", "/c/teachers/outbox"])
async def test_outbox_is_paged_and_empty(world: World, path: str) -> None:
    outbox = f"{BASE}{path}"
    response = await world.get(path)
    assert response.headers["content-type"] == AS2
    assert response.json() == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": outbox,
        "type": "OrderedCollection",
        "totalItems": 0,
        "first": f"{outbox}?page=true",
    }
    first = await world.client.get(response.json()["first"])
    assert first.status_code == 200
    assert first.headers["content-type"] == AS2
    assert first.json() == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{outbox}?page=true",
        "type": "OrderedCollectionPage",
        "partOf": outbox,
        "orderedItems": [],
    }
    older = await world.get(path, page="true", max_id="123")
    assert older.json()["id"] == f"{outbox}?page=true&max_id=123"
    bad = await world.get(path, page="true", max_id="1 OR 1=1")
    assert bad.status_code == 400


async def test_resources_is_an_empty_paged_collection(world: World) -> None:
    collection = f"{BASE}/c/teachers/resources"
    response = await world.get("/c/teachers/resources")
    assert response.headers["content-type"] == AS2
    assert response.json() == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": collection,
        "type": "OrderedCollection",
        "totalItems": 0,
        "first": f"{collection}?page=true",
    }
    page = await world.get("/c/teachers/resources", page="true")
    assert page.json() == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{collection}?page=true",
        "type": "OrderedCollectionPage",
        "partOf": collection,
        "orderedItems": [],
    }


@pytest.mark.parametrize("path", ["/users/alice/collections/featured", "/c/teachers/featured"])
async def test_featured_is_an_empty_collection(world: World, path: str) -> None:
    response = await world.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == AS2
    assert response.json() == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{BASE}{path}",
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    }


async def test_moderators_collection_lists_owner_then_moderators(world: World) -> None:
    await _user(world.ctx, "erin")
    await _user(world.ctx, "frank")
    await communities.add_role("teachers", "erin", CommunityRoleKind.MODERATOR)
    await communities.add_role("teachers", "frank", CommunityRoleKind.MODERATOR)
    await accounts.suspend("frank")
    response = await world.get("/c/teachers/moderators")
    assert response.status_code == 200
    assert response.headers["content-type"] == AS2
    # dave is a trainer, not a moderator; frank is suspended.
    assert response.json() == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{BASE}/c/teachers/moderators",
        "type": "OrderedCollection",
        "totalItems": 3,
        "orderedItems": [
            f"{BASE}/users/alice",
            f"{BASE}/users/bob",
            f"{BASE}/users/erin",
        ],
    }


# -- pure helpers ----------------------------------------------------------------------------


def test_accept_parsing_keeps_quoted_commas_and_skips_garbage() -> None:
    ranges = parse_accept('application/ld+json; profile="a, b"; q=0.5, nonsense, text/html;q=x')
    assert [(r.media_type, r.params, r.q) for r in ranges] == [
        ("application/ld+json", {"profile": "a, b"}, 0.5)
    ]
    assert not wants_activity_json("application/activity+json;q=2")
    assert wants_activity_json("Application/Activity+JSON")
    assert not wants_activity_json("")


def test_note_html_is_escaped() -> None:
    from fediverse_cop.converters import note_to_html

    assert note_to_html("") == ""
    assert note_to_html("a <b>\nc & d\r\n\r\n\ne") == "<p>a &lt;b&gt;<br>c &amp; d</p><p>e</p>"
    assert html.unescape(note_to_html("\"'")) == "<p>\"'</p>"


# -- end to end ---------------------------------------------------------------------------------


def test_a_real_server_serves_actors_and_webfinger(cli: Cli, cop_env: dict[str, str]) -> None:
    cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    with serving(cop_env) as base:
        actor = httpx.get(f"{base}/users/alice", headers={"Accept": AS2})
        assert actor.status_code == 200
        assert actor.headers["content-type"] == AS2
        assert actor.headers["vary"] == "Accept"
        document = actor.json()
        parsed = RemoteActor.from_document(document, expected_id=f"{BASE}/users/alice")
        assert parsed.inbox == f"{BASE}/users/alice/inbox"
        page = httpx.get(f"{base}/users/alice", headers={"Accept": "text/html"})
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        finger = httpx.get(
            f"{base}/.well-known/webfinger", params={"resource": "acct:alice@cop.test"}
        )
        assert finger.status_code == 200
        assert parse_jrd(finger.json(), str(finger.url)).actor_uri == f"{BASE}/users/alice"
        instance_actor = httpx.get(f"{base}/actor", headers={"Accept": AS2})
        assert instance_actor.json()["type"] == "Application"
        nodeinfo = httpx.get(f"{base}/nodeinfo/2.1").json()
        assert nodeinfo["usage"]["users"]["total"] == 1
