"""Remote actors: which keys belong to them, and a validated view of their documents.

Key ownership (THREATS TC07, TC08)
----------------------------------
A signature's ``keyId`` is usable for an actor only when the actor document
itself lists the key: :func:`actor_key` accepts it when

* the key is one of the actor's ``publicKey`` entries (a dict, a list of
  dicts, or an id string backed by a separately fetched key document) with
  ``owner`` (or ``controller``) equal to the actor's ``id``, or an
  ``assertionMethod`` entry of type ``Multikey`` (FEP-521a) with
  ``controller`` equal to the actor's ``id``; and
* the key id has the actor's origin (scheme, host, port); and
* the document is the actor the caller expected (``expected_actor_id``): an
  actor URL that answers with another actor's document gives nothing.

A key document (what a ``keyId`` URL answers) is never trusted for the key
itself: it only names the owner to fetch (:func:`parse_key_document`,
:func:`resolve_key_owner`), and that owner must be on the key's origin.

The typical verification path::

    owner = key_owner_uri(key_id) or await resolve_key_owner(http, key_id)
    doc = await http.fetch_ap(owner)                 # same-origin redirects only
    result = actor_key(doc.document, key_id, expected_actor_id=activity_actor)

:class:`RemoteActor` is the typed view of an actor document: every URL is
http(s); the inbox, outbox, collections and shared inbox must be on the
actor's origin (else :class:`InvalidActor`); ``url`` is kept only on the
actor's host; ``name``/``summary`` are raw (the application sanitizes them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.domains import InvalidDomain, Origin, origin_of
from activitypub.errors import InvalidDocument
from activitypub.http import AP_ACCEPT, SafeHttpClient, is_activity_json
from activitypub.jsonparse import InvalidJSON, parse_json
from activitypub.keys import InvalidKey, PublicKey, check_public_key, load_public_key_pem
from activitypub.vocab import ASObject, parse_datetime

__all__ = [
    "ACTOR_TYPES",
    "ActorKey",
    "InvalidActor",
    "KeyDocument",
    "KeyRefusal",
    "RemoteActor",
    "actor_key",
    "actor_keys",
    "base58btc_decode",
    "base58btc_encode",
    "decode_multikey",
    "encode_multikey",
    "key_owner_uri",
    "parse_key_document",
    "resolve_key_owner",
]

ACTOR_TYPES = frozenset({"Person", "Group", "Application", "Service", "Organization"})
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {ch: i for i, ch in enumerate(_B58_ALPHABET)}
_MAX_MULTIBASE = 2048  # an RSA-8192 multikey is ~1 400 characters
_ED25519_PREFIX = b"\xed\x01"  # multicodec ed25519-pub (0xed) as unsigned varint
_RSA_PREFIX = b"\x85\x24"  # multicodec rsa-pub (0x1205) as unsigned varint; PKCS#1 DER follows
_MAX_KEYS = 20
_MAX_USERNAME = 255


# -- base58btc and Multikey ----------------------------------------------------


def base58btc_decode(text: str) -> bytes:
    """Decode base58 (Bitcoin alphabet); raise ValueError on any other character."""
    number = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise ValueError(f"{ch!r} is not a base58btc character")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def base58btc_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out: list[str] = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_B58_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + "".join(reversed(out))


def decode_multikey(value: str) -> PublicKey:
    """Load a ``publicKeyMultibase`` value: base58btc (``z``) Ed25519 or RSA; raise InvalidKey."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) > _MAX_MULTIBASE:
        raise InvalidKey("publicKeyMultibase must be base58btc ('z' prefix)")
    try:
        raw = base58btc_decode(value[1:])
    except ValueError as exc:
        raise InvalidKey(str(exc)) from None
    if raw.startswith(_ED25519_PREFIX):
        material = raw[len(_ED25519_PREFIX) :]
        if len(material) != 32:
            raise InvalidKey("an Ed25519 multikey holds 32 bytes")
        return ed25519.Ed25519PublicKey.from_public_bytes(material)
    if raw.startswith(_RSA_PREFIX):
        try:
            key = serialization.load_der_public_key(_pkcs1_to_spki(raw[len(_RSA_PREFIX) :]))
        except (ValueError, TypeError) as exc:
            raise InvalidKey("not an RSA public key") from exc
        return check_public_key(key)
    raise InvalidKey("unsupported multicodec key type")


def encode_multikey(key: PublicKey) -> str:
    """The ``publicKeyMultibase`` of an Ed25519 or RSA public key."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "z" + base58btc_encode(_ED25519_PREFIX + raw)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return "z" + base58btc_encode(_RSA_PREFIX + der)


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _pkcs1_to_spki(pkcs1: bytes) -> bytes:
    """Wrap a PKCS#1 RSAPublicKey in a SubjectPublicKeyInfo (what cryptography loads as DER)."""
    algorithm = bytes.fromhex("300d06092a864886f70d0101010500")  # rsaEncryption, NULL
    bit_string = b"\x03" + _der_length(len(pkcs1) + 1) + b"\x00" + pkcs1
    body = algorithm + bit_string
    return b"\x30" + _der_length(len(body)) + body


