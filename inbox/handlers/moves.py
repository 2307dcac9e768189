"""Move: an account moved to a new one; local followers follow the new account instead.

Accepted only when the old account itself announces it (``actor`` = ``object``)
and the new account, fetched from its own origin, lists the old one in
``alsoKnownAs`` (as Mastodon checks); a new account of this server must list it
among its aliases (:func:`fediverse_cop.services.moves.add_alias`).
"""

from __future__ import annotations

from activitypub.actors import RemoteActor
from activitypub.errors import FetchError
from fediverse_cop.models import Account, Follow
from fediverse_cop.services import follows
from fediverse_cop.services.errors import ServiceError
from fediverse_cop.services.remote import store_actor
from inbox.dispatch import Handling, Refused, handles


@handles("Move", "Person", "Service", "Object")
async def on_move(handling: Handling) -> None:
    old = handling.actor
    if handling.activity.object_id != old.uri:
        raise Refused("an actor can only move itself")
    target_uri = handling.raw.get("target")
    if not isinstance(target_uri, str) or target_uri == old.uri:
        raise Refused("a Move needs a target")
    local = await Account.get_or_none(uri=target_uri, local=True)
    if local is not None:
        # Someone moving here: our account must list the old one (``user add-alias``).
        if old.uri not in local.also_known_as:
            raise Refused("the new account does not list the old one in alsoKnownAs")
        new = local
    else:
        try:
            document = await handling.fed.http.fetch_ap(target_uri, auth=handling.fed.signer)
            actor = RemoteActor.from_document(document.document, expected_id=target_uri)
        except FetchError as exc:
            raise Refused(f"the new account could not be fetched: {exc}") from None
        aliases = document.document.get("alsoKnownAs")
        aliases = aliases if isinstance(aliases, list) else [aliases]
        if old.uri not in aliases:
            raise Refused("the new account does not list the old one in alsoKnownAs")
        new = await store_actor(handling.fed, actor, handle=None)
    old.moved_to = new
    await old.save(update_fields=["moved_to_id", "updated_at"])
    for row in await Follow.filter(target=old, account__local=True).select_related("account"):
        follower: Account = row.account
        await row.delete()
        try:
            await follows.follow(handling.fed, follower, new)
        except ServiceError:
            continue  # blocked either way: the follow simply ends
