"""Following: local people following anyone, remote actors following local ones.

A follow of a remote actor is pending until its Accept arrives. A remote follow of a
local account is accepted at once unless the account approves followers by hand
(a locked account, or an approval community), in which case it waits as a follow
request.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from activitypub import vocab
from activitypub.uris import Kind
from fediverse_cop.ids import new_id
from fediverse_cop.models import Account, AccountBlock, Follow, FollowState, NotificationType
from fediverse_cop.services import notifications
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.remote import Federation
from outbox.enqueue import enqueue


def activity_uri(ctx: ServerContext) -> str:
    return ctx.uris.build(Kind.ACTIVITY, id=str(new_id()))


def follow_activity(follow: Follow, follower: Account, target: Account) -> dict[str, object]:
    return vocab.follow(id=follow.uri or "", actor=follower.uri, object=target.uri)


async def follow(fed: Federation, follower: Account, target: Account) -> Follow:
    """``follower`` (local) follows ``target``; remote targets get a Follow activity."""
    if not follower.local:
        raise Invalid("only local accounts follow from here")
    if follower.id == target.id:
        raise Invalid("an account cannot follow itself")
    if await AccountBlock.exists(account=target, target=follower) or await AccountBlock.exists(
        account=follower, target=target
    ):
        raise Invalid(f"{target.handle} cannot be followed: one of you blocks the other")
    existing = await Follow.get_or_none(account=follower, target=target)
    if existing is not None:
        return existing
    state = FollowState.PENDING
    if target.local and not target.manually_approves_followers:
        state = FollowState.ACCEPTED
    try:
        row = await Follow.create(
            account=follower, target=target, state=state, uri=activity_uri(fed.ctx)
        )
    except IntegrityError:
        return await Follow.get(account=follower, target=target)
    await notifications.notify(target, follower, _follow_notification(row))
    if not target.local:
        # The same key as the Undo's, so a retried Follow never overtakes it.
        await enqueue(
            follow_activity(row, follower, target),
            follower,
            [target.uri],
            ordering_key=row.uri or "",
        )
    return row


async def unfollow(fed: Federation, follower: Account, target: Account) -> None:
    row = await Follow.get_or_none(account=follower, target=target)
    if row is None:
        raise NotFound(f"{follower.handle} does not follow {target.handle}")
    await row.delete()
    if not target.local:
        undo = vocab.undo(
            id=activity_uri(fed.ctx),
            actor=follower.uri,
            object=follow_activity(row, follower, target),
            to=[target.uri],
        )
        await enqueue(undo, follower, [target.uri], ordering_key=row.uri or "")


async def incoming_follow(
    fed: Federation, follower: Account, target: Account, follow_id: str
) -> Follow:
    """A remote actor asked to follow a local one (idempotent per follower and target)."""
    row = await Follow.get_or_none(account=follower, target=target)
    if row is None:
        state = FollowState.PENDING if target.manually_approves_followers else FollowState.ACCEPTED
        try:
            row = await Follow.create(account=follower, target=target, state=state, uri=follow_id)
        except IntegrityError:
            row = await Follow.get(account=follower, target=target)
    elif row.uri != follow_id:
        # A repeated Follow (e.g. after the remote lost its state): answer the new one.
        row.uri = follow_id
        await row.save(update_fields=["uri", "updated_at"])
    await notifications.notify(target, follower, _follow_notification(row))
    if row.state is FollowState.ACCEPTED:
        await _answer(fed, row, follower, target, accept=True)
    return row


async def answer_request(
    fed: Federation, target: Account, follower: Account, *, accept: bool
) -> None:
    """A local account (or a community's moderator for it) approves or refuses a request."""
    row = await Follow.get_or_none(account=follower, target=target, state=FollowState.PENDING)
    if row is None:
        raise NotFound(f"no follow request from {follower.handle}")
    await notifications.withdraw(target, follower, NotificationType.FOLLOW_REQUEST)
    if accept:
        row.state = FollowState.ACCEPTED
        await row.save(update_fields=["state", "updated_at"])
    else:
        await row.delete()
    await _answer(fed, row, follower, target, accept=accept)


def _follow_notification(row: Follow) -> NotificationType:
    if row.state is FollowState.ACCEPTED:
        return NotificationType.FOLLOW
    return NotificationType.FOLLOW_REQUEST


async def _answer(
    fed: Federation, row: Follow, follower: Account, target: Account, *, accept: bool
) -> None:
    if follower.local:
        return
    build = vocab.accept if accept else vocab.reject
    answer = build(
        id=activity_uri(fed.ctx),
        actor=target.uri,
        object=follow_activity(row, follower, target),
        to=[follower.uri],
    )
    await enqueue(answer, target, [follower.uri], ordering_key=row.uri or "")
