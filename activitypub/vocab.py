"""ActivityStreams vocabulary: read-only views over incoming JSON and builders.

Incoming documents are arbitrary JSON.  A property may be a single value or a
list, an embedded object or an id string, or a ``Link`` with ``href``.  The
views below smooth that over; every accessor returns ``None``/an empty tuple
for absent or ill-typed values and never raises anything but
:class:`InvalidActivity`.  ``require_*`` accessors raise it for mandatory
properties.

The builders return plain dicts with our :data:`~activitypub.jsonld.DEFAULT_CONTEXT`.
Ids are always passed in by the caller: no URI is constructed here.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from activitypub.jsonld import AS_NS, DEFAULT_CONTEXT

__all__ = [
    "PUBLIC",
    "ASObject",
    "Attachment",
    "InvalidActivity",
    "PublicKey",
    "Tag",
    "accept",
    "add",
    "announce",
    "block",
    "create",
    "delete",
    "flag",
    "follow",
    "format_datetime",
    "is_public_address",
    "iter_objects",
    "like",
    "move",
    "parse_datetime",
    "reject",
    "remove",
    "tombstone",
    "undo",
    "update",
]

PUBLIC: Final = AS_NS + "Public"
_PUBLIC_ALIASES: Final = frozenset(
    {PUBLIC, "as:Public", "Public", "http://www.w3.org/ns/activitystreams#Public"}
)


class InvalidActivity(ValueError):
    """An incoming document or a builder argument is not usable."""


def is_public_address(value: object) -> bool:
    """True for the public collection in any of its spellings."""
    return isinstance(value, str) and value in _PUBLIC_ALIASES


# --- helpers ----------------------------------------------------------------


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _ref_id(value: object) -> str | None:
    """The id of a reference: a string, an object's ``id`` or a Link's ``href``."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        ident = value.get("id")
        if isinstance(ident, str) and ident:
            return ident
        href = value.get("href")
        if isinstance(href, str) and href:
            return href
    return None


def _ref_ids(value: object) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in _as_list(value):
        ident = _ref_id(item)
        if ident is not None:
            seen.setdefault(ident, None)
    return tuple(seen)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _language_map_value(value: object) -> str | None:
    if isinstance(value, Mapping):
        for item in value.values():
            if isinstance(item, str):
                return item
    return None


def _text_or_map(text: object, language_map: object) -> str | None:
    if isinstance(text, str):
        return text
    return _language_map_value(language_map)


_DATETIME_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?")


def parse_datetime(value: object) -> datetime | None:
    """Parse an xsd:dateTime; naive times are taken as UTC; invalid gives None."""
    if not isinstance(value, str) or len(value) > 64 or not _DATETIME_RE.match(value):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # fromisoformat accepts at most 6 fractional digits (Lemmy sends 6, some send 9).
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and second precision, as Mastodon sends."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidActivity("datetimes must be timezone-aware")
    try:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError) as exc:
        raise InvalidActivity("datetime out of range") from exc


# --- views ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tag:
    """An entry of ``tag``: a Mention, Hashtag, Emoji or something else."""

    type: str | None
    name: str | None
    href: str | None
    id: str | None = None
    icon_url: str | None = None

    @property
    def is_mention(self) -> bool:
        return self.type == "Mention"

    @property
    def is_hashtag(self) -> bool:
        return self.type == "Hashtag"

    @property
    def is_emoji(self) -> bool:
        return self.type == "Emoji"

    @property
    def hashtag_name(self) -> str | None:
        """The hashtag without its leading ``#``."""
        if not self.is_hashtag or not self.name:
            return None
        return self.name[1:] if self.name.startswith("#") else self.name


@dataclass(frozen=True, slots=True)
class Attachment:
    """An entry of ``attachment`` (Document, Image, Link, PropertyValue...)."""

    type: str | None
    url: str | None
    media_type: str | None
    name: str | None
    blurhash: str | None = None
    width: int | None = None
    height: int | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class PublicKey:
    id: str
    owner: str | None
    pem: str


def _first_type(value: object) -> str | None:
    for item in _as_list(value):
        if isinstance(item, str):
            return item
    return None


