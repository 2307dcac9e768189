"""Local posting: write, reply, edit, delete, boost and favourite, federated as Mastodon does.

Every change is stored first and then handed to the outbox as one job: the
``Create``/``Update``/``Delete`` goes to the author's followers collection (not for
direct posts), to every mentioned actor, and to the author of the post replied to.
Addressing follows the visibility (see :mod:`fediverse_cop.services.visibility`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import vocab
from activitypub.html import render_plain_text
from activitypub.uris import Kind, LocalURIs
from fediverse_cop import streaming
from fediverse_cop.converters import local_status_to_as_note
from fediverse_cop.ids import new_id
from fediverse_cop.models import (
    Account,
    Bookmark,
    Favourite,
    IdempotencyKey,
    MediaAttachment,
    Poll,
    Status,
    StatusEdit,
    StatusMention,
    StatusPin,
    StatusTag,
    Tag,
    Tombstone,
    Visibility,
)
from fediverse_cop.models.enums import NotificationType
from fediverse_cop.services import conversations, groups, notifications
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.follows import activity_uri
from fediverse_cop.services.remote import Federation, resolve_handle
from fediverse_cop.services.visibility import PUBLIC, addressing, can_view
from outbox.enqueue import enqueue

MAX_TEXT = 5000
MAX_MEDIA = 4
POLL_MAX_OPTIONS = 4
POLL_MAX_OPTION_CHARS = 50
POLL_MIN_EXPIRATION = 300
POLL_MAX_EXPIRATION = 2_629_746
MAX_PINS = 5
IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class PollDraft:
    options: tuple[str, ...]
    expires_in: int
    multiple: bool = False
    hide_totals: bool = False

    def check(self) -> None:
        if not 2 <= len(self.options) <= POLL_MAX_OPTIONS:
            raise Invalid(f"Validation failed: a poll has 2 to {POLL_MAX_OPTIONS} options")
        if any(not o.strip() or len(o) > POLL_MAX_OPTION_CHARS for o in self.options):
            raise Invalid(
                f"Validation failed: poll options have 1 to {POLL_MAX_OPTION_CHARS} characters"
            )
        if len(set(self.options)) != len(self.options):
            raise Invalid("Validation failed: poll options must be different")
        if not POLL_MIN_EXPIRATION <= self.expires_in <= POLL_MAX_EXPIRATION:
            raise Invalid("Validation failed: the poll duration is out of range")


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    visibility: Visibility = Visibility.PUBLIC
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to: Status | None = None
    # A community (Group account) to post into; mentioning one does the same.
    community: Account | None = None
    # Uploads of the author not attached to a post yet, in order.
    media_ids: tuple[int, ...] = ()
    poll: PollDraft | None = None


async def _mentioned_accounts(fed: Federation, text: str) -> dict[tuple[str, str | None], Account]:
    """Resolve every ``@user`` and ``@user@host`` of the text (unknown ones stay text)."""
    wanted: list[tuple[str, str | None]] = []

    def collect(user: str, domain: str | None) -> str | None:
        wanted.append((user, domain))
        return None

    render_plain_text(text, resolve_mention=collect, resolve_hashtag=lambda tag: "")
    found: dict[tuple[str, str | None], Account] = {}
    for user, domain in dict.fromkeys(wanted):
        handle = user if domain is None else f"{user}@{domain}"
        if domain is None:
            handle = f"{user}@{fed.ctx.domain}"
        try:
            found[(user, domain)] = await resolve_handle(fed, handle)
        except (NotFound, Invalid):
            continue
    return found


async def post(
    fed: Federation, author: Account, draft: Draft, *, idempotency_key: str | None = None
) -> Status:
    """Publish a post. With ``idempotency_key`` the key is recorded with it (see
    :func:`post_once`); a key already taken raises IntegrityError and nothing is written."""
    if not author.local or author.is_suspended:
        raise Invalid("only active local accounts can post")
    _check_content(draft.text, draft.media_ids, draft.poll)
    media = await _attachable_media(author, draft.media_ids)
    parent = draft.in_reply_to
    if parent is not None and not await can_view(parent, author):
        raise NotFound("the post replied to does not exist")
    mentioned = await _mentioned_accounts(fed, draft.text)
    rendered = render_plain_text(
        draft.text,
        resolve_mention=lambda user, domain: (
            (mentioned[(user, domain)].url or mentioned[(user, domain)].uri)
            if (user, domain) in mentioned
            else None
        ),
        resolve_hashtag=lambda tag: fed.ctx.uris.build(Kind.TAG, name=tag.lower()),
    )
    community = await groups.community_for_post(author, draft.community, mentioned.values(), parent)
    recipients = {account.uri: account for account in mentioned.values()}
    if community is not None:
        recipients.setdefault(community.uri, community)
    if parent is not None:
        await parent.fetch_related("account")
        recipients.setdefault(parent.account.uri, parent.account)
    recipients.pop(author.uri, None)
    to, cc = addressing(draft.visibility, author.followers_uri or "", recipients)
    visibility = draft.visibility
    if community is not None:
        to, cc = groups.community_addressing(to, cc, community)
        members_only = await groups.members_only_addressing(community, recipients)
        if members_only is not None:
            visibility, to, cc, recipients = members_only
    # The post and its delivery job are written together, or not at all.
    async with in_transaction():
        status_id = new_id()
        status = await Status.create(
            id=status_id,
            uri=fed.ctx.uris.build(Kind.OBJECT, id=str(status_id)),
            account=author,
            local=True,
            in_reply_to=parent,
            in_reply_to_uri=parent.uri if parent else None,
            content=rendered.html,
            text=draft.text,
            summary=draft.spoiler_text,
            sensitive=draft.sensitive or bool(draft.spoiler_text),
            visibility=visibility,
            language=draft.language,
            to=to,
            cc=cc,
            audience=community.uri if community is not None else None,
            object_type="Question" if draft.poll is not None else "Note",
            attachments=_documents(fed.ctx, media),
            published_at=utcnow(),
        )
        status.url = status.uri
        await status.save(update_fields=["url"])
        if idempotency_key is not None:
            await IdempotencyKey.create(account=author, key=idempotency_key, status=status)
        await _attach(status, media)
        if draft.poll is not None:
            await _create_poll(status, draft.poll)
        for account in recipients.values():
            await StatusMention.get_or_create(status=status, account=account)
            await notifications.notify(account, author, NotificationType.MENTION, status)
        for name in dict.fromkeys(tag.lower() for tag in rendered.hashtags):
            tag, _ = await Tag.get_or_create(name=name)
            await StatusTag.get_or_create(status=status, tag=tag)
        note = await as_note(fed, status, author)
        create = vocab.create(
            id=fed.ctx.uris.build(Kind.OBJECT_ACTIVITY, id=str(status.id)),
            actor=author.uri,
            object=note,
            to=to,
            cc=cc,
            published=status.published_at,
        )
        await enqueue(create, author, _audience(author, visibility, recipients.values()))
        if community is not None:
            await groups.after_local_post(fed, status, create)
    await conversations.record(status)
    await streaming.publish_status(status.id)
    return status


async def as_note(fed: Federation, status: Status, author: Account) -> dict[str, object]:
    """The Note of a local post, with its mentions and hashtags loaded."""
    return (await as_notes(fed.ctx.uris, [status], author))[0]


async def as_notes(
    uris: LocalURIs, page: Sequence[Status], author: Account
) -> list[dict[str, object]]:
    """Notes of several local posts of one author, in two queries whatever their number."""
    ids = [s.id for s in page]
    polls = {p.status_id: p for p in await Poll.filter(status_id__in=ids)}  # type: ignore[attr-defined]
    mentions: dict[int, list[Account]] = defaultdict(list)
    for mention in await StatusMention.filter(status_id__in=ids).select_related("account"):
        mentions[mention.status_id].append(mention.account)  # type: ignore[attr-defined]
    tags: dict[int, list[str]] = defaultdict(list)
    for row in await StatusTag.filter(status_id__in=ids).select_related("tag").order_by("id"):
        tags[row.status_id].append(row.tag.name)  # type: ignore[attr-defined]
    return [
        local_status_to_as_note(
            status,
            author,
            uris,
            mentions=mentions[status.id],
            tags=tags[status.id],
            poll=polls.get(status.id),
        )
        for status in page
    ]


async def outbox_activities(
    uris: LocalURIs, author: Account, page: Sequence[Status]
) -> list[dict[str, object]]:
    """The public activities of an outbox page: a Create per post, an Announce per boost.

    Boosts must come with ``reblog_of`` fetched (``select_related("reblog_of")``).
    """
    posts = [s for s in page if s.reblog_of_id is None]  # type: ignore[attr-defined]
    notes = {str(note["id"]): note for note in await as_notes(uris, posts, author)}
    activities: list[dict[str, object]] = []
    for status in page:
        original = status.reblog_of if status.reblog_of_id is not None else None  # type: ignore[attr-defined]
        if original is not None:
            activities.append(
                vocab.announce(
                    id=status.uri,
                    actor=author.uri,
                    object=original.uri,
                    to=status.to,
                    cc=status.cc,
                    published=status.published_at,
                )
            )
            continue
        activities.append(
            vocab.create(
                id=uris.build(Kind.OBJECT_ACTIVITY, id=str(status.id)),
                actor=author.uri,
                object=notes[status.uri],
                to=status.to,
                cc=status.cc,
                published=status.published_at,
            )
        )
    return activities


def _audience(author: Account, visibility: Visibility, mentioned: Iterable[Account]) -> list[str]:
    uris = [a.uri for a in mentioned if not a.local]
    if visibility is not Visibility.DIRECT and author.followers_uri:
        uris.insert(0, author.followers_uri)
    return uris


async def _own_local_status(author: Account, status: Status) -> None:
    if not status.local or status.account_id != author.id:  # type: ignore[attr-defined]
        raise NotFound("no such post of yours")
    if status.deleted_at is not None:
        raise NotFound("the post was deleted")


async def _recipients(status: Status) -> list[Account]:
    return [m.account for m in await StatusMention.filter(status=status).select_related("account")]


async def _send_about(status: Status, author: Account, activity: dict[str, object]) -> None:
    """Send an activity about a post to the post's audience, after what came before it."""
    recipients = _audience(author, status.visibility, await _recipients(status))
    await enqueue(activity, author, recipients, ordering_key=status.uri)


