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

from tortoise.transactions import in_transaction

from activitypub import vocab
from activitypub.html import render_plain_text
from activitypub.uris import Kind, LocalURIs
from fediverse_cop.converters import local_status_to_as_note
from fediverse_cop.ids import new_id
from fediverse_cop.models import (
    Account,
    Favourite,
    Status,
    StatusEdit,
    StatusMention,
    StatusTag,
    Tag,
    Tombstone,
    Visibility,
)
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.follows import activity_uri
from fediverse_cop.services.remote import Federation, resolve_handle
from fediverse_cop.services.visibility import PUBLIC, addressing, can_view
from outbox.enqueue import enqueue

MAX_TEXT = 5000


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    visibility: Visibility = Visibility.PUBLIC
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to: Status | None = None


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


async def post(fed: Federation, author: Account, draft: Draft) -> Status:
    if not author.local or author.is_suspended:
        raise Invalid("only active local accounts can post")
    if not draft.text.strip():
        raise Invalid("a post needs text")
    if len(draft.text) > MAX_TEXT:
        raise Invalid(f"a post has at most {MAX_TEXT} characters")
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
    recipients = {account.uri: account for account in mentioned.values()}
    if parent is not None:
        await parent.fetch_related("account")
        recipients.setdefault(parent.account.uri, parent.account)
    recipients.pop(author.uri, None)
    to, cc = addressing(draft.visibility, author.followers_uri or "", recipients)
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
            visibility=draft.visibility,
            language=draft.language,
            to=to,
            cc=cc,
            published_at=utcnow(),
        )
        status.url = status.uri
        await status.save(update_fields=["url"])
        for account in recipients.values():
            await StatusMention.get_or_create(status=status, account=account)
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
        await enqueue(create, author, _audience(author, draft.visibility, recipients.values()))
    return status


async def as_note(fed: Federation, status: Status, author: Account) -> dict[str, object]:
    """The Note of a local post, with its mentions and hashtags loaded."""
    return (await as_notes(fed.ctx.uris, [status], author))[0]


async def as_notes(
    uris: LocalURIs, page: Sequence[Status], author: Account
) -> list[dict[str, object]]:
    """Notes of several local posts of one author, in two queries whatever their number."""
    ids = [s.id for s in page]
    mentions: dict[int, list[Account]] = defaultdict(list)
    for mention in await StatusMention.filter(status_id__in=ids).select_related("account"):
        mentions[mention.status_id].append(mention.account)  # type: ignore[attr-defined]
    tags: dict[int, list[str]] = defaultdict(list)
    for row in await StatusTag.filter(status_id__in=ids).select_related("tag").order_by("id"):
        tags[row.status_id].append(row.tag.name)  # type: ignore[attr-defined]
    return [
        local_status_to_as_note(
            status, author, uris, mentions=mentions[status.id], tags=tags[status.id]
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


async def edit(
    fed: Federation,
    author: Account,
    status: Status,
    text: str,
    *,
    spoiler_text: str | None = None,
    sensitive: bool | None = None,
) -> Status:
    """Change a post's text; the previous version goes to the edit history."""
    await _own_local_status(author, status)
    if not text.strip() or len(text) > MAX_TEXT:
        raise Invalid(f"a post needs 1 to {MAX_TEXT} characters")
    async with in_transaction():
        await _edit(fed, author, status, text, spoiler_text=spoiler_text, sensitive=sensitive)
    return status


async def _edit(
    fed: Federation,
    author: Account,
    status: Status,
    text: str,
    *,
    spoiler_text: str | None,
    sensitive: bool | None,
) -> None:
    await StatusEdit.create(
        status=status,
        content=status.content,
        summary=status.summary,
        sensitive=status.sensitive,
        created_at=status.edited_at or status.published_at,
    )
    rendered = render_plain_text(
        text,
        resolve_mention=lambda user, domain: None,
        resolve_hashtag=lambda tag: fed.ctx.uris.build(Kind.TAG, name=tag.lower()),
    )
    status.text = text
    status.content = rendered.html
    if spoiler_text is not None:
        status.summary = spoiler_text
    if sensitive is not None:
        status.sensitive = sensitive
    status.edited_at = utcnow()
    await status.save()
    note = await as_note(fed, status, author)
    update = vocab.update(
        id=activity_uri(fed.ctx), actor=author.uri, object=note, to=status.to, cc=status.cc
    )
    await _send_about(status, author, update)


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
    return status


async def favourite(fed: Federation, account: Account, status: Status) -> Favourite:
    if not await can_view(status, account):
        raise NotFound("no such post")
    await status.fetch_related("account")
    existing = await Favourite.get_or_none(account=account, status=status)
    if existing is not None:
        return existing
    row = await Favourite.create(account=account, status=status, uri=activity_uri(fed.ctx))
    if not status.account.local:
        like = vocab.like(
            id=row.uri or "", actor=account.uri, object=status.uri, to=[status.account.uri]
        )
        await enqueue(like, account, [status.account.uri], ordering_key=status.uri)
    return row


async def reblog(fed: Federation, account: Account, status: Status) -> Status:
    """Boost a public or unlisted post (never a boost, never a narrower post)."""
    if status.reblog_of_id is not None:  # type: ignore[attr-defined]
        raise Invalid("a boost cannot be boosted")
    if status.visibility not in (Visibility.PUBLIC, Visibility.UNLISTED) or status.deleted_at:
        raise NotFound("no such post")
    existing = await Status.get_or_none(account=account, reblog_of=status, deleted_at=None)
    if existing is not None:
        return existing
    await status.fetch_related("account")
    boost_id = new_id()
    to, cc = [PUBLIC], [account.followers_uri or "", status.account.uri]
    boost = await Status.create(
        id=boost_id,
        uri=fed.ctx.uris.build(Kind.ACTIVITY, id=str(boost_id)),
        account=account,
        local=True,
        reblog_of=status,
        visibility=Visibility.PUBLIC,
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
    return boost
