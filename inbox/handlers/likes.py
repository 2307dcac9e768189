"""Like of a known post (a favourite) and Undo(Like)."""

from __future__ import annotations

from fediverse_cop.services import groups, incoming
from inbox.dispatch import Handling, handles
from inbox.handlers.statuses import POSTS, refusing


@handles("Like", *POSTS, "Object")
@refusing
async def on_like(handling: Handling) -> None:
    favourite = await incoming.like_post(handling.actor, handling.activity)
    await groups.after_remote_like(handling.fed, favourite, handling.activity)


@handles("Undo", "Like")
@refusing
async def on_undo_like(handling: Handling) -> None:
    inner = handling.activity.object
    if inner is None or inner.id is None:
        return
    await incoming.undo_like(handling.actor, inner.id, inner.object_id)