class Keep(Enum):
    """What an edit leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


async def edit(
    fed: Federation,
    author: Account,
    status: Status,
    text: str,
    *,
    spoiler_text: str | None = None,
    sensitive: bool | None = None,
    language: str | Keep | None = KEEP,
    media_ids: Sequence[int] | Keep = KEEP,
    poll: PollDraft | Keep | None = KEEP,
) -> Status:
    """Change a post; the previous version goes to the edit history.

    ``media_ids`` is the new, complete list of attachments (uploads of the author
    not attached elsewhere); ``poll`` replaces the poll (None removes it; a poll
    whose options did not change keeps its votes).
    """
    await _own_local_status(author, status)
    if status.reblog_of_id is not None:  # type: ignore[attr-defined]
        raise NotFound("no such post of yours")
    if isinstance(media_ids, Keep):
        current: list[Any] = list(
            await MediaAttachment.filter(status_id=status.id).values_list("id", flat=True)
        )
        _check_content(text, current or list(status.attachments), None)
    else:
        _check_content(text, tuple(media_ids), poll if isinstance(poll, PollDraft) else None)
    media = (
        None
        if isinstance(media_ids, Keep)
        else await _attachable_media(author, tuple(media_ids), status=status)
    )
    async with in_transaction():
        await _edit(
            fed,
            author,
            status,
            text,
            spoiler_text=spoiler_text,
            sensitive=sensitive,
            language=language,
            media=media,
            poll=poll,
        )
    await streaming.publish_status_update(status.id)
    return status


async def _edit(
    fed: Federation,
    author: Account,
    status: Status,
    text: str,
    *,
    spoiler_text: str | None,
    sensitive: bool | None,
    language: str | Keep | None = KEEP,
    media: list[MediaAttachment] | None = None,
    poll: PollDraft | Keep | None = KEEP,
) -> None:
    await StatusEdit.create(
        status=status,
        content=status.content,
        summary=status.summary,
        sensitive=status.sensitive,
        created_at=status.edited_at or status.published_at,
    )
    # Mentions keep their links (the accounts mentioned when the post was written).
    known = {
        (a.username.lower(), a.domain.lower() if a.domain else None): a
        for a in await _recipients(status)
    }

    def mention_href(user: str, domain: str | None) -> str | None:
        host = None if domain is None or domain.lower() == fed.ctx.domain.lower() else domain
        account = known.get((user.lower(), host.lower() if host else None))
        return (account.url or account.uri) if account is not None else None

    rendered = render_plain_text(
        text,
        resolve_mention=mention_href,
        resolve_hashtag=lambda tag: fed.ctx.uris.build(Kind.TAG, name=tag.lower()),
    )
    status.text = text
    status.content = rendered.html
    if spoiler_text is not None:
        status.summary = spoiler_text
    if sensitive is not None:
        status.sensitive = sensitive
    if not isinstance(language, Keep):
        status.language = language
    if media is not None:
        await (
            MediaAttachment.filter(status_id=status.id)
            .exclude(id__in=[m.id for m in media])
            .update(status_id=None)
        )
        await _attach(status, media)
        status.attachments = _documents(fed.ctx, media)
    if not isinstance(poll, Keep):
        await _replace_poll(status, poll)
    status.edited_at = utcnow()
    await status.save()
    await StatusTag.filter(status_id=status.id).delete()
    for name in dict.fromkeys(tag.lower() for tag in rendered.hashtags):
        tag, _ = await Tag.get_or_create(name=name)
        await StatusTag.get_or_create(status=status, tag=tag)
    note = await as_note(fed, status, author)
    update = vocab.update(
        id=activity_uri(fed.ctx), actor=author.uri, object=note, to=status.to, cc=status.cc
    )
    await _send_about(status, author, update)
    await groups.after_local_change(fed, status, update)


async def delete(fed: Federation, author: Account, status: Status) -> Status:
    """Delete a post; peers get a Delete with a Tombstone, our URL answers 410."""
    await _own_local_status(author, status)
    async with in_transaction():
        now = utcnow()
        status.deleted_at = now
        await status.save(update_fields=["deleted_at"])
        await Tombstone.get_or_create(
            uri=status.uri, defaults={"account": author, "deleted_at": now}
        )
        deletion = vocab.delete(
            id=f"{status.uri}#delete",
            actor=author.uri,
            object=vocab.tombstone(id=status.uri, former_type=status.object_type, deleted=now),
            to=status.to,
            cc=status.cc,
        )
        await _send_about(status, author, deletion)
        await groups.after_local_change(fed, status, deletion)
    await streaming.publish_delete(status.id)
    return status


async def favourite(fed: Federation, account: Account, status: Status) -> Favourite:
    if not await can_view(status, account):
        raise NotFound("no such post")
    await status.fetch_related("account")
    existing = await Favourite.get_or_none(account=account, status=status)
    if existing is not None:
        return existing
    row = await Favourite.create(account=account, status=status, uri=activity_uri(fed.ctx))
    await notifications.notify(status.account, account, NotificationType.FAVOURITE, status)
    if not status.account.local:
        like = vocab.like(
            id=row.uri or "", actor=account.uri, object=status.uri, to=[status.account.uri]
        )
        await enqueue(like, account, [status.account.uri], ordering_key=status.uri)
    await groups.after_local_like(fed, account, status, row)
    return row


async def reblog(
    fed: Federation,
    account: Account,
    status: Status,
    visibility: Visibility = Visibility.PUBLIC,
) -> Status:
    """Boost a public or unlisted post (never a boost, never a narrower post).

    The boost itself is public, unlisted or for the booster's followers only."""
    if visibility is Visibility.DIRECT:
        raise Invalid("a boost cannot be direct")
    if status.reblog_of_id is not None:  # type: ignore[attr-defined]
        raise Invalid("a boost cannot be boosted")
    if status.visibility not in (Visibility.PUBLIC, Visibility.UNLISTED) or status.deleted_at:
        raise NotFound("no such post")
    existing = await Status.get_or_none(account=account, reblog_of=status, deleted_at=None)
    if existing is not None:
        return existing
    await status.fetch_related("account")
    boost_id = new_id()
    to, cc = addressing(visibility, account.followers_uri or "", [status.account.uri])
    boost = await Status.create(
        id=boost_id,
        uri=fed.ctx.uris.build(Kind.ACTIVITY, id=str(boost_id)),
        account=account,
        local=True,
        reblog_of=status,
        visibility=visibility,
        to=to,
        cc=cc,
        published_at=utcnow(),
    )
    announce = vocab.announce(
        id=boost.uri,
        actor=account.uri,
        object=status.uri,
        to=to,
        cc=cc,
        published=boost.published_at,
    )
    recipients = [account.followers_uri or ""]
    if not status.account.local:
        recipients.append(status.account.uri)
    await enqueue(announce, account, recipients, ordering_key=status.uri)
    await notifications.notify(status.account, account, NotificationType.REBLOG, status)
    await streaming.publish_status(boost.id)
    return boost


