"""A community's library: resources added, changed and removed by trainers, the activities
each kind of member's server gets, the collections that list them, and remote libraries."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from activitypub.uris import Kind
from fediverse_cop.models import (
    Account,
    Community,
    CommunityRoleKind,
    FanoutJob,
    Follow,
    FollowState,
    InboxState,
    MediaAttachment,
    Resource,
    Status,
    StatusPin,
)
from fediverse_cop.services import communities, follows, resources
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.resources import ResourceDraft, sha256_to_digest_multibase
from outbox.fanout import followers_of_kind
from tests.communities.test_groups import (
    groups_account,
    jobs,
    join,
    local_user,
    make_community,
)
from tests.conftest import Cli
from tests.inbox.conftest import AS2, Local, Peer
from tests.inbox.test_statuses import PUBLIC, deliver, serve
from tests.sink import Sink

LINK = "https://open.example/lab-safety"


@pytest.fixture
def masto(sink: Sink) -> Peer:
    from tests.communities.test_groups import serve_nodeinfo

    peer = Peer(sink, "masto.sink.test", "mastodon")
    serve_nodeinfo(peer, "mastodon")
    return peer


@pytest.fixture
def lemmy(sink: Sink) -> Peer:
    from tests.communities.test_groups import serve_nodeinfo

    peer = Peer(sink, "lemmy.sink.test", "picard")
    serve_nodeinfo(peer, "lemmy")
    return peer


def png(tmp_path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    path = tmp_path / "diagram.png"
    path.write_bytes(buffer.getvalue())
    return path


async def with_trainer(local: Local, community: Community, name: str = "tess") -> Account:
    trainer = await local_user(local, name)
    await communities.add_role(community.account.username, name, CommunityRoleKind.TRAINER)
    return trainer


async def get_json(local: Local, path: str) -> Any:
    response = await local.client.get(path, headers={"Accept": AS2})
    assert response.status_code == 200, response.text
    return response.json()


def path_of(uri: str) -> str:
    return uri.split("cop.test", 1)[1] if "cop.test" in uri else uri


# -- adding -----------------------------------------------------------------------------------


async def test_a_trainer_adds_a_resource_sent_announced_pinned_and_listed(
    local: Local, alice: Account, masto: Peer, lemmy: Peer, tmp_path: Path
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    trainer = await with_trainer(local, physics)
    group = physics.account
    draft = ResourceDraft(
        title="Lab safety",
        description="Read before the first session.",
        link=LINK,
        licence="CC BY-SA 4.0",
        tags=("Safety", "#lab"),
        files=(png(tmp_path),),
    )
    resource = await resources.add_resource(local.fed, physics, trainer, draft)

    status = await Status.get(id=resource.status_id)  # type: ignore[attr-defined]
    assert (status.account_id, status.local, status.audience) == (group.id, True, group.uri)  # type: ignore[attr-defined]
    assert status.content.startswith("<p><strong>Lab safety</strong></p>")
    assert await StatusPin.exists(account=group, status=status)
    assert (resource.tags, resource.added_by_id) == (["safety", "lab"], trainer.id)  # type: ignore[attr-defined]
    stored = await MediaAttachment.get(status=status)
    assert stored.account_id == group.id  # type: ignore[attr-defined]

    # Microblog servers get the group's own Create; group-aware ones an Announce of it.
    (create,) = await jobs(group, "Create")
    assert create.recipients == [followers_of_kind(group.followers_uri or "", "microblog")]
    note = create.activity["object"]
    assert (create.activity["actor"], note["attributedTo"], note["id"]) == (
        group.uri,
        group.uri,
        status.uri,
    )
    assert (note["type"], note["name"], note["license"]) == ("Note", "Lab safety", "CC BY-SA 4.0")
    document, link = note["attachment"]
    assert (document["type"], document["mediaType"], document["size"]) == (
        "Document",
        "image/png",
        stored.size,
    )
    assert stored.sha256 is not None
    assert document["digestMultibase"] == sha256_to_digest_multibase(stored.sha256)
    assert link == {"type": "Link", "href": LINK, "mediaType": "text/html"}
    tag_uri = local.fed.ctx.uris.build(Kind.TAG, name="safety")
    assert {"type": "Hashtag", "href": tag_uri, "name": "#safety"} in note["tag"]
    assert {"type": "Mention", "href": group.uri, "name": "@physics"} in note["tag"]
    (announce,) = await jobs(group, "Announce")
    assert announce.activity["object"] == create.activity
    assert announce.recipients == [followers_of_kind(group.followers_uri or "", "group-aware")]
    (add,) = await jobs(group, "Add")
    assert (add.activity["object"], add.activity["target"]) == (status.uri, group.featured_uri)
    assert add.recipients == [group.followers_uri]

    # The featured and resources collections list it, fetched through the app.
    featured = await get_json(local, path_of(group.featured_uri or ""))
    assert featured["totalItems"] == 1
    assert (featured["orderedItems"][0]["id"], featured["orderedItems"][0]["name"]) == (
        status.uri,
        "Lab safety",
    )
    library = await get_json(local, f"/c/{group.username}/resources")
    assert library["totalItems"] == 1
    page = await get_json(local, path_of(library["first"]))
    assert [item["id"] for item in page["orderedItems"]] == [status.uri]
    assert "next" not in page

    # At its own URI the post is the resource, title, link and licence included.
    fetched = await get_json(local, path_of(status.uri))
    assert (fetched["name"], fetched["license"]) == ("Lab safety", "CC BY-SA 4.0")
    assert {"type": "Link", "href": LINK, "mediaType": "text/html"} in fetched["attachment"]

    # Clients see it as a pinned status of the community.
    shown = await local.client.get(
        f"/api/v1/accounts/{group.id}/statuses", params={"pinned": "true"}
    )
    assert shown.status_code == 200, shown.text
    assert [s["id"] for s in shown.json()] == [str(status.id)]


async def test_the_resources_collection_pages_newest_first(local: Local, alice: Account) -> None:
    physics = await make_community(local)
    trainer = await with_trainer(local, physics)
    added = [
        await resources.add_resource(
            local.fed, physics, trainer, ResourceDraft(title=f"Item {n}", link=f"{LINK}/{n}")
        )
        for n in range(resources.COLLECTION_PAGE + 1)
    ]
    group = physics.account
    first = await get_json(local, f"/c/{group.username}/resources?page=true")
    assert len(first["orderedItems"]) == resources.COLLECTION_PAGE
    assert first["orderedItems"][0]["name"] == added[-1].title
    second = await get_json(local, path_of(first["next"]))
    assert [item["name"] for item in second["orderedItems"]] == [added[0].title]
    assert "next" not in second


@pytest.mark.parametrize("who", ["member", "outsider"])
async def test_someone_not_a_trainer_cannot_add_a_resource(
    local: Local, alice: Account, tmp_path: Path, who: str
) -> None:
    physics = await make_community(local)
    bob = await local_user(local, "bob")
    if who == "member":
        await follows.follow(local.fed, bob, physics.account)
        assert await Follow.exists(account=bob, state=FollowState.ACCEPTED)
    draft = ResourceDraft(title="Mine", link=LINK, files=(png(tmp_path),))
    with pytest.raises(Invalid, match="not a trainer or moderator"):
        await resources.add_resource(local.fed, physics, bob, draft)
    assert not await Resource.exists()
    assert not await Status.exists(account=physics.account)
    assert not await MediaAttachment.exists()
    assert not await StatusPin.exists()
    assert await FanoutJob.filter(sender=physics.account).count() == 0


async def test_a_resource_needs_a_title_and_a_file_or_a_link(local: Local, alice: Account) -> None:
    physics = await make_community(local)
    trainer = await with_trainer(local, physics)
    for draft in (
        ResourceDraft(title="", link=LINK),
        ResourceDraft(title="Nothing to share"),
        ResourceDraft(title="Bad link", link="javascript:alert(1)"),
        ResourceDraft(title="Bad tag", link=LINK, tags=("two words",)),
    ):
        with pytest.raises(Invalid):
            await resources.add_resource(local.fed, physics, trainer, draft)
    assert not await Status.exists(account=physics.account)
    assert await FanoutJob.filter(sender=physics.account).count() == 0


# -- changing and removing --------------------------------------------------------------------


async def test_a_resource_is_updated_then_removed(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    trainer = await with_trainer(local, physics)
    group = physics.account
    resource = await resources.add_resource(
        local.fed, physics, trainer, ResourceDraft(title="Old title", link=LINK)
    )
    resource = await resources.get_resource(physics, resource.id)

    await resources.update_resource(
        local.fed, physics, trainer, resource, title="New title", tags=["revised"]
    )
    status = await Status.get(id=resource.status.id)
    assert status.edited_at is not None
    assert "New title" in status.content
    (update,) = await jobs(group, "Update")
    assert update.activity["object"]["name"] == "New title"
    assert update.recipients == [followers_of_kind(group.followers_uri or "", "microblog")]
    announced = [j.activity["object"]["type"] for j in await jobs(group, "Announce")]
    assert announced == ["Create", "Update"]

    member = await Account.get(uri=masto.uri)
    with pytest.raises(Invalid):
        await resources.remove_resource(local.fed, physics, member, resource)
    assert await Resource.exists(id=resource.id)

    await resources.remove_resource(local.fed, physics, trainer, resource)
    assert not await Resource.exists(id=resource.id)
    assert not await StatusPin.exists(account=group)
    status = await Status.get(id=status.id)
    assert status.deleted_at is not None
    (remove,) = await jobs(group, "Remove")
    assert (remove.activity["object"], remove.activity["target"]) == (
        status.uri,
        group.featured_uri,
    )
    (delete,) = await jobs(group, "Delete")
    assert delete.activity["object"]["id"] == status.uri
    announced = [j.activity["object"]["type"] for j in await jobs(group, "Announce")]
    assert announced == ["Create", "Update", "Delete"]

    assert (await get_json(local, path_of(group.featured_uri or "")))["orderedItems"] == []
    assert (await get_json(local, f"/c/{group.username}/resources"))["totalItems"] == 0
    gone = await local.client.get(path_of(status.uri), headers={"Accept": AS2})
    assert gone.status_code == 410


# -- remote libraries -------------------------------------------------------------------------


def remote_group(sink: Sink) -> tuple[Peer, Peer]:
    """A Lemmy-like group with our kind of ``resources`` collection and a featured one."""
    group = Peer(sink, "forum.sink.test", "library", extra={"type": "Group"})
    author = Peer(sink, "forum.sink.test", "teacher")
    group.extra.update(
        {
            "featured": f"{group.uri}/featured",
            "resources": f"{group.uri}/resources",
            "attributedTo": f"{group.uri}/moderators",
        }
    )
    group.publish()
    return group, author


def page(group: Peer, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{group.uri}/items/{n}",
        "type": "Page",
        "attributedTo": group.uri,
        "name": f"Resource {n}",
        "content": f"<p>about {n}</p>",
        "published": "2024-03-05T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{group.uri}/followers"],
        "audience": group.uri,
        **extra,
    }


async def test_a_remote_library_is_read_when_a_local_member_joins(
    local: Local, alice: Account, sink: Sink
) -> None:
    group, author = remote_group(sink)
    elsewhere = Peer(sink, "other.sink.test", "mallory")
    account = await groups_account(local, group)
    linked = page(group, 1, attachment=[{"type": "Link", "href": LINK}], license="CC0")
    # Embedded, but from another origin than the collection: fetched from its own origin.
    real = page(group, 2)
    real["id"] = f"{elsewhere.uri}/items/2"
    real["attributedTo"] = elsewhere.uri
    serve(elsewhere, real)
    forged = {**real, "content": "<p>forged</p>"}
    sink.serve(
        group.host,
        "/users/library/resources",
        {
            "id": f"{group.uri}/resources",
            "type": "OrderedCollection",
            "totalItems": 2,
            "first": f"{group.uri}/resources/1",
        },
        content_type=AS2,
    )
    sink.serve(
        group.host,
        "/users/library/resources/1",
        {
            "id": f"{group.uri}/resources/1",
            "type": "OrderedCollectionPage",
            "partOf": f"{group.uri}/resources",
            "orderedItems": [linked, forged],
        },
        content_type=AS2,
    )
    pinned = {
        "id": f"{author.uri}/posts/7",
        "type": "Page",
        "attributedTo": author.uri,
        "name": "Welcome",
        "content": "<p>Read the rules</p>",
        "to": [PUBLIC],
        "cc": [group.uri],
        "audience": group.uri,
    }
    serve(author, pinned)
    sink.serve(
        group.host,
        "/users/library/featured",
        {
            "id": f"{group.uri}/featured",
            "type": "OrderedCollection",
            "totalItems": 1,
            "orderedItems": [pinned["id"]],
        },
        content_type=AS2,
    )

    joined = await follows.follow(local.fed, alice, account)
    item = await deliver(
        local,
        group,
        group.activity("Accept", {"id": joined.uri, "type": "Follow", "actor": alice.uri}),
    )
    assert item.state is InboxState.DONE, item.error

    listed = await resources.list_resources(account)
    by_title = {r.title: r for r in listed}
    assert set(by_title) == {"Resource 1", "Resource 2", "Welcome"}
    assert (by_title["Resource 1"].link, by_title["Resource 1"].licence) == (LINK, "CC0")
    assert by_title["Resource 2"].status.content.endswith("<p>about 2</p>")
    assert {r.status.audience for r in listed} == {group.uri}
    assert [
        pin.status.uri for pin in await StatusPin.filter(account=account).select_related("status")
    ] == [pinned["id"]]
    # Nothing of a remote group's library is sent anywhere.
    assert await FanoutJob.filter(sender=account).count() == 0


async def test_a_resource_a_remote_group_announces_later_joins_its_library(
    local: Local, alice: Account, sink: Sink
) -> None:
    group, author = remote_group(sink)
    account = await groups_account(local, group)
    await Follow.create(account=alice, target=account, state=FollowState.ACCEPTED, uri="urn:x:1")
    followers = f"{group.uri}/followers"

    def announced(post: dict[str, Any]) -> dict[str, Any]:
        actor = post["attributedTo"]
        create = {
            "id": f"{post['id']}/create",
            "type": "Create",
            "actor": actor,
            "object": post,
            "to": post["to"],
            "cc": post["cc"],
        }
        return group.activity("Announce", create, to=[PUBLIC], cc=[followers])

    # The group's own post (what a community's resource is on our servers) joins the library;
    linked = [{"type": "Link", "href": LINK}]
    note = page(group, 3, type="Note", attachment=linked, license="CC BY-SA 4.0")
    item = await deliver(local, group, announced(note))
    assert (item.state, item.handled_as) == (InboxState.DONE, "Announce/Create"), item.error
    # a member's post it announces does not.
    post = {**page(group, 4), "attributedTo": author.uri, "name": "A question"}
    item = await deliver(local, group, announced(post))
    assert item.state is InboxState.DONE, item.error
    assert await Status.exists(uri=post["id"], audience=group.uri)

    listed = await resources.list_resources(account)
    assert [(r.title, r.link, r.licence, r.status.uri) for r in listed] == [
        ("Resource 3", LINK, "CC BY-SA 4.0", note["id"])
    ]
    # Announced again, it is still one resource.
    item = await deliver(local, group, announced(note))
    assert item.state is InboxState.DONE, item.error
    assert await Resource.filter(community=account).count() == 1
    # Its edit, announced, changes what the library says about it.
    edited = {
        **note,
        "name": "Resource 3, second edition",
        "license": "CC0",
        "updated": "2024-03-06T10:00:00Z",
    }
    update: dict[str, Any] = {
        "id": f"{note['id']}/update/1",
        "type": "Update",
        "actor": group.uri,
        "object": edited,
        "to": note["to"],
        "cc": note["cc"],
    }
    item = await deliver(local, group, group.activity("Announce", update, to=[PUBLIC]))
    assert item.state is InboxState.DONE, item.error
    (kept,) = await resources.list_resources(account)
    assert (kept.title, kept.link, kept.licence) == ("Resource 3, second edition", LINK, "CC0")


# -- the CLI ----------------------------------------------------------------------------------


def test_the_cli_adds_lists_and_removes_resources(cli: Cli, tmp_path: Path) -> None:
    cli.ok("user", "create", "alice", "--email", "a@uni-a.edu")
    cli.ok("user", "create", "tess", "--email", "t@uni-a.edu")
    cli.ok("user", "create", "bob", "--email", "b@uni-a.edu")
    cli.ok("community", "create", "physics", "--owner", "alice")
    cli.ok("community", "add-role", "physics", "tess", "trainer")

    refused = cli(
        "community", "add-resource", "physics", "--as", "bob", "--title", "X", "--link", LINK
    )
    assert refused.code == 1
    assert "not a trainer or moderator" in refused.stderr

    added = cli.ok(
        "community",
        "add-resource",
        "physics",
        "--as",
        "tess",
        "--title",
        "Lab safety",
        "--file",
        str(png(tmp_path)),
        "--link",
        LINK,
        "--licence",
        "CC BY 4.0",
        "--tag",
        "safety",
        "--json",
    ).json()
    assert isinstance(added, dict)
    assert (added["title"], added["added_by"], added["tags"]) == ("Lab safety", "tess", ["safety"])
    assert len(added["files"]) == 1

    listed = cli.ok("community", "resources", "physics", "--json").json()
    assert isinstance(listed, list)
    assert [r["id"] for r in listed] == [added["id"]]

    cli.ok("community", "remove-resource", "physics", added["id"], "--as", "tess", "--yes")
    assert cli.ok("community", "resources", "physics", "--json").json() == []


def test_sha256_as_digest_multibase() -> None:
    # The multihash of sha2-256 (0x12, 0x20) in base58btc always starts with "zQm".
    digest = hashlib.sha256(b"resource").hexdigest()
    encoded = sha256_to_digest_multibase(digest)
    assert encoded.startswith("zQm")
    assert len(encoded) == 47