# -- key ownership -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActorKey:
    """A public key proven to belong to ``owner`` (an actor id)."""

    key_id: str
    owner: str
    public_key: PublicKey


@dataclass(frozen=True, slots=True)
class KeyRefusal:
    """Why a key is not attributed to an actor; safe to log."""

    reason: str


@dataclass(frozen=True, slots=True)
class KeyDocument:
    """What a key id URL says: the owner to fetch (and the key, not to be trusted alone)."""

    key_id: str
    owner: str
    public_key: PublicKey | None


def _origin(url: object) -> Origin | None:
    if not isinstance(url, str):
        return None
    try:
        return origin_of(url)
    except InvalidDomain:
        return None


def _items(value: object) -> Iterator[object]:
    if isinstance(value, list):
        yield from value[:_MAX_KEYS]
    elif value is not None:
        yield value


def _types(entry: Mapping[str, Any]) -> tuple[str, ...]:
    value = entry.get("type")
    return tuple(t for t in (value if isinstance(value, list) else [value]) if isinstance(t, str))


def _entry_owner(entry: Mapping[str, Any]) -> str | None:
    for name in ("owner", "controller"):
        value = entry.get(name)
        if isinstance(value, Mapping):
            value = value.get("id")
        if isinstance(value, str) and value:
            return value
    return None


def _entry_key(entry: Mapping[str, Any]) -> PublicKey:
    """The key of a ``publicKey`` entry (PEM) or a Multikey entry; raise InvalidKey."""
    pem = entry.get("publicKeyPem")
    if isinstance(pem, str):
        return load_public_key_pem(pem)
    multibase = entry.get("publicKeyMultibase")
    if isinstance(multibase, str):
        return decode_multikey(multibase)
    raise InvalidKey("no publicKeyPem or publicKeyMultibase")


def _find_entry(actor: Mapping[str, Any], key_id: str) -> tuple[Mapping[str, Any] | None, bool]:
    """The key entry with ``id == key_id``, and whether the actor lists it by reference only."""
    referenced = False
    for item in _items(actor.get("publicKey")):
        if isinstance(item, Mapping) and item.get("id") == key_id:
            return item, False
        if item == key_id:
            referenced = True
    for item in _items(actor.get("assertionMethod")):
        if isinstance(item, Mapping) and item.get("id") == key_id:
            if "Multikey" not in _types(item):
                continue
            return item, False
        if item == key_id:
            referenced = True
    return None, referenced


def actor_key(
    actor: object,
    key_id: str,
    *,
    expected_actor_id: str | None = None,
    key_document: object = None,
) -> ActorKey | KeyRefusal:
    """Decide whether ``key_id`` belongs to the actor of the (fetched) document ``actor``.

    ``expected_actor_id`` is the actor the caller asked for (the activity's
    ``actor``); a document for anyone else is refused. ``key_document`` is
    used only when the actor lists the key by id without embedding it.
    """
    if not isinstance(actor, Mapping):
        return KeyRefusal("actor document is not a JSON object")
    actor_id = actor.get("id")
    actor_origin = _origin(actor_id)
    if not isinstance(actor_id, str) or actor_origin is None:
        return KeyRefusal("actor document has no http(s) id")
    if expected_actor_id is not None and actor_id != expected_actor_id:
        return KeyRefusal(f"document is the actor {actor_id!r}, not {expected_actor_id!r}")
    key_origin = _origin(key_id)
    if key_origin is None:
        return KeyRefusal(f"key id {key_id!r} is not an http(s) URL")
    if key_origin != actor_origin:
        return KeyRefusal(f"key {key_id!r} is not on the origin of {actor_id!r}")
    entry, referenced = _find_entry(actor, key_id)
    if entry is None:
        if referenced and key_document is not None:
            found = parse_key_document(key_document, key_id)
            if isinstance(found, KeyRefusal):
                return found
            if found.owner != actor_id:
                return KeyRefusal(f"key document names {found.owner!r} as owner, not {actor_id!r}")
            if found.public_key is None:
                return KeyRefusal("key document has no usable key")
            return ActorKey(key_id, actor_id, found.public_key)
        return KeyRefusal(f"actor {actor_id!r} does not list key {key_id!r}")
    owner = _entry_owner(entry)
    if owner != actor_id:
        return KeyRefusal(f"key {key_id!r} is owned by {owner!r}, not {actor_id!r}")
    try:
        public_key = _entry_key(entry)
    except InvalidKey as exc:
        return KeyRefusal(f"key {key_id!r} is unusable: {exc}")
    return ActorKey(key_id, actor_id, public_key)