# -- content checks, media and polls ----------------------------------------------------------


def _check_content(text: str, media_ids: Sequence[Any], poll: PollDraft | None) -> None:
    if len(text) > MAX_TEXT:
        raise Invalid(f"Validation failed: Text character limit of {MAX_TEXT} exceeded")
    if not text.strip() and not media_ids:
        raise Invalid("Validation failed: Text can't be blank")
    if len(media_ids) > MAX_MEDIA:
        raise Invalid(f"Validation failed: a post has at most {MAX_MEDIA} attachments")
    if poll is not None:
        if media_ids:
            raise Invalid("Validation failed: a post cannot have both a poll and attachments")
        poll.check()


async def _attachable_media(
    author: Account, ids: Sequence[int], *, status: Status | None = None
) -> list[MediaAttachment]:
    """The author's uploads with these ids, in this order, not attached to another post."""
    if not ids:
        return []
    if len(set(ids)) != len(ids):
        raise Invalid("Validation failed: an attachment is given twice")
    rows = {m.id: m for m in await MediaAttachment.filter(id__in=list(ids), account_id=author.id)}
    own = status.id if status is not None else None
    for media_id in ids:
        row = rows.get(media_id)
        if row is None or row.status_id not in (None, own):  # type: ignore[attr-defined]
            raise Invalid(f"Validation failed: no attachment {media_id} to use")
    return [rows[i] for i in ids]


