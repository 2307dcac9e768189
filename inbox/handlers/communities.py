"""What remote groups send to their local members (FEP-1b12).

``Announce`` of an activity (Lemmy, PieFed, Mbin, NodeBB, Friendica, fediverse-cop):
the announced post, edit, deletion or like is applied under the origin rules of
:func:`fediverse_cop.services.groups.receive_group_announce`, and a post by the group
itself joins its library (:func:`fediverse_cop.services.resources.after_group_announce`).
``Announce`` of a post id (what groups send to microblog servers) is the ordinary boost
handler's.
``Reject`` of a ``Create``: a group refused a local member's post.
"""

from __future__ import annotations

from fediverse_cop.services import groups, moderation_groups, resources
from inbox.dispatch import Handling, handles
from inbox.handlers.statuses import refusing


@handles("Announce", "Create", "Update", "Delete", "Like")
@refusing
async def on_group_announce(handling: Handling) -> None:
    # A moderator's removal of a post, or an update of the group itself.
    fed, group, activity = handling.fed, handling.actor, handling.activity
    if await moderation_groups.receive_announced_removal(fed, group, activity):
        return
    if await moderation_groups.receive_announced_update(fed, group, activity):
        return
    await groups.receive_group_announce(handling.fed, handling.actor, handling.activity)
    # The group's own post is a resource of its library.
    await resources.after_group_announce(group, activity)


@handles("Reject", "Create")
@refusing
async def on_post_rejected(handling: Handling) -> None:
    await groups.receive_rejection(handling.actor, handling.activity)
