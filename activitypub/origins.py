"""Origin rules of FEP-fe34 as pure functions: who may speak for an object.

An origin is (scheme, host, port) (:class:`~activitypub.domains.Origin`). The
origin of an object is derived from its ``id`` and from nothing else: never
from ``url``, ``attributedTo`` or the host it was relayed through.

:func:`check_object_origin` decides whether an object can be trusted:

* it is *authenticated* when it was fetched from its own origin
  (``fetched_from``: the final URL of the fetch) or delivered by an actor of its
  origin (``delivered_by_actor``: the owner of the key that signed the
  request, or of the activity that embeds the object). Every source the caller
  passes must share the object's origin; with no source the object is refused;
* its ``attributedTo`` and ``actor`` must share its origin (a Note on
  ``victim.example`` cannot be written by ``other.example``: THREATS TC04).

:func:`check_authority` is the owner rule for activities that change an
object: ``Update``, ``Delete`` and ``Undo`` are accepted only from the owner,
that is ``actor == object.attributedTo`` for notes and other objects,
``actor == object.id`` for actors, ``actor == object.actor`` for activities
(THREATS TC14; hosts do not matter, the actor does).

:func:`safe_url` keeps an object's ``url`` only when it is on the host of its
``id`` (THREATS TC05).

Refusals are returned, not raised: :class:`OriginRefusal` carries a reason
that is safe to log. Nothing here raises on arbitrary input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from activitypub.actors import ACTOR_TYPES
from activitypub.domains import InvalidDomain, Origin, origin_of
from activitypub.vocab import ASObject

__all__ = [
    "OWNER_ONLY_TYPES",
    "OriginRefusal",
    "check_authority",
    "check_object_origin",
    "object_owner",
    "safe_url",
    "same_origin",
]

OWNER_ONLY_TYPES: Final = frozenset({"Update", "Delete", "Undo"})
"""Activities that only the owner of their object may send."""


@dataclass(frozen=True, slots=True)
class OriginRefusal:
    """Why an object or activity is not trusted; safe to log and to return to the peer."""

    reason: str


def _origin(value: object) -> Origin | None:
    if not isinstance(value, str):
        return None
    try:
        return origin_of(value)
    except InvalidDomain:
        return None


def same_origin(a: object, b: object) -> bool:
    """True when both are http(s) URLs with the same scheme, host and port."""
    first = _origin(a)
    return first is not None and first == _origin(b)


def check_object_origin(
    obj: object,
    *,
    fetched_from: str | None = None,
    delivered_by_actor: str | None = None,
) -> Origin | OriginRefusal:
    """The origin of ``obj`` when it may be trusted, else the reason it may not.

    ``fetched_from`` is the final URL the object was read from (after
    redirects); ``delivered_by_actor`` the actor that authenticated the
    delivery. At least one must be given, and each one given must be on the
    object's origin. (The exact ``id == final URL`` check of a fetch is
    :meth:`~activitypub.http.SafeHttpClient.fetch_ap`'s; this is the origin rule
    that also applies to embedded objects.)
    """
    if not isinstance(obj, Mapping):
        return OriginRefusal("object is not a JSON object")
    view = ASObject(obj)
    object_id = view.id
    origin = _origin(object_id)
    if origin is None:
        return OriginRefusal(f"object id {object_id!r} is not an http(s) URL")
    if fetched_from is None and delivered_by_actor is None:
        return OriginRefusal(f"{object_id!r} was neither fetched nor delivered by its origin")
    if fetched_from is not None and _origin(fetched_from) != origin:
        return OriginRefusal(f"{object_id!r} was fetched from another origin: {fetched_from!r}")
    if delivered_by_actor is not None and _origin(delivered_by_actor) != origin:
        return OriginRefusal(
            f"{object_id!r} was delivered by {delivered_by_actor!r}, of another origin"
        )
    for field_name, ids in (("attributedTo", view.attributed_to_ids), ("actor", view.actor_ids)):
        for ident in ids:
            if _origin(ident) != origin:
                return OriginRefusal(
                    f"{field_name} {ident!r} is not on the origin of {object_id!r}"
                )
    return origin


def object_owner(obj: object) -> str | None:
    """Who owns ``obj``: an actor owns itself, an activity its ``actor``, an object its author.

    None when the owner cannot be told (no id, several authors or actors, a
    bare Tombstone).
    """
    if not isinstance(obj, Mapping):
        return None
    view = ASObject(obj)
    if any(kind in ACTOR_TYPES for kind in view.types):
        return view.id
    for ids in (view.attributed_to_ids, view.actor_ids):
        if ids:
            return ids[0] if len(ids) == 1 else None
    return None


def check_authority(activity: object, stored: object = None) -> OriginRefusal | None:
    """None when the activity's actor may do it to its object, else the refusal.

    Only ``Update``, ``Delete`` and ``Undo`` are restricted (``Create``,
    ``Announce``, ``Like`` and the rest may name anyone's object). ``stored`` is
    the copy of the object that the caller already holds or has fetched from
    its origin; when given, it decides the owner, since an embedded copy says
    whatever the sender wants. Without ``stored``, the embedded object decides,
    or the object id when an actor deletes or updates itself; an object known
    by id only is refused (the caller must look it up first).
    """
    if not isinstance(activity, Mapping):
        return OriginRefusal("activity is not a JSON object")
    view = ASObject(activity)
    kinds = [kind for kind in view.types if kind in OWNER_ONLY_TYPES]
    if not kinds:
        return None
    actors = view.actor_ids
    if len(actors) != 1:
        return OriginRefusal(f"{kinds[0]} must have exactly one actor")
    actor = actors[0]
    object_ids = view.object_ids
    if len(object_ids) != 1:
        return OriginRefusal(f"{kinds[0]} must have exactly one object")
    object_id = object_ids[0]
    embedded = view.object
    target: object = stored
    if target is None and embedded is not None:
        target = embedded.data
    if target is None:
        if object_id == actor:
            return None
        return OriginRefusal(f"the owner of {object_id!r} is not known")
    if not isinstance(target, Mapping) or ASObject(target).id != object_id:
        return OriginRefusal(f"the object given for {object_id!r} is another object")
    owner = object_owner(target)
    if owner is None:
        return OriginRefusal(f"the owner of {object_id!r} is not known")
    if owner != actor:
        return OriginRefusal(f"{actor!r} may not {kinds[0]} {object_id!r}, owned by {owner!r}")
    return None


def safe_url(obj: object) -> str | None:
    """The object's ``url`` when it is an http(s) URL on the host of its ``id``, else None.

    The host is compared, not the whole origin, so an ``https`` profile page of
    an object whose id uses another port or scheme on the same host is kept.
    """
    if not isinstance(obj, Mapping):
        return None
    view = ASObject(obj)
    id_origin = _origin(view.id)
    url = view.url
    url_origin = _origin(url)
    if id_origin is None or url_origin is None or url_origin.host != id_origin.host:
        return None
    return url
