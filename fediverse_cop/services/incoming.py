"""Posts from other servers: converting ActivityStreams objects to rows, and the rules for it.

The inbox handlers (``inbox/handlers/statuses.py`` and ``likes.py``) call these.
Every function here is idempotent: applying the same activity twice changes
nothing. The rules (see ``docs/inbox.md``):

* a post is trusted only from its own origin (delivered by an actor of that
  origin, or fetched from it) and must be written by the activity's actor;
* a second Create of a known post changes nothing (THREATS TC15); an Update
  keeps the stored visibility and addressing; only the author updates or
  deletes a post (TC14);
* a Tombstone (a Delete that came first) makes a later Create of that id a no-op;
* remote content is sanitized and capped (TC26, TC30); media are kept as
  references (URLs), never downloaded here;
* ancestors of a reply are fetched within a budget (depth and fetches, TC27),
  only when public or unlisted, and never from suspended domains.

Refusals raise :class:`NotAccepted` with a reason; the handlers turn it into
``Refused``. A fetch that may succeed later (timeouts, 5xx) raises its
:class:`~activitypub.errors.FetchError` so that the item is retried.
"""

from __future__ import annotations

import contextlib
import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from activitypub.domains import InvalidDomain
from activitypub.errors import FetchError
from activitypub.html import html_to_text, sanitize_html
from activitypub.http import ApDocument
from activitypub.origins import OriginRefusal, check_authority, check_object_origin, safe_url
from activitypub.origins import same_origin as _same_origin
from activitypub.vocab import ASObject
from fediverse_cop import streaming
from fediverse_cop.ids import new_id
from fediverse_cop.models import (
    Account,
    Favourite,
    Follow,
    Status,
    StatusEdit,
    StatusMention,
    StatusTag,
    Tag,
    Tombstone,
    Visibility,
)
from fediverse_cop.models.accounts import URI_LENGTH
from fediverse_cop.models.enums import NotificationType
from fediverse_cop.services import conversations, notifications, polls
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import ServiceError
from fediverse_cop.services.remote import (
    Federation,
    RemoteUnavailable,
    fetch_actor,
    host_of,
    is_suspended_domain,
)
from fediverse_cop.services.visibility import can_view, visibility_from_addressing

POST_TYPES: Final = frozenset({"Note", "Question", "Page", "Article"})
MAX_CONTENT_BYTES: Final = 100_000
MAX_SUMMARY_CHARS: Final = 5_000
MAX_NAME_CHARS: Final = 500
MAX_TAGS: Final = 100
MAX_MENTIONS: Final = 100
MAX_TAG_NAME: Final = 100
MAX_ATTACHMENTS: Final = 16
MAX_ATTACHMENT_DESCRIPTION: Final = 1_500
MAX_ANCESTOR_DEPTH: Final = 5
MAX_FETCHES_PER_ITEM: Final = 20
DELETED_BY_OWNER: Final = "deleted by its owner"

_VISIBLE_TO_ALL: Final = (Visibility.PUBLIC, Visibility.UNLISTED)
_LANGUAGE_RE: Final = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$")


class NotAccepted(Exception):
    """The activity is authentic but will not be applied; ``str()`` is the reason."""


@dataclass(slots=True)
class FetchBudget:
    """How many documents one inbox item may still fetch (ancestors, originals, authors)."""

    fetches: int = MAX_FETCHES_PER_ITEM

    def take(self) -> None:
        if self.fetches <= 0:
            raise NotAccepted("fetch budget exhausted")
        self.fetches -= 1


# -- converters: ActivityStreams → rows -------------------------------------------------------


def _bounded_uri(value: str | None) -> str | None:
    if value is None or len(value) > URI_LENGTH:
        return None
    return value


def _http_url(value: str | None) -> str | None:
    if value is None or len(value) > URI_LENGTH:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value


