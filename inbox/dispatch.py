"""One dispatch table: (activity type, object type) → handler.

Registering the same pair twice is an error at import time. An activity with no
handler is recorded as unhandled (and counted), never treated as a failure. A
handler refuses an activity it must not apply by raising :class:`Refused`; any
other exception is a transient failure and the item is retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from activitypub.uris import Kind
from activitypub.vocab import ASObject
from fediverse_cop.models import Account, Follow, InboxItem
from fediverse_cop.services.remote import Federation


class Refused(Exception):
    """The activity is authentic but must not be applied (e.g. not the owner's)."""


@dataclass(frozen=True, slots=True)
class Handling:
    fed: Federation
    item: InboxItem
    activity: ASObject
    actor: Account

    @property
    def raw(self) -> dict[str, Any]:
        return self.item.activity


Handler = Callable[[Handling], Awaitable[None]]
_TABLE: dict[tuple[str, str], Handler] = {}

# The object type of a vote in a poll: a Note with the option as its ``name``, replying to
# the Question, without content (Mastodon's shape, FEP-9967). See inbox/handlers/polls.py.
VOTE = "Vote"


def is_vote(obj: ASObject) -> bool:
    return (
        obj.has_type("Note")
        and bool(obj.name)
        and obj.in_reply_to is not None
        and not (obj.content or "").strip()
    )


def handles(activity_type: str, *object_types: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for object_type in object_types:
            key = (activity_type, object_type)
            if key in _TABLE:
                raise RuntimeError(f"two handlers for {key}")
            _TABLE[key] = handler
        return handler

    return register


def registered() -> dict[tuple[str, str], Handler]:
    return dict(_TABLE)


async def object_type(fed: Federation, activity: ASObject) -> str:
    """The type of the activity's object: embedded, one of ours, or ``Object``."""
    embedded = activity.object
    if embedded is not None and embedded.type:
        return VOTE if is_vote(embedded) else embedded.type
    object_id = activity.object_id
    if object_id is None:
        return "Object"
    parsed = fed.ctx.uris.parse(object_id)
    if parsed is not None:
        return {
            Kind.USER: "Person",
            Kind.COMMUNITY: "Group",
            Kind.INSTANCE_ACTOR: "Application",
        }.get(parsed.kind, "Follow" if await Follow.exists(uri=object_id) else "Object")
    if await Follow.exists(uri=object_id):
        return "Follow"
    return "Object"


def lookup(activity_type: str, object_kind: str) -> Handler | None:
    return _TABLE.get((activity_type, object_kind))