def _media_url(ctx: ServerContext, name: str) -> str:
    return f"{ctx.settings.base_url}/media/{name}"


def _documents(ctx: ServerContext, media: Sequence[MediaAttachment]) -> list[dict[str, Any]]:
    """Uploads as the ActivityStreams ``Document``s a post carries to other servers."""
    documents: list[dict[str, Any]] = []
    for m in media:
        url = _media_url(ctx, m.file_name) if m.file_name else m.remote_url
        if not url:
            continue
        original = m.meta.get("original") if isinstance(m.meta, dict) else None
        size: dict[str, Any] = original if isinstance(original, dict) else {}
        document: dict[str, Any] = {
            "type": "Document",
            "mediaType": m.content_type,
            "url": url,
            "name": m.description or None,
            "blurhash": m.blurhash,
            "width": size.get("width"),
            "height": size.get("height"),
        }
        if m.focus_x or m.focus_y:
            document["focalPoint"] = [m.focus_x, m.focus_y]
        documents.append(document)
    return documents


async def _attach(status: Status, media: Sequence[MediaAttachment]) -> None:
    for position, m in enumerate(media):
        await MediaAttachment.filter(id=m.id).update(status_id=status.id, position=position)


async def _create_poll(status: Status, draft: PollDraft) -> Poll:
    return await Poll.create(
        status=status,
        options=[{"title": option, "votes_count": 0} for option in draft.options],
        multiple=draft.multiple,
        hide_totals=draft.hide_totals,
        expires_at=utcnow() + timedelta(seconds=draft.expires_in),
    )