def actor_keys(actor: Mapping[str, Any]) -> tuple[ActorKey, ...]:
    """Every embedded key of the document that passes :func:`actor_key`."""
    ids: dict[str, None] = {}
    for name in ("publicKey", "assertionMethod"):
        for item in _items(actor.get(name)):
            if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                ids.setdefault(item["id"], None)
    keys: list[ActorKey] = []
    for key_id in ids:
        result = actor_key(actor, key_id)
        if isinstance(result, ActorKey):
            keys.append(result)
    return tuple(keys)


def key_owner_uri(key_id: str) -> str | None:
    """The actor URI of a fragment key id (``…/users/a#main-key`` → ``…/users/a``).

    None when the key id has no fragment (e.g. GoToSocial's ``…/main-key``)
    or is not an http(s) URL: the caller must then read the owner from the
    key document (:func:`resolve_key_owner`).
    """
    if _origin(key_id) is None:
        return None
    parts = urlsplit(key_id)
    if not parts.fragment:
        return None
    return urlunsplit(parts._replace(fragment=""))


def parse_key_document(document: object, key_id: str) -> KeyDocument | KeyRefusal:
    """Read the owner of ``key_id`` from what the key id URL answered.

    Accepts a bare key (``{id: key_id, owner, publicKeyPem}`` or a Multikey
    with ``controller``) and an actor or actor stub listing the key (what
    GoToSocial serves at ``…/main-key``). The owner must be on the key's
    origin (TC07: ``evil.example`` cannot name a ``victim.example`` owner).
    """
    if not isinstance(document, Mapping):
        return KeyRefusal("key document is not a JSON object")
    key_origin = _origin(key_id)
    if key_origin is None:
        return KeyRefusal(f"key id {key_id!r} is not an http(s) URL")
    doc_id = document.get("id")
    if doc_id == key_id:
        entry: Mapping[str, Any] | None = document
        owner = _entry_owner(document)
    else:
        entry, _ = _find_entry(document, key_id)
        owner = _entry_owner(entry) if entry is not None else None
        if entry is not None and owner != doc_id:
            return KeyRefusal(f"document {doc_id!r} lists key {key_id!r} owned by {owner!r}")
    if entry is None or owner is None:
        return KeyRefusal(f"document does not describe key {key_id!r}")
    if _origin(owner) != key_origin:
        return KeyRefusal(f"key {key_id!r} names an owner on another origin: {owner!r}")
    try:
        public_key: PublicKey | None = _entry_key(entry)
    except InvalidKey:
        public_key = None
    return KeyDocument(key_id, owner, public_key)


async def resolve_key_owner(http: SafeHttpClient, key_id: str) -> str | KeyRefusal:
    """The actor URI owning ``key_id``: the fragment-less URI, or the owner the key URL names.

    The key URL is fetched through ``http`` (SSRF guard, no cross-origin
    redirect, AS2 content type); its ``id`` is not required to equal the URL,
    since GoToSocial answers with an actor stub, but nothing from it is
    trusted beyond the owner's URI, which must be on the key's origin.
    Transport failures raise FetchError.
    """
    owner = key_owner_uri(key_id)
    if owner is not None:
        return owner
    if _origin(key_id) is None:
        return KeyRefusal(f"key id {key_id!r} is not an http(s) URL")
    response = await http.request(
        "GET", key_id, headers={"Accept": AP_ACCEPT}, allow_cross_origin_redirects=False
    )
    response.raise_for_status()
    content_types = response.headers.get_list("content-type")
    if len(content_types) != 1 or not is_activity_json(content_types[0]):
        raise InvalidDocument("key document is not ActivityStreams", url=response.final_url)
    try:
        document = parse_json(response.body, http.limits.max_json_depth)
    except InvalidJSON as exc:
        raise InvalidDocument(str(exc), url=response.final_url) from None
    if not isinstance(document, dict):
        raise InvalidDocument("key document is not a JSON object", url=response.final_url)
    found = parse_key_document(document, key_id)
    return found if isinstance(found, KeyRefusal) else found.owner


# -- the actor view --------------------------------------------------------------


class InvalidActor(InvalidDocument):
    """An actor document we refuse (not an actor, or endpoints off its origin)."""