def _url_of(value: object, depth: int = 0) -> str | None:
    """First URL of ``url``/``icon``-like values, preferring text/html links."""
    fallback: str | None = None
    for item in _as_list(value):
        if isinstance(item, str):
            if fallback is None and item:
                fallback = item
            continue
        if isinstance(item, Mapping):
            nested = _url_of(item.get("url"), depth + 1) if depth < 2 else None
            href = _str(item.get("href")) or nested
            if href and item.get("mediaType") == "text/html":
                return href
            if fallback is None and href:
                fallback = href
    return fallback


@dataclass(frozen=True, slots=True)
class ASObject:
    """A read-only view over an ActivityStreams object or activity.

    Treat ``data`` as immutable; views never modify it.
    """

    data: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, value: object) -> ASObject:
        if not isinstance(value, Mapping):
            raise InvalidActivity("an ActivityStreams object must be a JSON object")
        return cls(value)

    def get(self, key: str) -> Any:
        """The raw value of a property (None if absent)."""
        return self.data.get(key)

    # identity
    @property
    def id(self) -> str | None:
        return _ref_id(self.data.get("id"))

    def require_id(self) -> str:
        ident = self.id
        if ident is None:
            raise InvalidActivity("missing id")
        return ident

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(t for t in _as_list(self.data.get("type")) if isinstance(t, str))

    @property
    def type(self) -> str | None:
        return _first_type(self.data.get("type"))

    def require_type(self) -> str:
        kind = self.type
        if kind is None:
            raise InvalidActivity("missing type")
        return kind

    def has_type(self, *names: str) -> bool:
        return any(t in names for t in self.types)

    # activity properties
    @property
    def actor_id(self) -> str | None:
        ids = self.actor_ids
        return ids[0] if ids else None

    @property
    def actor_ids(self) -> tuple[str, ...]:
        return _ref_ids(self.data.get("actor"))

    def require_actor_id(self) -> str:
        actor = self.actor_id
        if actor is None:
            raise InvalidActivity("missing actor")
        return actor

    @property
    def object_id(self) -> str | None:
        ids = self.object_ids
        return ids[0] if ids else None

    @property
    def object_ids(self) -> tuple[str, ...]:
        return _ref_ids(self.data.get("object"))

    def require_object_id(self) -> str:
        ident = self.object_id
        if ident is None:
            raise InvalidActivity("missing object")
        return ident

    @property
    def object(self) -> ASObject | None:
        """The embedded object, if ``object`` is (or starts with) a JSON object."""
        for item in _as_list(self.data.get("object")):
            return ASObject(item) if isinstance(item, Mapping) else None
        return None

    def _embedded(self, key: str) -> ASObject | None:
        for item in _as_list(self.data.get(key)):
            return ASObject(item) if isinstance(item, Mapping) else None
        return None

    @property
    def target_id(self) -> str | None:
        ids = _ref_ids(self.data.get("target"))
        return ids[0] if ids else None

    @property
    def target(self) -> ASObject | None:
        return self._embedded("target")

    @property
    def origin_id(self) -> str | None:
        ids = _ref_ids(self.data.get("origin"))
        return ids[0] if ids else None

    @property
    def origin(self) -> ASObject | None:
        return self._embedded("origin")

    @property
    def result_id(self) -> str | None:
        ids = _ref_ids(self.data.get("result"))
        return ids[0] if ids else None

    # addressing
    @property
    def to(self) -> tuple[str, ...]:
        return _ref_ids(self.data.get("to"))

    @property
    def cc(self) -> tuple[str, ...]:
        return _ref_ids(self.data.get("cc"))

    @property
    def bto(self) -> tuple[str, ...]:
        return _ref_ids(self.data.get("bto"))

    @property
    def bcc(self) -> tuple[str, ...]:
        return _ref_ids(self.data.get("bcc"))

    @property
    def audience(self) -> tuple[str, ...]:
        return _ref_ids(self.data.get("audience"))

    @property
    def recipients(self) -> tuple[str, ...]:
        """to, cc, bto, bcc and audience, de-duplicated in that order."""
        seen: dict[str, None] = {}
        for group in (self.to, self.cc, self.bto, self.bcc, self.audience):
            for ident in group:
                seen.setdefault(ident, None)
        return tuple(seen)

    @property
    def is_public(self) -> bool:
        """Addressed to the public collection in ``to`` or ``cc`` (public or unlisted)."""
        return any(is_public_address(r) for r in (*self.to, *self.cc))

    @property
    def is_public_in_to(self) -> bool:
        """Public in ``to`` (Mastodon "public"; public only in ``cc`` is "unlisted")."""
        return any(is_public_address(r) for r in self.to)

    # object properties
    @property
    def attributed_to(self) -> str | None:
        ids = self.attributed_to_ids
        return ids[0] if ids else None

    @property
    def attributed_to_ids(self) -> tuple[str, ...]:
        return _ref_ids(self.data.get("attributedTo"))

    @property
    def in_reply_to(self) -> str | None:
        ids = _ref_ids(self.data.get("inReplyTo"))
        return ids[0] if ids else None

    @property
    def context(self) -> str | None:
        ids = _ref_ids(self.data.get("context"))
        return ids[0] if ids else _str(self.data.get("conversation"))

    @property
    def content(self) -> str | None:
        return _text_or_map(self.data.get("content"), self.data.get("contentMap"))

    @property
    def content_map(self) -> dict[str, str]:
        value = self.data.get("contentMap")
        if not isinstance(value, Mapping):
            return {}
        return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}

    @property
    def summary(self) -> str | None:
        return _text_or_map(self.data.get("summary"), self.data.get("summaryMap"))

    @property
    def name(self) -> str | None:
        return _text_or_map(self.data.get("name"), self.data.get("nameMap"))

    @property
    def media_type(self) -> str | None:
        return _str(self.data.get("mediaType"))

    @property
    def source_content(self) -> str | None:
        source = self.data.get("source")
        return _str(source.get("content")) if isinstance(source, Mapping) else None

    @property
    def source_media_type(self) -> str | None:
        source = self.data.get("source")
        return _str(source.get("mediaType")) if isinstance(source, Mapping) else None

    @property
    def url(self) -> str | None:
        return _url_of(self.data.get("url"))

    @property
    def sensitive(self) -> bool:
        return self.data.get("sensitive") is True

    @property
    def published(self) -> datetime | None:
        return parse_datetime(self.data.get("published"))

    @property
    def updated(self) -> datetime | None:
        return parse_datetime(self.data.get("updated"))

    @property
    def tags(self) -> tuple[Tag, ...]:
        result: list[Tag] = []
        for item in _as_list(self.data.get("tag")):
            if not isinstance(item, Mapping):
                continue
            icon = item.get("icon")
            result.append(
                Tag(
                    type=_first_type(item.get("type")),
                    name=_str(item.get("name")),
                    href=_str(item.get("href")),
                    id=_str(item.get("id")),
                    icon_url=_url_of(icon.get("url")) if isinstance(icon, Mapping) else None,
                )
            )
        return tuple(result)

    @property
    def mentions(self) -> tuple[Tag, ...]:
        return tuple(t for t in self.tags if t.is_mention and t.href)

    @property
    def hashtags(self) -> tuple[Tag, ...]:
        return tuple(t for t in self.tags if t.is_hashtag and t.name)

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        result: list[Attachment] = []
        for item in _as_list(self.data.get("attachment")):
            if not isinstance(item, Mapping):
                continue
            url = _url_of(item.get("url")) or _str(item.get("href"))
            result.append(
                Attachment(
                    type=_first_type(item.get("type")),
                    url=url,
                    media_type=_str(item.get("mediaType")),
                    name=_str(item.get("name")),
                    blurhash=_str(item.get("blurhash")),
                    width=_int(item.get("width")),
                    height=_int(item.get("height")),
                    value=_str(item.get("value")),
                )
            )
        return tuple(result)

    # actor properties
    @property
    def preferred_username(self) -> str | None:
        return _str(self.data.get("preferredUsername"))

    @property
    def inbox(self) -> str | None:
        return _ref_id(self.data.get("inbox"))

    @property
    def outbox(self) -> str | None:
        return _ref_id(self.data.get("outbox"))

    @property
    def followers(self) -> str | None:
        return _ref_id(self.data.get("followers"))

    @property
    def following(self) -> str | None:
        return _ref_id(self.data.get("following"))

    @property
    def featured(self) -> str | None:
        return _ref_id(self.data.get("featured"))

    @property
    def shared_inbox(self) -> str | None:
        endpoints = self.data.get("endpoints")
        if isinstance(endpoints, Mapping):
            return _ref_id(endpoints.get("sharedInbox"))
        return None

    @property
    def manually_approves_followers(self) -> bool:
        return self.data.get("manuallyApprovesFollowers") is True

    @property
    def posting_restricted_to_mods(self) -> bool:
        return self.data.get("postingRestrictedToMods") is True

    @property
    def icon_url(self) -> str | None:
        icon = self.data.get("icon")
        for item in _as_list(icon):
            if isinstance(item, Mapping):
                return _url_of(item.get("url"))
            if isinstance(item, str):
                return item
        return None

    @property
    def public_key(self) -> PublicKey | None:
        for item in _as_list(self.data.get("publicKey")):
            if isinstance(item, Mapping):
                ident = _str(item.get("id"))
                pem = _str(item.get("publicKeyPem"))
                if ident and pem:
                    return PublicKey(id=ident, owner=_ref_id(item.get("owner")), pem=pem)
        return None

    # Question
    @property
    def poll_options(self) -> tuple[str, ...]:
        """Names of ``oneOf``/``anyOf`` options."""
        names: list[str] = []
        for key in ("oneOf", "anyOf"):
            for item in _as_list(self.data.get(key)):
                if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                    names.append(item["name"])
        return tuple(names)


