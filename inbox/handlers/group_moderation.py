"""Community moderation received (Lemmy's set, FEP-1b12).

Two ways in, both in :mod:`fediverse_cop.services.moderation_groups`:

* to a local community's inbox, from a remote account holding a moderator role
  there: ``Lock``, ``Undo{Lock|Delete}``, ``Add``/``Remove`` to ``featured`` or
  the moderators collection, ``Resolve{Flag}`` (registered here), and ``Delete``
  of someone else's post, ``Block{target}``, ``Undo{Block{target}}``,
  ``Update{Group}``, ``Flag`` to the community (the ordinary handlers of those
  activities hand them over with the functions below);
* from a remote group a local member follows, announced by it:
  ``Announce{Block|Lock|Add|Remove|Undo|Flag|Resolve}`` (here), and
  ``Announce{Delete|Update}`` of a moderator (handed over by the group handler).
  ``Announce{Undo{ChooseAnswer}}`` arrives here too and goes to the questions handler.

A refusal fails the item with its reason; nothing is applied.
"""

from __future__ import annotations

from fediverse_cop.services import moderation_groups as moderation
from fediverse_cop.services.incoming import NotAccepted
from inbox.dispatch import Handling, Refused, handles
from inbox.handlers import questions
from inbox.handlers.statuses import POSTS, refusing

ANNOUNCED = ("Block", "Lock", "Add", "Remove", "Undo", "Flag", "Resolve")


@handles("Announce", *ANNOUNCED)
@refusing
async def on_announced_moderation(handling: Handling) -> None:
    inner = handling.activity.object
    undone = inner.object if inner is not None and inner.type == "Undo" else None
    if undone is not None and undone.type == "ChooseAnswer":
        # ``Announce{Undo{ChooseAnswer}}`` shares this key: the questions handler's.
        await questions.on_announced_undo_choose_answer(handling)
        return
    await moderation.receive_announced(handling.fed, handling.actor, handling.activity)


@handles("Lock", *POSTS, "Object")
@refusing
async def on_lock(handling: Handling) -> None:
    await moderation.receive_lock(handling.fed, handling.actor, handling.activity, locked=True)


@handles("Undo", "Lock")
@refusing
async def on_undo_lock(handling: Handling) -> None:
    await moderation.receive_lock(handling.fed, handling.actor, handling.activity, locked=False)


@handles("Undo", "Delete")
@refusing
async def on_undo_removal(handling: Handling) -> None:
    await moderation.receive_undo_removal(handling.fed, handling.actor, handling.activity)


@handles("Add", *POSTS, "Object", "Person")
@handles("Remove", *POSTS, "Object", "Person")
@refusing
async def on_collection_change(handling: Handling) -> None:
    await moderation.receive_collection_change(handling.fed, handling.actor, handling.activity)


@handles("Block", "Object")
@refusing
async def on_block_unknown(handling: Handling) -> None:
    """A Block of an account we have not stored: only a community ban is followed."""
    if handling.activity.target_id is None:
        raise Refused("the blocked actor is not ours")
    await moderation.receive_ban(handling.fed, handling.actor, handling.activity)


@handles("Resolve", "Flag", "Object")
@refusing
async def on_resolve(handling: Handling) -> None:
    await moderation.receive_resolve(handling.fed, handling.actor, handling.activity)


# -- hand-overs from the ordinary handlers --------------------------------------------------------


async def community_ban(handling: Handling) -> bool:
    """A ``Block`` with a ``target``: a community ban (True when handled here)."""
    if handling.activity.target_id is None:
        return False
    try:
        await moderation.receive_ban(handling.fed, handling.actor, handling.activity)
    except NotAccepted as exc:
        raise Refused(str(exc)) from None
    return True


async def community_unban(handling: Handling) -> bool:
    """``Undo{Block}`` whose Block has a ``target``: a ban lifted (True when handled here)."""
    inner = handling.activity.object
    if inner is None or inner.target_id is None:
        return False
    try:
        await moderation.receive_unban(handling.fed, handling.actor, handling.activity)
    except NotAccepted as exc:
        raise Refused(str(exc)) from None
    return True


async def community_flag(handling: Handling) -> bool:
    """A ``Flag`` addressed to a local community (True when handled here)."""
    try:
        return await moderation.receive_flag(handling.fed, handling.actor, handling.activity)
    except NotAccepted as exc:
        raise Refused(str(exc)) from None


async def community_update(handling: Handling) -> bool:
    """``Update{Group}`` of a local community by someone else than the group."""
    if handling.activity.object_id == handling.actor.uri:
        return False
    try:
        return await moderation.receive_group_update(
            handling.fed, handling.actor, handling.activity
        )
    except NotAccepted as exc:
        raise Refused(str(exc)) from None
