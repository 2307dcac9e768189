"""A community's library: resources trainers and moderators share, and those of remote groups.

A resource is a post **by the community** (the ``Group`` is its author) with a
title, a description, files and/or a link, a licence and tags; a
:class:`~fediverse_cop.models.Resource` row keeps that metadata next to the post.
On the wire it is a ``Note`` whose ``name`` is the title (Lemmy and PieFed take
``name`` as a thread title; Mastodon ignores it, so the title is also the first
paragraph of ``content``). Files are ``Document`` attachments with ``mediaType``,
``size`` (PeerTube's ``pt:size``) and ``digestMultibase`` (FEP-1311: the SHA-256
multihash in base58btc, as Mitra sends); a link is a Lemmy-style ``Link``
attachment (``href``); the licence is schema.org's ``license``.

Adding one:

* the community's own ``Create`` goes to its followers on microblog servers (a
  post by an account they follow), and ``Announce{Create}`` to its followers on
  group-aware servers, as every community post is announced there;
* the group ``Add``\\ s it to its ``featured`` collection (Mastodon shows it pinned,
  a :class:`~fediverse_cop.models.StatusPin` of the group makes it a pinned status
  of the group in our client API), and it is listed by the ``resources``
  collection. Edits go the same two ways as an ``Update``; a removal is a
  ``Remove`` from ``featured`` and a ``Delete``.

Remote communities' libraries are read when a local member joins one
(:func:`fetch_remote_library`): the group's ``resources`` collection when it has
one, and its ``featured`` collection, within a count budget, through the safe
client and under the origin rules (an item embedded in a collection is used only
when it comes from the collection's own origin; anything else is fetched). A
resource the group adds later reaches the library when the group announces it
(:func:`after_group_announce`).
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import vocab
from activitypub.errors import FetchError
from activitypub.html import html_to_text
from activitypub.origins import OriginRefusal, check_object_origin, same_origin
from activitypub.uris import Kind, LocalURIs
from activitypub.vocab import ASObject
from fediverse_cop.converters import local_status_to_as_note, note_to_html
from fediverse_cop.ids import new_id
from fediverse_cop.models import (
    Account,
    ActorType,
    Community,
    CommunityRole,
    ContentVisibility,
    MediaAttachment,
    Resource,
    Status,
    StatusEdit,
    StatusPin,
    StatusTag,
    Tag,
    Tombstone,
    Visibility,
)
from fediverse_cop.models.accounts import URI_LENGTH
from fediverse_cop.services import groups, incoming, media
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid, NotFound, ServiceError
from fediverse_cop.services.follows import activity_uri
from fediverse_cop.services.incoming import FetchBudget, NotAccepted
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.visibility import PUBLIC
from outbox.enqueue import enqueue
from outbox.fanout import followers_of_kind

log = logging.getLogger(__name__)

MAX_TITLE: Final = 255
MAX_DESCRIPTION: Final = 5000
MAX_LICENCE: Final = 255
MAX_TAGS: Final = 10
MAX_TAG_NAME: Final = 100
MAX_FILES: Final = 4
# Remote libraries: at most this many resources are kept per fetch, with at most this
# many documents fetched (actor, collections, pages, items, authors) to get them.
REMOTE_RESOURCES: Final = 50
REMOTE_FETCHES: Final = 80
_TAG_NAME: Final = re.compile(r"^\w+$")

# Terms a resource uses beyond those of a Note.
RESOURCE_TERMS: Final[dict[str, Any]] = {
    "sc": "http://schema.org/",
    "pt": "https://joinpeertube.org/ns#",
    "license": "sc:license",
    "size": "pt:size",
    "digestMultibase": "https://w3id.org/security#digestMultibase",
}


@dataclass(frozen=True, slots=True)
class ResourceDraft:
    """What a trainer gives: files (paths on this server) and/or a link, with metadata."""

    title: str
    description: str = ""
    link: str | None = None
    licence: str = ""
    tags: tuple[str, ...] = ()
    files: tuple[Path, ...] = field(default_factory=tuple)

    def checked(self, *, need_content: bool = True) -> ResourceDraft:
        title = self.title.strip()
        if not title or len(title) > MAX_TITLE:
            raise Invalid(f"a resource needs a title of 1 to {MAX_TITLE} characters")
        if len(self.description) > MAX_DESCRIPTION:
            raise Invalid(f"the description is longer than {MAX_DESCRIPTION} characters")
        if len(self.licence) > MAX_LICENCE:
            raise Invalid(f"the licence is longer than {MAX_LICENCE} characters")
        if self.link is not None and not _is_http_url(self.link):
            raise Invalid("the link must be an http(s) URL")
        if len(self.files) > MAX_FILES:
            raise Invalid(f"a resource has at most {MAX_FILES} files")
        if need_content and not self.files and not self.link:
            raise Invalid("a resource needs a file or a link")
        for path in self.files:
            if not path.is_file():
                raise Invalid(f"no file {path}")
        return ResourceDraft(
            title=title,
            description=self.description.strip(),
            link=self.link,
            licence=self.licence.strip(),
            tags=tuple(normalize_tags(self.tags)),
            files=self.files,
        )


def normalize_tags(tags: Sequence[str]) -> list[str]:
    """Tag names without ``#``, lower-cased, de-duplicated; Invalid for anything else."""
    names: dict[str, None] = {}
    for raw in tags:
        name = raw.strip().lstrip("#").lower()
        if not name:
            continue
        if len(name) > MAX_TAG_NAME or not _TAG_NAME.match(name):
            raise Invalid(f"{raw!r} is not a tag (letters, digits and _ only)")
        names.setdefault(name, None)
    if len(names) > MAX_TAGS:
        raise Invalid(f"a resource has at most {MAX_TAGS} tags")
    return list(names)