def cap_html(fragment: str, limit: int = MAX_CONTENT_BYTES) -> str:
    """Sanitized HTML of at most ``limit`` UTF-8 bytes (cut, then re-sanitized to close tags)."""
    cleaned = sanitize_html(fragment)
    cut = limit
    for _ in range(4):
        if len(cleaned.encode()) <= limit:
            return cleaned
        cleaned = sanitize_html(cleaned.encode()[:cut].decode(errors="ignore"))
        cut = max(0, cut - 512)
    return html.escape(html_to_text(cleaned).encode()[: limit // 2].decode(errors="ignore"))


def as_content_to_html(obj: ASObject) -> str:
    """The post's HTML: ``content`` (or ``contentMap``), else Misskey's ``_misskey_content``.

    A Page or Article (Lemmy, blogs) gets its ``name`` (the title) as a first
    paragraph, since a post has no title of its own.
    """
    content = obj.content
    if content is None:
        source = obj.get("_misskey_content")
        if isinstance(source, str) and source:
            paragraphs = html.escape(source[: MAX_CONTENT_BYTES * 2]).replace("\n", "<br>")
            content = f"<p>{paragraphs}</p>"
    body = content or ""
    title = html_to_text(obj.name or "")[:MAX_NAME_CHARS] if obj.has_type("Page", "Article") else ""
    if title:
        body = f"<p><strong>{html.escape(title)}</strong></p>{body}"
    return cap_html(body)


def as_summary_to_text(obj: ASObject) -> str:
    """The content warning, as plain text."""
    return html_to_text(obj.summary or "")[:MAX_SUMMARY_CHARS]


def as_language(obj: ASObject) -> str | None:
    """The post's language: the one key of ``contentMap`` (Mastodon), or Lemmy's and
    PieFed's ``language: {"identifier": "en"}`` (schema.org ``inLanguage``)."""
    languages = list(obj.content_map)
    if len(languages) == 1 and _LANGUAGE_RE.match(languages[0]):
        return languages[0][:16]
    declared = obj.data.get("language")
    identifier = declared.get("identifier") if isinstance(declared, dict) else None
    if isinstance(identifier, str) and identifier != "und" and _LANGUAGE_RE.match(identifier):
        return identifier[:16]
    return None


def as_attachments_to_dicts(obj: ASObject) -> list[dict[str, Any]]:
    """Attachments by reference: http(s) URLs on any host, at most MAX_ATTACHMENTS."""
    result: list[dict[str, Any]] = []
    for item in obj.attachments:
        if len(result) >= MAX_ATTACHMENTS:
            break
        url = _http_url(item.url)
        if url is None or item.type == "PropertyValue":
            continue
        entry: dict[str, Any] = {
            "url": url,
            "mediaType": item.media_type[:255] if item.media_type else None,
            "name": (item.name or "")[:MAX_ATTACHMENT_DESCRIPTION] or None,
            "width": item.width if item.width is not None and 0 < item.width < 1 << 20 else None,
            "height": item.height
            if item.height is not None and 0 < item.height < 1 << 20
            else None,
        }
        if item.blurhash and len(item.blurhash) <= 100:
            entry["blurhash"] = item.blurhash
        result.append(entry)
    return result


def as_hashtags_to_names(obj: ASObject) -> list[str]:
    """Hashtag names, lower-cased without ``#``, de-duplicated, at most MAX_TAGS."""
    names: dict[str, None] = {}
    for tag in obj.hashtags:
        name = (tag.hashtag_name or "").strip().lower()
        if not name or len(name) > MAX_TAG_NAME or any(c.isspace() for c in name):
            continue
        names.setdefault(name, None)
        if len(names) >= MAX_TAGS:
            break
    return list(names)


def as_mentions_to_uris(obj: ASObject) -> list[str]:
    """The ``href`` of each Mention, de-duplicated, at most MAX_MENTIONS."""
    uris: dict[str, None] = {}
    for tag in obj.mentions:
        href = _bounded_uri(tag.href)
        if href:
            uris.setdefault(href, None)
        if len(uris) >= MAX_MENTIONS:
            break
    return list(uris)


def _published(obj: ASObject, now: datetime) -> datetime:
    published = obj.published or now
    return min(published, now)


def _id_at(moment: datetime) -> int:
    return new_id(now_ms=max(0, int(moment.timestamp() * 1000)))


# Posts published in the same millisecond (or second, from servers that give no more)
# get random low bits: a clash with another post's id is drawn again this many times.
_ID_ATTEMPTS = 3


def as_note_to_status(obj: ASObject, author: Account, *, now: datetime) -> Status:
    """An unsaved Status for a remote Note/Question/Page/Article written by ``author``."""
    uri = _bounded_uri(obj.id)
    if uri is None:
        raise NotAccepted("the object has no usable id")
    to, cc = list(obj.to), list(obj.cc)
    published = _published(obj, now)
    audience = obj.audience
    return Status(
        id=_id_at(published),
        uri=uri,
        url=_bounded_uri(safe_url(obj.data)),
        account=author,
        local=False,
        object_type=obj.type or "Note",
        in_reply_to_uri=_bounded_uri(obj.in_reply_to),
        content=as_content_to_html(obj),
        summary=as_summary_to_text(obj),
        sensitive=obj.sensitive,
        visibility=visibility_from_addressing(to, cc, author.followers_uri),
        language=as_language(obj),
        to=to,
        cc=cc,
        audience=_bounded_uri(audience[0]) if audience else None,
        attachments=as_attachments_to_dicts(obj),
        published_at=published,
    )


# -- helpers ---------------------------------------------------------------------------------


def is_ours(fed: Federation, uri: str) -> bool:
    try:
        return host_of(uri).lower() == fed.ctx.domain.lower()
    except InvalidDomain:
        return False


async def _suspended_host(uri: str) -> bool:
    try:
        return await is_suspended_domain(host_of(uri))
    except InvalidDomain:
        return True


async def ensure_actor_may_post(actor: Account) -> None:
    """Refuse anything new from a suspended account or domain (a Delete is always fine)."""
    if actor.is_suspended:
        raise NotAccepted(f"{actor.uri} is suspended")
    if await _suspended_host(actor.uri):
        raise NotAccepted(f"the domain of {actor.uri} is suspended")


def _refusal(result: object) -> None:
    if isinstance(result, OriginRefusal):
        raise NotAccepted(result.reason)


async def _tombstoned(uri: str, author: Account) -> bool:
    """A Delete for ``uri`` came earlier from ``author`` (not from another actor)."""
    stone = await Tombstone.get_or_none(uri=uri)
    if stone is None:
        return False
    owner_id: int | None = stone.account_id  # type: ignore[attr-defined]
    return owner_id is None or owner_id == author.id


async def record_tombstone(uri: str, account: Account | None, now: datetime) -> None:
    if len(uri) > URI_LENGTH:
        return
    if await Tombstone.exists(uri=uri):
        return
    with contextlib.suppress(IntegrityError):  # recorded concurrently
        await Tombstone.create(uri=uri, account=account, deleted_at=now)


async def fetch_object(fed: Federation, uri: str, budget: FetchBudget) -> ApDocument:
    """Fetch ``uri`` from its own origin (never our own URIs, never suspended domains)."""
    if is_ours(fed, uri):
        raise NotAccepted(f"{uri} is ours and unknown")
    if await _suspended_host(uri):
        raise NotAccepted(f"{uri} is on a suspended domain")
    budget.take()
    try:
        return await fed.http.fetch_ap(uri, auth=fed.signer)
    except FetchError as exc:
        if exc.retryable:
            raise
        raise NotAccepted(f"cannot fetch {uri}: {exc}") from None


async def _author_of(fed: Federation, obj: ASObject, budget: FetchBudget) -> Account:
    author_uri = obj.attributed_to
    if author_uri is None or len(obj.attributed_to_ids) != 1:
        raise NotAccepted(f"{obj.id} has no single author")
    known = await Account.get_or_none(uri=author_uri)
    if known is not None:
        return known
    budget.take()
    try:
        return await fetch_actor(fed, author_uri)
    except RemoteUnavailable as exc:
        if exc.retryable:
            raise  # a timeout or a 5xx: the inbox worker tries the item again later
        raise NotAccepted(f"the author of {obj.id} is not available: {exc}") from None
    except ServiceError as exc:
        raise NotAccepted(f"the author of {obj.id} is not available: {exc}") from None


async def author_of(fed: Federation, obj: ASObject, budget: FetchBudget) -> Account:
    """The single author of a post, known or fetched within the budget."""
    return await _author_of(fed, obj, budget)


async def is_suspended_uri(uri: str) -> bool:
    """The host of ``uri`` is suspended (or ``uri`` has no usable host)."""
    return await _suspended_host(uri)


def fetched_post(document: ApDocument) -> ASObject:
    """A fetched document that must be a post, trusted because it came from its origin."""
    obj = ASObject(document.document)
    if not obj.has_type(*POST_TYPES):
        raise NotAccepted(f"{obj.id} is a {obj.type}, not a post")
    _refusal(check_object_origin(document.document, fetched_from=document.final_url))
    return obj


# -- Create ----------------------------------------------------------------------------------


async def store_post(
    fed: Federation, obj: ASObject, author: Account, *, budget: FetchBudget, depth: int = 0
) -> Status | None:
    """Store a post already checked to come from its origin and to be written by ``author``.

    Returns the stored status (the existing one when known: a second Create
    changes nothing) or None when a Delete for it came first.
    """
    uri = obj.require_id()
    existing = await Status.get_or_none(uri=uri)
    if existing is not None:
        return existing
    if await _tombstoned(uri, author):
        return None
    if author.is_suspended or await _suspended_host(uri):
        raise NotAccepted(f"{uri}: its author or domain is suspended")
    status = as_note_to_status(obj, author, now=utcnow())
    if status.in_reply_to_uri:
        status.in_reply_to = await resolve_parent(fed, status.in_reply_to_uri, budget, depth + 1)
    mentioned = await Account.filter(uri__in=as_mentions_to_uris(obj))
    names = as_hashtags_to_names(obj)
    for attempt in range(1, _ID_ATTEMPTS + 1):
        try:
            await _insert_post(status, obj, mentioned, names)
            break
        except IntegrityError:
            found = await Status.get_or_none(uri=uri)
            if found is not None:
                return found  # the same post, stored meanwhile
            if attempt == _ID_ATTEMPTS or not await Status.exists(id=status.id):
                raise
            # Another post published in the same millisecond drew the same low bits.
            status.id = _id_at(status.published_at)
    await conversations.record(status)
    await streaming.publish_status(status.id)
    for account in mentioned:
        await notifications.notify(account, author, NotificationType.MENTION, status)
    return status


async def _insert_post(
    status: Status, obj: ASObject, mentioned: list[Account], names: list[str]
) -> None:
    async with in_transaction():
        await status.save(force_create=True)
        if mentioned:
            await StatusMention.bulk_create(
                [StatusMention(status=status, account=account) for account in mentioned]
            )
        if names:
            known = {tag.name for tag in await Tag.filter(name__in=names)}
            missing = [Tag(name=name) for name in names if name not in known]
            if missing:
                await Tag.bulk_create(missing, ignore_conflicts=True)
            tags = await Tag.filter(name__in=names)
            await StatusTag.bulk_create([StatusTag(status=status, tag=tag) for tag in tags])
        if obj.has_type("Question"):
            await polls.store_remote_poll(status, obj)


async def resolve_parent(
    fed: Federation, uri: str, budget: FetchBudget, depth: int
) -> Status | None:
    """The parent of a reply: known, or fetched within the budget when public or unlisted."""
    known = await Status.get_or_none(uri=uri)
    if known is not None:
        return known
    if depth > MAX_ANCESTOR_DEPTH:
        return None
    try:
        obj = fetched_post(await fetch_object(fed, uri, budget))
        author = await _author_of(fed, obj, budget)
        visibility = visibility_from_addressing(obj.to, obj.cc, author.followers_uri)
        if visibility not in _VISIBLE_TO_ALL:
            return None
        return await store_post(fed, obj, author, budget=budget, depth=depth)
    except (NotAccepted, FetchError):
        return None


async def create_post(
    fed: Federation, actor: Account, activity: ASObject, *, budget: FetchBudget | None = None
) -> Status | None:
    """Create{Note|Question|Page|Article}: the post, embedded or fetched from its origin."""
    budget = budget or FetchBudget()
    await ensure_actor_may_post(actor)
    embedded = activity.object
    if embedded is not None and embedded.id is not None:
        obj = embedded
        _refusal(check_object_origin(obj.data, delivered_by_actor=actor.uri))
    else:
        object_id = activity.object_id
        if object_id is None:
            raise NotAccepted("Create without an object")
        if await Status.exists(uri=object_id):
            return await Status.get(uri=object_id)
        obj = fetched_post(await fetch_object(fed, object_id, budget))
    if not obj.has_type(*POST_TYPES):
        raise NotAccepted(f"Create of a {obj.type} is not a post")
    if obj.attributed_to_ids != (actor.uri,):
        raise NotAccepted(f"{obj.id} is attributed to {obj.attributed_to!r}, not to {actor.uri}")
    return await store_post(fed, obj, actor, budget=budget)


# -- Update ----------------------------------------------------------------------------------


async def update_post(actor: Account, activity: ASObject) -> Status | None:
    """Update of a known post by its author: a StatusEdit of the old version, then the new one.

    Unknown posts are not created. Visibility, addressing, mentions and tags stay as stored.
    """
    await ensure_actor_may_post(actor)
    obj = activity.object
    if obj is None or obj.id is None:
        raise NotAccepted("Update needs the embedded object")
    status = await Status.get_or_none(uri=obj.id, reblog_of_id=None).select_related("account")
    if status is None or status.deleted_at is not None:
        return None
    _refusal(
        check_authority(
            activity.data, stored={"id": status.uri, "attributedTo": status.account.uri}
        )
    )
    _refusal(check_object_origin(obj.data, delivered_by_actor=actor.uri))
    if obj.has_type("Question"):
        await polls.update_remote_poll(status, obj)  # new counts come without a new `updated`
    now = utcnow()
    edited_at = min(obj.updated or now, now)
    if status.edited_at is not None and edited_at <= status.edited_at:
        return status  # this version or a later one is already stored
    content = as_content_to_html(obj)
    summary = as_summary_to_text(obj)
    attachments = as_attachments_to_dicts(obj)
    if (content, summary, obj.sensitive, attachments) == (
        status.content,
        status.summary,
        status.sensitive,
        status.attachments,
    ):
        return status  # nothing changed (a repeat, or a poll's vote counts)
    async with in_transaction():
        await StatusEdit.create(
            id=_id_at(status.edited_at or status.published_at),
            status=status,
            content=status.content,
            summary=status.summary,
            sensitive=status.sensitive,
            created_at=status.edited_at or status.published_at,
        )
        status.content = content
        status.summary = summary
        status.sensitive = obj.sensitive
        status.attachments = attachments
        status.edited_at = edited_at
        await status.save(
            update_fields=["content", "summary", "sensitive", "attachments", "edited_at"]
        )
    await streaming.publish_status_update(status.id)
    boosts = Status.filter(reblog_of_id=status.id, deleted_at=None)
    boosters = await boosts.values_list("account_id", flat=True)
    likers = await Favourite.filter(status_id=status.id).values_list("account_id", flat=True)
    for account in await Account.filter(id__in=[*boosters, *likers], local=True):
        await notifications.notify(account, actor, NotificationType.UPDATE, status)
    return status


# -- Delete ----------------------------------------------------------------------------------


async def delete_object(fed: Federation, actor: Account, activity: ASObject) -> None:
    """Delete of a post (or of the actor itself). Only the owner; unknown ids leave a Tombstone."""
    object_id = activity.object_id
    if object_id is None:
        raise NotAccepted("Delete without an object")
    now = utcnow()
    if object_id == actor.uri:
        await delete_actor(actor, now)
        return
    if await Account.exists(uri=object_id):
        raise NotAccepted(f"{actor.uri} may not Delete {object_id}: only an actor deletes itself")
    status = await Status.get_or_none(uri=object_id).select_related("account")
    if status is None:
        if _same_origin(object_id, actor.uri) and not is_ours(fed, object_id):
            await record_tombstone(object_id, actor, now)
        return
    _refusal(
        check_authority(
            activity.data,
            stored={"id": status.uri, "attributedTo": status.account.uri},
        )
    )
    if status.deleted_at is None:
        async with in_transaction():
            await Status.filter(id=status.id).update(deleted_at=now)
            await Status.filter(reblog_of_id=status.id, deleted_at=None).update(deleted_at=now)
        await streaming.publish_delete(status.id)
    await record_tombstone(status.uri, actor, now)


async def delete_actor(actor: Account, now: datetime) -> None:
    """The actor deleted itself: its posts are deleted and the account is marked as gone."""
    if actor.local:
        raise NotAccepted("local accounts are not deleted from outside")
    async with in_transaction():
        await Status.filter(account_id=actor.id, deleted_at=None).update(deleted_at=now)
        # Its follows end too: its server no longer counts as an audience of anyone.
        await Follow.filter(Q(account_id=actor.id) | Q(target_id=actor.id)).delete()
    if not actor.is_suspended:
        actor.suspend(DELETED_BY_OWNER, now)
        await actor.save(update_fields=["suspended_at", "suspension_reason"])


# -- Announce --------------------------------------------------------------------------------


async def _original_of(
    fed: Federation, actor: Account, activity: ASObject, budget: FetchBudget
) -> Status | None:
    """The announced post: known, embedded by its own origin, or fetched from its origin."""
    object_id = activity.object_id
    if object_id is None:
        raise NotAccepted("Announce without an object")
    known = await Status.get_or_none(uri=object_id)
    if known is not None:
        if known.reblog_of_id is not None:  # type: ignore[attr-defined]
            raise NotAccepted("an Announce of an Announce is not followed")
        return known
    if is_ours(fed, object_id):
        raise NotAccepted(f"{object_id} is not one of our posts")
    embedded = activity.object
    obj: ASObject | None = None
    if (
        embedded is not None
        and embedded.id == object_id
        and embedded.has_type(*POST_TYPES)
        and not isinstance(
            check_object_origin(embedded.data, delivered_by_actor=actor.uri), OriginRefusal
        )
    ):
        obj = embedded  # delivered by an actor of its own origin
    if obj is None:
        document = await fetch_object(fed, object_id, budget)
        if ASObject(document.document).has_type("Announce"):
            raise NotAccepted("an Announce of an Announce is not followed")
        obj = fetched_post(document)
    author = await _author_of(fed, obj, budget)
    if visibility_from_addressing(obj.to, obj.cc, author.followers_uri) not in _VISIBLE_TO_ALL:
        raise NotAccepted(f"{object_id} is not public: it cannot be boosted")
    return await store_post(fed, obj, author, budget=budget)


async def announce_post(
    fed: Federation, actor: Account, activity: ASObject, *, budget: FetchBudget | None = None
) -> Status | None:
    """Announce of a post (a boost): the original from its origin, then the boost row."""
    budget = budget or FetchBudget()
    await ensure_actor_may_post(actor)
    announce_id = activity.require_id()
    if (embedded := activity.object) is not None and embedded.has_type("Announce"):
        raise NotAccepted("an Announce of an Announce is not followed")
    existing = await Status.get_or_none(uri=announce_id)
    if existing is not None:
        return existing
    if await _tombstoned(announce_id, actor):
        return None  # undone before it arrived
    original = await _original_of(fed, actor, activity, budget)
    if original is None or original.deleted_at is not None:
        return None
    if original.visibility not in _VISIBLE_TO_ALL:
        raise NotAccepted(f"{original.uri} is not public: it cannot be boosted")
    previous = await Status.get_or_none(account_id=actor.id, reblog_of_id=original.id)
    if previous is not None:
        return previous  # one boost per account and post
    owner = await Account.get(id=original.account_id)  # type: ignore[attr-defined]
    await notifications.notify(owner, actor, NotificationType.REBLOG, original)
    now = utcnow()
    published = _published(activity, now)
    to, cc = list(activity.to), list(activity.cc)
    try:
        boost = await Status.create(
            id=_id_at(published),
            uri=_bounded_uri(announce_id) or "",
            account=actor,
            local=False,
            object_type="Announce",
            reblog_of=original,
            visibility=visibility_from_addressing(to, cc, actor.followers_uri),
            to=to,
            cc=cc,
            published_at=published,
        )
    except IntegrityError:
        return await Status.get(uri=announce_id)
    await streaming.publish_status(boost.id)
    return boost


async def undo_announce(actor: Account, announce_id: str) -> bool:
    """Remove a boost; only its author. False when there is no such boost."""
    boost = await Status.get_or_none(uri=announce_id).select_related("account")
    if boost is None or boost.reblog_of_id is None:  # type: ignore[attr-defined]
        if boost is None and _same_origin(announce_id, actor.uri):
            await record_tombstone(announce_id, actor, utcnow())
        return False
    if boost.account.uri != actor.uri:
        raise NotAccepted("only the booster can undo a boost")
    await boost.delete()
    await streaming.publish_delete(boost.id, account_id=actor.id)
    await record_tombstone(announce_id, actor, utcnow())
    return True


# -- Like ------------------------------------------------------------------------------------


async def like_post(actor: Account, activity: ASObject) -> Favourite | None:
    """Like of a known post the actor may see: a Favourite (one per account and post)."""
    await ensure_actor_may_post(actor)
    like_id = activity.require_id()
    object_id = activity.object_id
    if object_id is None:
        raise NotAccepted("Like without an object")
    status = await Status.get_or_none(uri=object_id, deleted_at=None, reblog_of_id=None)
    if status is None:
        return None
    if not await can_view(status, actor):
        raise NotAccepted(f"{actor.uri} cannot see {object_id}")
    existing = await Favourite.get_or_none(account_id=actor.id, status_id=status.id)
    if existing is not None:
        return existing
    owner = await Account.get(id=status.account_id)  # type: ignore[attr-defined]
    await notifications.notify(owner, actor, NotificationType.FAVOURITE, status)
    try:
        return await Favourite.create(account=actor, status=status, uri=_bounded_uri(like_id))
    except IntegrityError:
        return await Favourite.get_or_none(account_id=actor.id, status_id=status.id)


async def undo_like(actor: Account, like_id: str, object_id: str | None = None) -> bool:
    """Remove a favourite; only its author. False when there is none."""
    favourite = await Favourite.get_or_none(uri=like_id).select_related("account")
    if favourite is None and object_id is not None:
        favourite = await Favourite.get_or_none(
            account_id=actor.id, status__uri=object_id
        ).select_related("account")
    if favourite is None:
        return False
    if favourite.account.uri != actor.uri:
        raise NotAccepted("only the author of a like can undo it")
    await favourite.delete()
    return True