async def _replace_poll(status: Status, draft: PollDraft | None) -> None:
    existing = await Poll.get_or_none(status_id=status.id)
    if draft is None:
        if existing is not None:
            await existing.delete()
        status.object_type = "Note"
        return
    status.object_type = "Question"
    if existing is not None:
        same = [str(o.get("title")) for o in existing.options] == list(draft.options)
        if same and existing.multiple == draft.multiple:
            return
        await existing.delete()
    await _create_poll(status, draft)


async def check_draft(author: Account, draft: Draft) -> None:
    """What :func:`post` would refuse in ``draft``'s content and uploads, without posting
    (scheduled posts are checked when they are scheduled)."""
    _check_content(draft.text, draft.media_ids, draft.poll)
    await _attachable_media(author, draft.media_ids)


# -- idempotency ------------------------------------------------------------------------------


async def post_once(
    fed: Federation, author: Account, draft: Draft, idempotency_key: str | None
) -> Status:
    """:func:`post`, except that the same ``Idempotency-Key`` from the same account within
    24 hours gives the post made the first time instead of a new one."""
    if idempotency_key is None:
        return await post(fed, author, draft)
    key = idempotency_key[:255]
    found = await _idempotent(author, key)
    if found is not None:
        return found
    try:
        return await post(fed, author, draft, idempotency_key=key)
    except IntegrityError:
        # The same request arrived twice at once: the first one wins.
        again = await _idempotent(author, key)
        if again is None:
            raise
        return again