def _is_http_url(value: str) -> bool:
    if len(value) > URI_LENGTH:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# -- converters --------------------------------------------------------------------------------

_B58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def sha256_to_digest_multibase(hex_digest: str) -> str:
    """A SHA-256 digest as FEP-1311's ``digestMultibase``: multihash, base58btc (``z…``)."""
    data = bytes([0x12, 0x20]) + bytes.fromhex(hex_digest)
    number = int.from_bytes(data, "big")
    encoded = ""
    while number:
        number, rest = divmod(number, 58)
        encoded = _B58[rest] + encoded
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "z" + "1" * zeros + encoded


def media_to_as_document(url: str, m: MediaAttachment, name: str) -> dict[str, Any]:
    """A stored file of a resource as a ``Document`` with its size and digest."""
    document: dict[str, Any] = {
        "type": "Document",
        "mediaType": m.content_type,
        "url": url,
        "name": name,
        "size": m.size,
    }
    if m.sha256:
        document["digestMultibase"] = sha256_to_digest_multibase(m.sha256)
    return document


def resource_to_html(resource: Resource, tag_uris: Sequence[tuple[str, str]]) -> str:
    """The post's HTML: the title, the description, the link, the licence and the tags."""
    parts = [f"<p><strong>{html.escape(resource.title)}</strong></p>"]
    parts.append(note_to_html(resource.description))
    if resource.link:
        href = html.escape(resource.link, quote=True)
        parts.append(f'<p><a href="{href}" rel="nofollow noopener" target="_blank">{href}</a></p>')
    if resource.licence:
        parts.append(f"<p>Licence: {html.escape(resource.licence)}</p>")
    if tag_uris:
        links = " ".join(
            f'<a href="{html.escape(uri, quote=True)}" class="mention hashtag" rel="tag">'
            f"#<span>{html.escape(name)}</span></a>"
            for name, uri in tag_uris
        )
        parts.append(f"<p>{links}</p>")
    return "".join(parts)


def resource_to_as_note(
    resource: Resource, status: Status, group: Account, uris: LocalURIs
) -> dict[str, Any]:
    """A local resource as the ``Note`` its Create, Update and collections carry."""
    note = local_status_to_as_note(status, group, uris, tags=resource.tags)
    note["@context"] = [*note["@context"], RESOURCE_TERMS]
    note["name"] = resource.title
    attachments: list[dict[str, Any]] = list(note.get("attachment") or [])
    if resource.link:
        attachments.append({"type": "Link", "href": resource.link, "mediaType": "text/html"})
    if attachments:
        note["attachment"] = attachments
    if resource.licence:
        note["license"] = resource.licence
    # Lemmy puts a Mention of the community in a post's tags, so replies reach it.
    note["tag"] = [
        *note["tag"],
        {"type": "Mention", "href": group.uri, "name": f"@{group.username}"},
    ]
    return note


