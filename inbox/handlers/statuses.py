"""Create, Update, Delete and Announce of posts (Note, Question, Page, Article), Undo(Announce).

The rules live in :mod:`fediverse_cop.services.incoming`; a refusal there
(:class:`~fediverse_cop.services.incoming.NotAccepted`) fails the item with its reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from fediverse_cop.services import groups, incoming, moderation_groups
from inbox.dispatch import Handler, Handling, Refused, handles

POSTS = ("Note", "Question", "Page", "Article")
ACTORS = ("Person", "Service", "Group", "Organization")


def refusing(handler: Callable[[Handling], Awaitable[None]]) -> Handler:
    """Turn the service's NotAccepted into Refused (the item fails with the reason)."""

    @wraps(handler)
    async def run(handling: Handling) -> None:
        try:
            await handler(handling)
        except incoming.NotAccepted as exc:
            raise Refused(str(exc)) from None

    return run


@handles("Create", *POSTS)
@refusing
async def on_create(handling: Handling) -> None:
    # A post into one of our communities is judged, stored and announced there.
    if await groups.receive_create(handling.fed, handling.actor, handling.activity):
        return
    await incoming.create_post(handling.fed, handling.actor, handling.activity)


@handles("Update", *POSTS)
@refusing
async def on_update(handling: Handling) -> None:
    status = await incoming.update_post(handling.actor, handling.activity)
    await groups.after_remote_update(handling.fed, status, handling.activity)


@handles("Delete", *POSTS, "Tombstone", "Object", *ACTORS)
@refusing
async def on_delete(handling: Handling) -> None:
    # A community moderator removing someone else's post in one of our communities.
    if await moderation_groups.receive_removal(handling.fed, handling.actor, handling.activity):
        return
    in_community = await groups.community_post(handling.fed, handling.activity.object_id)
    await incoming.delete_object(handling.fed, handling.actor, handling.activity)
    await groups.after_remote_delete(handling.fed, in_community, handling.activity)


@handles("Announce", *POSTS, "Object")
@refusing
async def on_announce(handling: Handling) -> None:
    await incoming.announce_post(handling.fed, handling.actor, handling.activity)


@handles("Announce", "Announce")
async def on_announce_of_announce(handling: Handling) -> None:
    raise Refused("an Announce of an Announce is not followed")


def _inner_id(handling: Handling) -> str | None:
    inner = handling.activity.object
    return inner.id if inner is not None else handling.activity.object_id


@handles("Undo", "Announce")
@refusing
async def on_undo_announce(handling: Handling) -> None:
    announce_id = _inner_id(handling)
    if announce_id is not None:
        await incoming.undo_announce(handling.actor, announce_id)


@handles("Undo", "Object")
@refusing
async def on_undo_by_id(handling: Handling) -> None:
    """Undo naming only an id: a like or a boost of the actor's, else nothing."""
    object_id = handling.activity.object_id
    if object_id is None:
        return
    if not await incoming.undo_like(handling.actor, object_id):
        await incoming.undo_announce(handling.actor, object_id)
