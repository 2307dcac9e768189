"""Follow, Accept, Reject and Undo(Follow): people following people, members joining groups."""

from __future__ import annotations

from fediverse_cop.models import Account, ActorType, Follow, FollowState
from fediverse_cop.services import follows, groups, resources
from inbox.dispatch import Handling, Refused, handles


async def _local_target(handling: Handling, uri: str | None) -> Account:
    target = await Account.get_or_none(uri=uri, local=True) if uri else None
    if target is None or target.is_suspended:
        raise Refused(f"no local actor {uri}")
    return target


@handles("Follow", "Person", "Group", "Application")
async def on_follow(handling: Handling) -> None:
    target = await _local_target(handling, handling.activity.object_id)
    if handling.actor.is_suspended:
        raise Refused("a suspended account cannot follow")
    follow_id = handling.activity.id or ""
    if target.actor_type is ActorType.GROUP:
        # Banned members are refused; the server of a new member is asked what it runs.
        if await groups.refuse_join(handling.fed, handling.actor, target, follow_id):
            return
        await groups.learn_peer(handling.fed, handling.actor)
    await follows.incoming_follow(handling.fed, handling.actor, target, follow_id)


async def _our_follow(handling: Handling) -> Follow:
    """The Follow of ours that an Accept/Reject answers, which must be addressed to its sender."""
    inner = handling.activity.object
    follow_id = inner.id if inner is not None else handling.activity.object_id
    follow = await Follow.get_or_none(uri=follow_id).select_related("account", "target")
    if follow is None or not follow.account.local:
        raise Refused(f"no follow {follow_id} of ours")
    if follow.target.uri != handling.actor.uri:
        raise Refused("only the followed actor can answer a follow")
    return follow


@handles("Accept", "Follow")
async def on_accept(handling: Handling) -> None:
    follow = await _our_follow(handling)
    if follow.state is not FollowState.ACCEPTED:
        follow.state = FollowState.ACCEPTED
        await follow.save(update_fields=["state", "updated_at"])
        # Joined a remote community: its library (resources, featured) is read once.
        await resources.after_joining(handling.fed, follow.target)


@handles("Reject", "Follow")
async def on_reject(handling: Handling) -> None:
    follow = await _our_follow(handling)
    await follow.delete()


@handles("Undo", "Follow")
async def on_undo_follow(handling: Handling) -> None:
    inner = handling.activity.object
    follow_id = inner.id if inner is not None else handling.activity.object_id
    follow = await Follow.get_or_none(uri=follow_id).select_related("account")
    if follow is None:
        return  # never seen, or already undone
    if follow.account.uri != handling.actor.uri:
        raise Refused("only the follower can undo a follow")
    await follow.delete()