async def _idempotent(author: Account, key: str) -> Status | None:
    row = await IdempotencyKey.get_or_none(account_id=author.id, key=key).select_related("status")
    if row is None:
        return None
    if row.created_at >= utcnow() - IDEMPOTENCY_WINDOW and row.status.deleted_at is None:
        return row.status
    await row.delete()
    return None


# -- undoing, bookmarks and pins --------------------------------------------------------------


async def unfavourite(fed: Federation, account: Account, status: Status) -> None:
    """Take a favourite back; a remote author gets an Undo of the Like."""
    row = await Favourite.get_or_none(account_id=account.id, status_id=status.id)
    if row is None:
        return
    await status.fetch_related("account")
    await row.delete()
    await notifications.withdraw(status.account, account, NotificationType.FAVOURITE, status)
    if not status.account.local and row.uri:
        like = vocab.like(id=row.uri, actor=account.uri, object=status.uri, to=[status.account.uri])
        undo = vocab.undo(
            id=f"{row.uri}#undo", actor=account.uri, object=like, to=[status.account.uri]
        )
        await enqueue(undo, account, [status.account.uri], ordering_key=status.uri)


async def unreblog(fed: Federation, account: Account, status: Status) -> None:
    """Take a boost back: the boost goes, followers get an Undo of the Announce."""
    boost = await Status.get_or_none(account_id=account.id, reblog_of_id=status.id, deleted_at=None)
    if boost is None:
        return
    await status.fetch_related("account")
    announce = vocab.announce(
        id=boost.uri,
        actor=account.uri,
        object=status.uri,
        to=boost.to,
        cc=boost.cc,
        published=boost.published_at,
    )
    undo = vocab.undo(
        id=f"{boost.uri}#undo", actor=account.uri, object=announce, to=boost.to, cc=boost.cc
    )
    recipients = [account.followers_uri or ""]
    if not status.account.local:
        recipients.append(status.account.uri)
    async with in_transaction():
        await Tombstone.get_or_create(
            uri=boost.uri, defaults={"account": account, "deleted_at": utcnow()}
        )
        await boost.delete()
        await enqueue(undo, account, recipients, ordering_key=status.uri)
    await streaming.publish_delete(boost.id, account_id=account.id)
    await notifications.withdraw(status.account, account, NotificationType.REBLOG, status)


async def bookmark(account: Account, status: Status) -> None:
    await Bookmark.get_or_create(account=account, status=status)


async def unbookmark(account: Account, status: Status) -> None:
    await Bookmark.filter(account_id=account.id, status_id=status.id).delete()


async def pin(fed: Federation, account: Account, status: Status) -> None:
    """Pin one's own public or unlisted post to one's profile (at most MAX_PINS)."""
    own = status.account_id == account.id  # type: ignore[attr-defined]
    if not own or status.reblog_of_id is not None:  # type: ignore[attr-defined]
        raise Invalid("Validation failed: Only your own posts can be pinned")
    if status.visibility not in (Visibility.PUBLIC, Visibility.UNLISTED):
        raise Invalid("Validation failed: Only public and unlisted posts can be pinned")
    if await StatusPin.exists(account_id=account.id, status_id=status.id):
        return
    pinned = await StatusPin.filter(account_id=account.id, status__deleted_at=None).count()
    if pinned >= MAX_PINS:
        raise Invalid("Validation failed: You have already pinned the maximum number of posts")
    try:
        await StatusPin.create(account=account, status=status)
    except IntegrityError:
        return
    await _send_featured_change(fed, account, status, add=True)


async def unpin(fed: Federation, account: Account, status: Status) -> None:
    removed = await StatusPin.filter(account_id=account.id, status_id=status.id).delete()
    if removed:
        await _send_featured_change(fed, account, status, add=False)


async def _send_featured_change(
    fed: Federation, account: Account, status: Status, *, add: bool
) -> None:
    """Followers hear of a pin as an Add to (an unpin as a Remove from) the featured collection."""
    if not account.featured_uri or not account.followers_uri:
        return
    change = vocab.add if add else vocab.remove
    activity = change(
        id=activity_uri(fed.ctx),
        actor=account.uri,
        object=status.uri,
        target=account.featured_uri,
        to=[PUBLIC],
        cc=[account.followers_uri],
    )
    await enqueue(activity, account, [account.followers_uri], ordering_key=account.featured_uri)
