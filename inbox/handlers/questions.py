"""PieFed's ``ChooseAnswer`` (and its ``Undo``): the accepted answer of a community question.

Sent to one of our communities by the asker or a trainer or moderator, or announced
by a remote group; the rules are :mod:`fediverse_cop.services.questions`'.
``Announce{Undo{…}}`` from a remote group is registered by
:mod:`inbox.handlers.group_moderation`; an undone ``ChooseAnswer`` belongs to
:func:`on_announced_undo_choose_answer`.
"""

from __future__ import annotations

from fediverse_cop.models import Account, ActorType
from fediverse_cop.services import questions
from fediverse_cop.services.errors import ServiceError
from fediverse_cop.services.incoming import NotAccepted
from fediverse_cop.services.remote import Federation, RemoteUnavailable, fetch_actor
from inbox.dispatch import Handling, handles
from inbox.handlers.statuses import POSTS, refusing


@handles(questions.CHOOSE_ANSWER, *POSTS, "Object")
@refusing
async def on_choose_answer(handling: Handling) -> None:
    await questions.receive_choose_answer(handling.fed, handling.actor, handling.activity)


@handles("Undo", questions.CHOOSE_ANSWER)
@refusing
async def on_undo_choose_answer(handling: Handling) -> None:
    await questions.receive_undo_answer(handling.fed, handling.actor, handling.activity)


async def announcing_actor(fed: Federation, group: Account, uri: str | None) -> Account:
    """The actor of an activity a group announces (known, or fetched)."""
    if group.actor_type is not ActorType.GROUP:
        raise NotAccepted("only a group announces activities")
    if uri is None:
        raise NotAccepted("the announced activity has no actor")
    known = await Account.get_or_none(uri=uri)
    if known is not None:
        return known
    try:
        return await fetch_actor(fed, uri)
    except RemoteUnavailable as exc:
        if exc.retryable:
            raise
        raise NotAccepted(f"{uri} is not available: {exc}") from None
    except ServiceError as exc:
        raise NotAccepted(f"{uri} is not available: {exc}") from None


@handles("Announce", questions.CHOOSE_ANSWER)
@refusing
async def on_announced_choose_answer(handling: Handling) -> None:
    inner = handling.activity.object
    if inner is None:
        raise NotAccepted("the announced ChooseAnswer is not embedded")
    actor = await announcing_actor(handling.fed, handling.actor, inner.actor_id)
    await questions.receive_choose_answer(handling.fed, actor, inner, announced_by=handling.actor)


async def on_announced_undo_choose_answer(handling: Handling) -> None:
    """``Announce{Undo{ChooseAnswer}}`` from a remote group."""
    undo = handling.activity.object
    if undo is None:
        raise NotAccepted("the announced Undo is not embedded")
    actor = await announcing_actor(handling.fed, handling.actor, undo.actor_id)
    await questions.receive_undo_answer(handling.fed, actor, undo, announced_by=handling.actor)