def _ref(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        ident = value.get("id")
        return ident if isinstance(ident, str) and ident else None
    return None


def _media_url(value: object) -> str | None:
    for item in _items(value):
        url = item if isinstance(item, str) else None
        if isinstance(item, Mapping):
            inner = item.get("url")
            if isinstance(inner, Mapping):
                inner = inner.get("href")
            if isinstance(inner, list):
                inner = next((u for u in inner if isinstance(u, str)), None)
            url = inner if isinstance(inner, str) else _ref(item.get("href"))
        if url is not None and _origin(url) is not None:
            return url
    return None


MAX_FIELDS = 16
MAX_FIELD_NAME = 255
MAX_FIELD_VALUE = 2048


@dataclass(frozen=True, slots=True)
class RemoteActor:
    """A validated actor document (build it with :meth:`from_document`)."""

    id: str
    type: str
    inbox: str
    preferred_username: str | None
    name: str | None
    summary: str | None
    outbox: str | None
    followers: str | None
    following: str | None
    featured: str | None
    shared_inbox: str | None
    manually_approves_followers: bool
    discoverable: bool | None
    posting_restricted_to_mods: bool
    icon_url: str | None
    image_url: str | None
    url: str | None
    published: datetime | None
    keys: tuple[ActorKey, ...]
    # Profile metadata (Mastodon's PropertyValue attachments): (name, value HTML) pairs.
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def origin(self) -> Origin:
        return origin_of(self.id)

    @property
    def is_group(self) -> bool:
        return self.type == "Group"

    @property
    def delivery_inbox(self) -> str:
        """The shared inbox when there is one, else the actor's inbox."""
        return self.shared_inbox or self.inbox

    def key(self, key_id: str) -> ActorKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)

    @classmethod
    def from_document(cls, document: object, *, expected_id: str | None = None) -> RemoteActor:
        """Validate ``document``; raise :class:`InvalidActor` with the reason."""
        if not isinstance(document, Mapping):
            raise InvalidActor("actor document is not a JSON object", url=expected_id or "")
        raw_id = document.get("id")
        where = raw_id if isinstance(raw_id, str) else (expected_id or "")
        origin = _origin(raw_id)
        if not isinstance(raw_id, str) or origin is None:
            raise InvalidActor("actor has no http(s) id", url=where)
        actor_id = raw_id
        if expected_id is not None and actor_id != expected_id:
            raise InvalidActor(
                f"document is the actor {actor_id!r}, not {expected_id!r}", url=where
            )
        view = ASObject(document)
        kind = next((t for t in view.types if t in ACTOR_TYPES), None)
        if kind is None:
            raise InvalidActor(f"type {view.types!r} is not an actor type", url=where)

        def same_origin(field_name: str, value: str | None) -> str | None:
            if value is None:
                return None
            value_origin = _origin(value)
            if value_origin is None:
                raise InvalidActor(f"{field_name} {value!r} is not an http(s) URL", url=where)
            if value_origin != origin:
                raise InvalidActor(f"{field_name} {value!r} is on another origin", url=where)
            return value

        inbox = same_origin("inbox", _ref(document.get("inbox")))
        if inbox is None:
            raise InvalidActor("actor has no inbox", url=where)
        endpoints = document.get("endpoints")
        shared = _ref(endpoints.get("sharedInbox")) if isinstance(endpoints, Mapping) else None

        username = document.get("preferredUsername")
        if username is not None and (
            not isinstance(username, str) or not _valid_username(username)
        ):
            raise InvalidActor(f"preferredUsername {username!r} is not valid", url=where)

        url = view.url
        if url is not None and (_origin(url) is None or urlsplit(url).hostname != origin.host):
            url = None  # TC05: a profile link on another host is dropped
        discoverable = document.get("discoverable")
        return cls(
            id=actor_id,
            type=kind,
            inbox=inbox,
            preferred_username=username,
            name=view.name,
            summary=view.summary,
            outbox=same_origin("outbox", _ref(document.get("outbox"))),
            followers=same_origin("followers", _ref(document.get("followers"))),
            following=same_origin("following", _ref(document.get("following"))),
            featured=same_origin("featured", _ref(document.get("featured"))),
            shared_inbox=same_origin("sharedInbox", shared),
            manually_approves_followers=document.get("manuallyApprovesFollowers") is True,
            discoverable=discoverable if isinstance(discoverable, bool) else None,
            posting_restricted_to_mods=document.get("postingRestrictedToMods") is True,
            icon_url=_media_url(document.get("icon")),
            image_url=_media_url(document.get("image")),
            url=url,
            published=parse_datetime(document.get("published")),
            keys=actor_keys(document),
            fields=tuple(
                ((item.name or "")[:MAX_FIELD_NAME], (item.value or "")[:MAX_FIELD_VALUE])
                for item in view.attachments
                if item.type == "PropertyValue" and item.name
            )[:MAX_FIELDS],
        )


def _valid_username(value: str) -> bool:
    return (
        0 < len(value) <= _MAX_USERNAME
        and value.isprintable()
        and not any(ch.isspace() or ch in "@/:?#" for ch in value)
    )
