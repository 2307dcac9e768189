"""Votes in polls from other servers: ``Create{Note}`` with the chosen option as ``name``,
``inReplyTo`` the ``Question`` and no content (Mastodon, FEP-9967), or Pleroma's
``Create{Answer}``.

A vote on one of our polls is counted (never stored as a reply), once per remote
account (per option for a multiple-choice poll), only while the poll runs and only
from an account that may see the poll. A Note of that shape that does not answer a
known poll is an ordinary post. ``Update{Question}`` (new counts of a remote poll)
is handled with the other updates (:func:`fediverse_cop.services.incoming.update_post`).
"""

from __future__ import annotations

from activitypub.origins import OriginRefusal, check_object_origin
from fediverse_cop.models import Poll, Status
from fediverse_cop.services import incoming, polls
from fediverse_cop.services.visibility import can_view
from inbox.dispatch import VOTE, Handling, Refused, handles
from inbox.handlers import statuses


@handles("Create", VOTE, "Answer")
@statuses.refusing
async def on_vote(handling: Handling) -> None:
    actor, activity = handling.actor, handling.activity
    obj = activity.object
    if obj is None or obj.id is None or obj.in_reply_to is None or not obj.name:
        raise Refused("a vote needs an embedded object with a name and inReplyTo")
    status = await Status.get_or_none(uri=obj.in_reply_to, reblog_of_id=None)
    poll = await Poll.get_or_none(status_id=status.id) if status is not None else None
    if status is None or poll is None:
        if obj.has_type("Answer"):
            raise Refused(f"{obj.in_reply_to} is not a known poll")
        await statuses.on_create(handling)  # a reply that only looks like a vote
        return
    await incoming.ensure_actor_may_post(actor)
    origin = check_object_origin(obj.data, delivered_by_actor=actor.uri)
    if isinstance(origin, OriginRefusal):
        raise Refused(origin.reason)
    if obj.attributed_to_ids not in ((), (actor.uri,)):
        raise Refused(f"{obj.id} is attributed to {obj.attributed_to!r}, not to {actor.uri}")
    if not status.local:
        raise Refused(f"{status.uri} is a poll of another server")
    if status.deleted_at is not None or not await can_view(status, actor):
        raise Refused(f"{actor.uri} cannot see {status.uri}")
    try:
        await polls.receive_vote(actor, poll, status, obj.name, obj.id)
    except polls.VoteRefused as exc:
        raise Refused(str(exc)) from None