# --- builders ---------------------------------------------------------------

Json = dict[str, Any]
Ref = str | Mapping[str, Any]


def _context() -> list[Any]:
    """A fresh copy of our @context (callers may mutate the documents we build)."""
    return copy.deepcopy(list(DEFAULT_CONTEXT))


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidActivity(f"{what} must be a non-empty string")
    return value


def _check_ids(values: object, what: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidActivity(f"{what} must be a sequence of strings")
    out: dict[str, None] = {}
    for value in values:
        out.setdefault(_check_id(value, what), None)
    return list(out)


def _check_ref(value: object, what: str) -> str | dict[str, Any]:
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise InvalidActivity(f"{what} must have string keys")
        return dict(value)
    return _check_id(value, what)


def _envelope(
    kind: str,
    id: object,
    actor: object,
    *,
    to: object = (),
    cc: object = (),
    audience: object = None,
    published: object = None,
) -> Json:
    doc: Json = {
        "@context": _context(),
        "id": _check_id(id, "id"),
        "type": kind,
        "actor": _check_id(actor, "actor"),
    }
    to_list = _check_ids(to, "to")
    cc_list = _check_ids(cc, "cc")
    if to_list:
        doc["to"] = to_list
    if cc_list:
        doc["cc"] = cc_list
    if audience is not None:
        doc["audience"] = _check_id(audience, "audience")
    if published is not None:
        if not isinstance(published, datetime):
            raise InvalidActivity("published must be a datetime")
        doc["published"] = format_datetime(published)
    return doc


def _with_object(doc: Json, obj: object) -> Json:
    doc["object"] = _check_ref(obj, "object")
    return doc


def follow(*, id: str, actor: str, object: str, to: Sequence[str] | None = None) -> Json:
    """Follow (or join a Group).  ``to`` defaults to the followed actor."""
    target = _check_id(object, "object")
    return _with_object(_envelope("Follow", id, actor, to=[target] if to is None else to), target)


def accept(*, id: str, actor: str, object: Ref, to: Sequence[str] = ()) -> Json:
    """Accept, e.g. of a Follow (pass the Follow itself or its id)."""
    return _with_object(_envelope("Accept", id, actor, to=to), object)


def reject(*, id: str, actor: str, object: Ref, to: Sequence[str] = ()) -> Json:
    return _with_object(_envelope("Reject", id, actor, to=to), object)


def undo(
    *, id: str, actor: str, object: Ref, to: Sequence[str] = (), cc: Sequence[str] = ()
) -> Json:
    return _with_object(_envelope("Undo", id, actor, to=to, cc=cc), object)


def create(
    *,
    id: str,
    actor: str,
    object: Mapping[str, Any],
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    audience: str | None = None,
    published: datetime | None = None,
) -> Json:
    if not isinstance(object, Mapping):
        raise InvalidActivity("Create needs an embedded object")
    doc = _envelope("Create", id, actor, to=to, cc=cc, audience=audience, published=published)
    return _with_object(doc, object)


def update(
    *,
    id: str,
    actor: str,
    object: Mapping[str, Any],
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    audience: str | None = None,
    published: datetime | None = None,
) -> Json:
    if not isinstance(object, Mapping):
        raise InvalidActivity("Update needs an embedded object")
    doc = _envelope("Update", id, actor, to=to, cc=cc, audience=audience, published=published)
    return _with_object(doc, object)


def delete(
    *,
    id: str,
    actor: str,
    object: Ref,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    audience: str | None = None,
    summary: str | None = None,
) -> Json:
    """Delete; ``summary`` carries a moderator's reason (Lemmy)."""
    doc = _with_object(_envelope("Delete", id, actor, to=to, cc=cc, audience=audience), object)
    if summary is not None:
        doc["summary"] = _check_id(summary, "summary")
    return doc


def announce(
    *,
    id: str,
    actor: str,
    object: Ref,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    audience: str | None = None,
    published: datetime | None = None,
) -> Json:
    """Announce of an object id (a boost) or of an embedded activity (FEP-1b12)."""
    doc = _envelope("Announce", id, actor, to=to, cc=cc, audience=audience, published=published)
    return _with_object(doc, object)


def like(
    *,
    id: str,
    actor: str,
    object: str,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    audience: str | None = None,
) -> Json:
    doc = _envelope("Like", id, actor, to=to, cc=cc, audience=audience)
    return _with_object(doc, _check_id(object, "object"))


def block(
    *,
    id: str,
    actor: str,
    object: str,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    target: str | None = None,
    summary: str | None = None,
    audience: str | None = None,
) -> Json:
    """Block a user; with ``target`` a community ban as Lemmy sends it."""
    doc = _envelope("Block", id, actor, to=to, cc=cc, audience=audience)
    _with_object(doc, _check_id(object, "object"))
    if target is not None:
        doc["target"] = _check_id(target, "target")
    if summary is not None:
        doc["summary"] = _check_id(summary, "summary")
    return doc


def flag(
    *,
    id: str,
    actor: str,
    object: Sequence[str],
    to: Sequence[str] = (),
    content: str | None = None,
    audience: str | None = None,
) -> Json:
    """Flag (report): ``object`` lists the account and/or the reported posts."""
    doc = _envelope("Flag", id, actor, to=to, audience=audience)
    objects = _check_ids(object, "object")
    if not objects:
        raise InvalidActivity("Flag needs at least one object")
    doc["object"] = objects[0] if len(objects) == 1 else objects
    if content is not None:
        doc["content"] = _check_id(content, "content")
    return doc


def _collection_change(
    kind: str,
    id: object,
    actor: object,
    object: object,
    target: object,
    to: object,
    cc: object,
    audience: object,
) -> Json:
    doc = _with_object(_envelope(kind, id, actor, to=to, cc=cc, audience=audience), object)
    doc["target"] = _check_id(target, "target")
    return doc


def add(
    *,
    id: str,
    actor: str,
    object: Ref,
    target: str,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    audience: str | None = None,
) -> Json:
    """Add to a collection (featured, moderators, resources)."""
    return _collection_change("Add", id, actor, object, target, to, cc, audience)


def remove(
    *,
    id: str,
    actor: str,
    object: Ref,
    target: str,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    audience: str | None = None,
) -> Json:
    return _collection_change("Remove", id, actor, object, target, to, cc, audience)


def move(
    *,
    id: str,
    actor: str,
    object: str,
    target: str,
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
) -> Json:
    """Account migration: ``object`` is the old account, ``target`` the new one."""
    doc = _with_object(_envelope("Move", id, actor, to=to, cc=cc), _check_id(object, "object"))
    doc["target"] = _check_id(target, "target")
    return doc


def tombstone(*, id: str, former_type: str | None = None, deleted: datetime | None = None) -> Json:
    """The Tombstone a deleted object's URL serves (and a Delete may embed)."""
    doc: Json = {"@context": _context(), "id": _check_id(id, "id"), "type": "Tombstone"}
    if former_type is not None:
        doc["formerType"] = _check_id(former_type, "former_type")
    if deleted is not None:
        if not isinstance(deleted, datetime):
            raise InvalidActivity("deleted must be a datetime")
        doc["deleted"] = format_datetime(deleted)
    return doc


def iter_objects(values: object) -> Iterator[ASObject]:
    """Embedded objects of a list-or-single property value (e.g. orderedItems)."""
    for item in _as_list(values):
        if isinstance(item, Mapping):
            yield ASObject(item)