def as_note_to_resource_fields(obj: ASObject) -> dict[str, Any]:
    """What a remote resource (or pinned post) says about itself, for a Resource row."""
    title = obj.name or ""
    if not title:
        text = html_to_text(obj.content or "")
        title = text.strip().split("\n", 1)[0]
    link = None
    for item in obj.attachments:
        if item.type == "Link" and item.url and _is_http_url(item.url):
            link = item.url
            break
    licence = obj.get("license") or obj.get("licence")
    if isinstance(licence, dict):
        licence = licence.get("name")
    return {
        "title": title[:MAX_TITLE] or "(untitled)",
        "description": html_to_text(obj.summary or "")[:MAX_DESCRIPTION],
        "link": link,
        "licence": licence[:MAX_LICENCE] if isinstance(licence, str) else "",
        "tags": incoming.as_hashtags_to_names(obj)[:MAX_TAGS],
    }


# -- who may curate ----------------------------------------------------------------------------


async def _require_curator(community: Community, by: Account) -> None:
    """Trainers, moderators and the owner curate the library; members do not."""
    role = await CommunityRole.get_or_none(community_id=community.id, account_id=by.id)
    if role is None or role.role not in groups.STAFF_ROLES:
        raise Invalid(f"{by.handle} is not a trainer or moderator of {community.account.handle}")


def _addressing(community: Community) -> tuple[Visibility, list[str], list[str]]:
    followers = community.account.followers_uri or ""
    if community.visibility is ContentVisibility.MEMBERS:
        return Visibility.PRIVATE, [followers], []
    return Visibility.PUBLIC, [PUBLIC], [followers]


# -- local resources ---------------------------------------------------------------------------


async def _store_files(
    fed: Federation, group: Account, draft: ResourceDraft
) -> list[MediaAttachment]:
    """The draft's files stored as the group's uploads (sniffed, as every upload)."""
    stored: list[MediaAttachment] = []
    try:
        for path in draft.files:
            with path.open("rb") as handle:
                upload = UploadFile(file=handle, filename=path.name)
                try:
                    stored.append(
                        await media.upload(
                            fed.ctx, group, upload, description=draft.title[:1500], documents=True
                        )
                    )
                except Invalid as exc:
                    raise Invalid(
                        f"{path.name}: {exc} (files are images, audio or video;"
                        " share other documents as a link)"
                    ) from None
    except BaseException:
        for m in stored:
            await media.delete(fed.ctx, m)
        raise
    return stored


def _documents(fed: Federation, files: Sequence[MediaAttachment], title: str) -> list[Any]:
    return [
        media_to_as_document(media.media_url(fed.ctx, m.file_name or ""), m, title) for m in files
    ]


async def _set_tags(status: Status, names: Sequence[str]) -> None:
    await StatusTag.filter(status_id=status.id).delete()
    for name in names:
        tag, _ = await Tag.get_or_create(name=name)
        await StatusTag.get_or_create(status=status, tag=tag)


def _tag_uris(fed: Federation, names: Sequence[str]) -> list[tuple[str, str]]:
    return [(name, fed.ctx.uris.build(Kind.TAG, name=name)) for name in names]


async def _send(
    fed: Federation, community: Community, status: Status, activity: dict[str, Any]
) -> None:
    """The group's own activity to microblog followers, ``Announce`` of it to the others."""
    group = community.account
    if not group.followers_uri:
        return
    await enqueue(
        activity,
        group,
        [followers_of_kind(group.followers_uri, "microblog")],
        ordering_key=status.uri,
    )
    await groups.announce_activity(fed, community, status, activity)


async def _send_featured_change(
    fed: Federation, community: Community, status: Status, *, add: bool
) -> None:
    group = community.account
    if not group.featured_uri or not group.followers_uri:
        return
    _, to, cc = _addressing(community)
    change = vocab.add if add else vocab.remove
    activity = change(
        id=activity_uri(fed.ctx),
        actor=group.uri,
        object=status.uri,
        target=group.featured_uri,
        to=to,
        cc=cc,
        audience=group.uri,
    )
    await enqueue(activity, group, [group.followers_uri], ordering_key=status.uri)


