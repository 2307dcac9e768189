"""Converters between our rows and what goes on the wire, named by direction.

``local_account_to_as_actor`` turns a row into an ActivityStreams document,
``local_account_to_jrd`` into a WebFinger JRD, and so on. Converters hold no
policy: whether a row may be shown at all (suspended, unknown, not local) is
decided before one is called. They do not query the database either: the
caller loads what they need (the community of a group, the moderators' rows).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any, Final, Literal

from activitypub.jsonld import AS_CONTEXT, SECURITY_V1_CONTEXT
from activitypub.nodeinfo import NodeInfoUsage, build_nodeinfo
from activitypub.uris import Kind, LocalURIs
from activitypub.vocab import format_datetime
from activitypub.webfinger import build_jrd
from fediverse_cop import __version__
from fediverse_cop.models import Account, Community, Instance, Poll, PostingPolicy, Status
from fediverse_cop.settings import RegistrationMode

__all__ = [
    "ACTOR_CONTEXT",
    "as_ordered_collection",
    "as_ordered_collection_page",
    "instance_to_nodeinfo",
    "local_account_to_as_actor",
    "local_account_to_jrd",
    "local_community_to_as_group",
    "local_status_to_as_note",
    "note_to_html",
]

Json = dict[str, Any]

# ActivityStreams, security v1 (publicKey) and the extension terms an actor uses.
ACTOR_CONTEXT: Final[tuple[Any, ...]] = (
    AS_CONTEXT,
    SECURITY_V1_CONTEXT,
    {
        "toot": "http://joinmastodon.org/ns#",
        "lemmy": "https://join-lemmy.org/ns#",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "discoverable": "toot:discoverable",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
        "moderators": {"@id": "lemmy:moderators", "@type": "@id"},
    },
)
COLLECTION_CONTEXT: Final = AS_CONTEXT
# Terms only a Group uses: ``resources`` is Mobilizon's (a group's shared files and links).
GROUP_TERMS: Final[dict[str, Any]] = {
    "mz": "https://joinmobilizon.org/ns#",
    "resources": {"@id": "mz:resources", "@type": "@id"},
    "sensitive": "as:sensitive",
}

PROPERTY_VALUE_TERMS: Final[dict[str, Any]] = {
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
}

_PARAGRAPH_BREAK: Final = re.compile(r"\n\s*\n")


def note_to_html(note: str) -> str:
    """A stored plain-text note as HTML: escaped, blank lines make paragraphs, newlines ``<br>``.

    An empty note gives an empty string.
    """
    text = note.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ""
    paragraphs = (p.strip() for p in _PARAGRAPH_BREAK.split(text))
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
        if paragraph
    )


def _context() -> list[Any]:
    # A fresh copy each time: callers may add to the document they get.
    return [AS_CONTEXT, SECURITY_V1_CONTEXT, dict(ACTOR_CONTEXT[2])]


def local_account_to_as_actor(
    account: Account, *, preferred_username: str | None = None, moved_to: str | None = None
) -> Json:
    """A local actor row (Person, Group or the Application instance actor) as an AS2 actor.

    ``preferred_username`` overrides the stored user name (the instance actor is
    known by the domain name, as on Mastodon). Collections the row has no URI
    for (the instance actor has no outbox or followers) are left out. ``moved_to``
    is the new account's URI when the account moved (``movedTo``).
    """
    document: Json = {
        "@context": _context(),
        "id": account.uri,
        "type": str(account.actor_type),
        "preferredUsername": preferred_username or account.username,
        "name": account.display_name or account.username,
        "summary": note_to_html(account.note),
        "url": account.url or account.uri,
        "inbox": account.inbox_uri,
    }
    for key, value in (
        ("outbox", account.outbox_uri),
        ("followers", account.followers_uri),
        ("following", account.following_uri),
        ("featured", account.featured_uri),
    ):
        if value:
            document[key] = value
    if account.shared_inbox_uri:
        document["endpoints"] = {"sharedInbox": account.shared_inbox_uri}
    document["publicKey"] = {
        "id": account.public_key_id,
        "owner": account.uri,
        "publicKeyPem": account.public_key_pem,
    }
    if moved_to:
        document["movedTo"] = moved_to
    if account.also_known_as:
        document["alsoKnownAs"] = list(account.also_known_as)
    document["manuallyApprovesFollowers"] = account.manually_approves_followers
    document["discoverable"] = account.discoverable
    document["published"] = format_datetime(account.created_at)
    if account.avatar_uri:
        document["icon"] = {"type": "Image", "url": account.avatar_uri}
    if account.header_uri:
        document["image"] = {"type": "Image", "url": account.header_uri}
    if account.profile_fields:
        # Profile metadata as Mastodon sends it: schema.org PropertyValue attachments.
        document["@context"].append(PROPERTY_VALUE_TERMS)
        document["attachment"] = [
            {
                "type": "PropertyValue",
                "name": field.get("name", ""),
                "value": field.get("value", ""),
            }
            for field in account.profile_fields
        ]
    return document


def local_community_to_as_group(community: Community, account: Account, uris: LocalURIs) -> Json:
    """A local community as a ``Group``: ``attributedTo`` and ``moderators`` name the
    moderators collection (as Lemmy does), ``postingRestrictedToMods`` its posting policy."""
    document = local_account_to_as_actor(account)
    document["@context"][2].update(GROUP_TERMS)
    moderators = uris.build(Kind.COMMUNITY_MODERATORS, name=account.username)
    document["attributedTo"] = moderators
    document["moderators"] = moderators
    document["postingRestrictedToMods"] = community.posting_policy is PostingPolicy.MODERATORS
    document["resources"] = uris.build(Kind.COMMUNITY_RESOURCES, name=account.username)
    document["sensitive"] = False
    document["updated"] = format_datetime(community.updated_at)
    return document


def local_account_to_jrd(account: Account, *, subject_name: str, domain: str) -> Json:
    """The WebFinger JRD of a local actor, with ``acct:subject_name@domain`` as subject."""
    profile = account.url or account.uri
    return build_jrd(
        f"acct:{subject_name}@{domain}",
        aliases=[profile, account.uri],
        actor_uri=account.uri,
        profile_url=profile,
        actor_type=str(account.actor_type),
    )


def as_ordered_collection(
    collection_id: str,
    *,
    total_items: int,
    items: Sequence[str] | None = None,
    first: str | None = None,
) -> Json:
    """An ``OrderedCollection``: with ``orderedItems`` when ``items`` is given, else only
    its size (and ``first`` when it is paged)."""
    document: Json = {
        "@context": COLLECTION_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total_items,
    }
    if first is not None:
        document["first"] = first
    if items is not None:
        document["orderedItems"] = list(items)
    return document


def as_ordered_collection_page(
    page_id: str,
    *,
    part_of: str,
    items: Sequence[Any],
    next_page: str | None = None,
    prev_page: str | None = None,
) -> Json:
    """One ``OrderedCollectionPage`` of a paged collection."""
    document: Json = {
        "@context": COLLECTION_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": list(items),
    }
    if next_page is not None:
        document["next"] = next_page
    if prev_page is not None:
        document["prev"] = prev_page
    return document


def instance_to_nodeinfo(
    version: Literal["2.0", "2.1"],
    *,
    domain: str,
    instance: Instance | None,
    registrations: RegistrationMode,
    users_total: int,
    communities: int,
) -> Json:
    """Our NodeInfo document. ``registrations`` is the mode in force (the instance row's,
    or the configured default before the row exists)."""
    metadata: dict[str, Any] = {
        "nodeName": (instance.name if instance is not None else "") or domain,
        "nodeDescription": instance.description if instance is not None else "",
        "communities": communities,
    }
    return build_nodeinfo(
        version,
        software_version=__version__,
        open_registrations=registrations is RegistrationMode.OPEN,
        usage=NodeInfoUsage(users_total=users_total, local_posts=0),
        metadata=metadata,
    )


NOTE_CONTEXT: Final[tuple[Any, ...]] = (
    AS_CONTEXT,
    {
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "toot": "http://joinmastodon.org/ns#",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "votersCount": "toot:votersCount",
    },
)


def local_status_to_as_note(
    status: Status,
    author: Account,
    uris: LocalURIs,
    *,
    mentions: Sequence[Account] = (),
    tags: Sequence[str] = (),
    poll: Poll | None = None,
) -> Json:
    """A local post as the ``Note`` peers receive and fetch (Mastodon's shape).

    Attachments come from ``status.attachments`` (``Document``s); a post with a
    ``poll`` is a ``Question`` with its options in ``oneOf`` (or ``anyOf`` when
    several may be chosen), Mastodon's shape.
    """
    note: Json = {
        "@context": list(NOTE_CONTEXT),
        "id": status.uri,
        "type": status.object_type,
        "attributedTo": author.uri,
        "content": status.content,
        "published": format_datetime(status.published_at),
        "url": status.url or status.uri,
        "to": list(status.to),
        "cc": list(status.cc),
        "sensitive": status.sensitive,
        "summary": status.summary or None,
        "inReplyTo": status.in_reply_to_uri,
        "tag": [
            {"type": "Mention", "href": account.uri, "name": f"@{account.handle}"}
            for account in mentions
        ]
        + [
            {"type": "Hashtag", "href": uris.build(Kind.TAG, name=name), "name": f"#{name}"}
            for name in tags
        ],
    }
    if status.language:
        note["contentMap"] = {status.language: status.content}
    if status.edited_at is not None:
        note["updated"] = format_datetime(status.edited_at)
    if status.audience:
        note["audience"] = status.audience
    if status.attachments:
        note["attachment"] = [dict(item) for item in status.attachments]
    if poll is not None:
        note["type"] = "Question"
        note["oneOf" if not poll.multiple else "anyOf"] = [
            {
                "type": "Note",
                "name": str(option.get("title", "")),
                "replies": {"type": "Collection", "totalItems": int(option.get("votes_count", 0))},
            }
            for option in poll.options
        ]
        note["votersCount"] = poll.voters_count
        if poll.expires_at is not None:
            note["endTime"] = format_datetime(poll.expires_at)
    return note
