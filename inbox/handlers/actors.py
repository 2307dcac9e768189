"""Update of an actor (profile changes, key rotation): refetched from its own origin."""

from __future__ import annotations

from fediverse_cop.services.errors import ServiceError
from fediverse_cop.services.remote import fetch_actor
from inbox.dispatch import Handling, Refused, handles
from inbox.handlers import group_moderation

ACTOR_TYPES = ("Person", "Group", "Service", "Application", "Organization")


@handles("Update", *ACTOR_TYPES)
async def on_update_actor(handling: Handling) -> None:
    """Only an actor updates itself; the embedded copy is not trusted, the origin is asked.
    A moderator's Update of a local community goes to :mod:`inbox.handlers.group_moderation`."""
    if await group_moderation.community_update(handling):
        return
    if handling.activity.object_id != handling.actor.uri:
        raise Refused("an actor can only update itself")
    try:
        await fetch_actor(handling.fed, handling.actor.uri, refresh=True)
    except ServiceError as exc:
        raise Refused(f"the actor could not be refetched: {exc}") from None