async def add_resource(
    fed: Federation, community: Community, by: Account, draft: ResourceDraft
) -> Resource:
    """A trainer or moderator adds a resource: a community post, pinned and announced."""
    await _require_curator(community, by)
    if community.archived_at is not None:
        raise Invalid("the community is archived")
    draft = draft.checked()
    group = community.account
    files = await _store_files(fed, group, draft)
    visibility, to, cc = _addressing(community)
    try:
        async with in_transaction():
            status_id = new_id()
            uri = fed.ctx.uris.build(Kind.OBJECT, id=str(status_id))
            status = await Status.create(
                id=status_id,
                uri=uri,
                url=uri,
                account=group,
                local=True,
                object_type="Note",
                text=draft.description,
                visibility=visibility,
                to=to,
                cc=cc,
                audience=group.uri,
                attachments=_documents(fed, files, draft.title),
                published_at=utcnow(),
            )
            resource = await Resource.create(
                community=group,
                status=status,
                title=draft.title,
                description=draft.description,
                link=draft.link,
                licence=draft.licence,
                tags=list(draft.tags),
                added_by=by,
            )
            status.content = resource_to_html(resource, _tag_uris(fed, draft.tags))
            await status.save(update_fields=["content"])
            for position, m in enumerate(files):
                await MediaAttachment.filter(id=m.id).update(status_id=status.id, position=position)
            await _set_tags(status, draft.tags)
            await StatusPin.create(account=group, status=status)
            note = resource_to_as_note(resource, status, group, fed.ctx.uris)
            create = vocab.create(
                id=fed.ctx.uris.build(Kind.OBJECT_ACTIVITY, id=str(status.id)),
                actor=group.uri,
                object=note,
                to=to,
                cc=cc,
                audience=group.uri,
                published=status.published_at,
            )
            await _send(fed, community, status, create)
            await _send_featured_change(fed, community, status, add=True)
    except BaseException:
        for m in files:
            await media.delete(fed.ctx, m)
        raise
    return resource


async def get_resource(community: Community, resource_id: int | str) -> Resource:
    """A resource of the community's library (with its post loaded), else NotFound."""
    try:
        key = int(resource_id)
    except ValueError:
        key = -1
    resource = await Resource.get_or_none(
        id=key, community_id=community.account.id, status__deleted_at=None
    ).select_related("status", "added_by")
    if resource is None:
        raise NotFound(f"no resource {resource_id} in {community.account.handle}")
    return resource


async def update_resource(
    fed: Federation,
    community: Community,
    by: Account,
    resource: Resource,
    *,
    title: str | None = None,
    description: str | None = None,
    link: str | None = None,
    licence: str | None = None,
    tags: Sequence[str] | None = None,
) -> Resource:
    """Change a resource's metadata (files stay): ``Update``, sent and announced."""
    await _require_curator(community, by)
    draft = ResourceDraft(
        title=resource.title if title is None else title,
        description=resource.description if description is None else description,
        link=(resource.link if link is None else link) or None,
        licence=resource.licence if licence is None else licence,
        tags=tuple(resource.tags if tags is None else tags),
    ).checked(need_content=False)
    status = resource.status
    group = community.account
    async with in_transaction():
        await StatusEdit.create(
            status=status,
            content=status.content,
            summary=status.summary,
            sensitive=status.sensitive,
            created_at=status.edited_at or status.published_at,
        )
        resource.title, resource.description = draft.title, draft.description
        resource.link, resource.licence, resource.tags = draft.link, draft.licence, list(draft.tags)
        await resource.save()
        status.text = draft.description
        status.content = resource_to_html(resource, _tag_uris(fed, draft.tags))
        status.edited_at = utcnow()
        await status.save(update_fields=["text", "content", "edited_at"])
        await _set_tags(status, draft.tags)
        note = resource_to_as_note(resource, status, group, fed.ctx.uris)
        update = vocab.update(
            id=activity_uri(fed.ctx),
            actor=group.uri,
            object=note,
            to=status.to,
            cc=status.cc,
            audience=group.uri,
        )
        await _send(fed, community, status, update)
    return resource


async def remove_resource(
    fed: Federation, community: Community, by: Account | None, resource: Resource
) -> None:
    """Take a resource out of the library: ``Remove`` from featured, then ``Delete``.

    ``by`` None is the operator (CLI); anyone else must be a trainer or moderator.
    """
    if by is not None:
        await _require_curator(community, by)
    status = resource.status
    group = community.account
    now = utcnow()
    async with in_transaction():
        await _send_featured_change(fed, community, status, add=False)
        status.deleted_at = now
        await status.save(update_fields=["deleted_at"])
        await StatusPin.filter(account_id=group.id, status_id=status.id).delete()
        await Tombstone.get_or_create(
            uri=status.uri, defaults={"account": group, "deleted_at": now}
        )
        await resource.delete()
        deletion = vocab.delete(
            id=f"{status.uri}#delete",
            actor=group.uri,
            object=vocab.tombstone(id=status.uri, former_type=status.object_type, deleted=now),
            to=status.to,
            cc=status.cc,
            audience=group.uri,
        )
        await _send(fed, community, status, deletion)


async def list_resources(group: Account, *, limit: int | None = None) -> list[Resource]:
    """The library of a community (local or remote), newest first, posts loaded."""
    query = (
        Resource.filter(community_id=group.id, status__deleted_at=None)
        .select_related("status")
        .order_by("-id")
    )
    if limit is not None:
        query = query.limit(limit)
    return list(await query)


async def resource_notes(
    uris: LocalURIs, group: Account, resources: Sequence[Resource]
) -> list[dict[str, Any]]:
    """The Notes of local resources (for the ``resources`` and ``featured`` collections)."""
    return [resource_to_as_note(r, r.status, group, uris) for r in resources]


# -- collections -------------------------------------------------------------------------------

COLLECTION_PAGE: Final = 20
MAX_FEATURED: Final = 50
_LISTED: Final = (Visibility.PUBLIC, Visibility.UNLISTED)


def _listed(group: Account) -> Any:
    """Resources a collection lists: public and unlisted ones (members-only stay out)."""
    return Resource.filter(
        community_id=group.id, status__deleted_at=None, status__visibility__in=_LISTED
    )


async def library_size(group: Account) -> int:
    count: int = await _listed(group).count()
    return count


async def library_page(
    uris: LocalURIs, group: Account, *, max_id: int | None = None, limit: int = COLLECTION_PAGE
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the ``resources`` collection, newest first, and the cursor of the next."""
    query = _listed(group).select_related("status").order_by("-id")
    if max_id is not None:
        query = query.filter(id__lt=max_id)
    page = list(await query.limit(limit + 1))
    more = len(page) > limit
    page = page[:limit]
    notes = await resource_notes(uris, group, page)
    return notes, (page[-1].id if more else None)


async def featured_items(uris: LocalURIs, group: Account) -> list[Any]:
    """The ``featured`` collection of a local group: resources embedded, other pins by id."""
    pins = list(
        await StatusPin.filter(
            account_id=group.id,
            status__deleted_at=None,
            status__removed_at=None,
            status__visibility__in=_LISTED,
        )
        .select_related("status")
        .order_by("-id")
        .limit(MAX_FEATURED)
    )
    ids = [pin.status.id for pin in pins]
    by_status = {
        r.status_id: r  # type: ignore[attr-defined]
        for r in await Resource.filter(status_id__in=ids).select_related("status")
    }
    items: list[Any] = []
    for pin in pins:
        resource = by_status.get(pin.status.id)
        if resource is not None and pin.status.local:
            items.append(resource_to_as_note(resource, resource.status, group, uris))
        else:
            items.append(pin.status.uri)
    return items


# -- remote libraries --------------------------------------------------------------------------


@dataclass(slots=True)
class _Walk:
    fed: Federation
    group: Account
    budget: FetchBudget
    kept: int = 0


async def fetch_remote_library(fed: Federation, group: Account) -> int:
    """Read a remote group's ``resources`` and ``featured`` collections; how many are kept.

    Never raises for what the remote server does: an unreachable or malformed
    collection is logged and skipped (joining the group does not depend on it).
    """
    if group.local or group.actor_type is not ActorType.GROUP:
        return 0
    walk = _Walk(fed, group, FetchBudget(fetches=REMOTE_FETCHES))
    try:
        walk.budget.take()
        actor = await fed.http.fetch_ap(group.uri, auth=fed.signer)
        document = ASObject(actor.document)
        collections = [
            (_collection_uri(document.get("resources")), False),
            (_collection_uri(document.get("featured")) or group.featured_uri, True),
        ]
        for uri, featured in collections:
            if uri and same_origin(uri, group.uri):
                await _read_collection(walk, uri, featured=featured)
    except (NotAccepted, FetchError, ServiceError) as exc:
        log.info("the library of %s was not read: %s", group.uri, exc)
    return walk.kept


def _collection_uri(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


async def _read_collection(walk: _Walk, uri: str, *, featured: bool) -> None:
    """The items of a collection: its own, then those of its pages (``first``, ``next``)."""
    walk.budget.take()
    page: Any = (await walk.fed.http.fetch_ap(uri, auth=walk.fed.signer)).document
    seen = {uri}
    step = "first"
    while isinstance(page, dict) and walk.kept < REMOTE_RESOURCES:
        for item in [*_items(page.get("orderedItems")), *_items(page.get("items"))]:
            if walk.kept >= REMOTE_RESOURCES:
                return
            with contextlib.suppress(NotAccepted, FetchError, ServiceError):
                if await _keep_item(walk, item, uri, featured=featured):
                    walk.kept += 1
        following = page.get(step)
        step = "next"
        if isinstance(following, dict):
            following = following if _collection_uri(following) not in seen else None
            if following is not None:
                seen.add(str(_collection_uri(following)))
            page = following
            continue
        if not isinstance(following, str) or following in seen or not same_origin(following, uri):
            return
        seen.add(following)
        walk.budget.take()
        page = (await walk.fed.http.fetch_ap(following, auth=walk.fed.signer)).document


def _items(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


async def _keep_item(walk: _Walk, item: object, collection: str, *, featured: bool) -> bool:
    """Store one item (a post, or a Create of one) as a Resource of the group."""
    if isinstance(item, dict) and item.get("type") in ("Create", "Announce"):
        item = item.get("object")
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        obj = ASObject(item)
        embedded_ok = same_origin(obj.require_id(), collection) and not isinstance(
            check_object_origin(item, fetched_from=collection), OriginRefusal
        )
        if not embedded_ok:
            obj = incoming.fetched_post(
                await incoming.fetch_object(walk.fed, obj.require_id(), walk.budget)
            )
    elif isinstance(item, str):
        known = await Status.get_or_none(uri=item, reblog_of_id=None)
        if known is not None:
            return await _as_resource(walk.group, known, None, featured=featured)
        obj = incoming.fetched_post(await incoming.fetch_object(walk.fed, item, walk.budget))
    else:
        return False
    if not obj.has_type(*incoming.POST_TYPES):
        return False
    existing = await Status.get_or_none(uri=obj.require_id(), reblog_of_id=None)
    if existing is None:
        author = await incoming.author_of(walk.fed, obj, walk.budget)
        existing = await incoming.store_post(walk.fed, obj, author, budget=walk.budget)
    if existing is None:
        return False
    return await _as_resource(walk.group, existing, obj, featured=featured)


async def _as_resource(
    group: Account, status: Status, obj: ASObject | None, *, featured: bool, refresh: bool = False
) -> bool:
    """Keep ``status`` as a resource of the remote ``group``'s library; with ``refresh``,
    what ``obj`` says replaces the title, link, licence… of one kept already (an edit)."""
    if status.deleted_at is not None or status.local:
        return False
    if status.audience is None:
        status.audience = group.uri
        await status.save(update_fields=["audience"])
    elif status.audience != group.uri:
        return False  # a post of another community
    if featured:
        with contextlib.suppress(IntegrityError):
            await StatusPin.get_or_create(account=group, status=status)
    kept = await Resource.get_or_none(status_id=status.id)
    if kept is not None:
        if refresh and obj is not None:
            await Resource.filter(id=kept.id).update(**as_note_to_resource_fields(obj))
        return True
    fields = (
        as_note_to_resource_fields(obj)
        if obj is not None
        else {"title": html_to_text(status.content).split("\n", 1)[0][:MAX_TITLE]}
    )
    with contextlib.suppress(IntegrityError):
        await Resource.create(community=group, status=status, **fields)
    return True


async def after_joining(fed: Federation, group: Account) -> None:
    """A local member's follow of a remote group was accepted: read its library."""
    if group.local or group.actor_type is not ActorType.GROUP:
        return
    kept = await fetch_remote_library(fed, group)
    log.info("kept %d resources of %s", kept, group.uri)


async def after_group_announce(group: Account, activity: ASObject) -> None:
    """A remote group announced the ``Create`` of a post of its own (a resource, on our
    servers: a community writes nothing else): the post, stored by then, joins the library
    kept of the group, as if read from its collections. Its title, link and licence come
    from the embedded post when the group itself delivered it (it is the post's owner);
    an announced ``Update`` of it changes them."""
    inner = activity.object
    if group.local or inner is None or inner.actor_id != group.uri:
        return
    if inner.type not in ("Create", "Update"):
        return
    status = await Status.get_or_none(
        uri=inner.object_id or "", reblog_of_id=None, account_id=group.id, audience=group.uri
    )
    if status is None:
        return
    embedded = inner.object
    trusted = (
        embedded is not None
        and embedded.id == status.uri
        and not isinstance(
            check_object_origin(embedded.data, delivered_by_actor=group.uri), OriginRefusal
        )
    )
    await _as_resource(
        group,
        status,
        embedded if trusted else None,
        featured=False,
        refresh=inner.type == "Update",
    )
