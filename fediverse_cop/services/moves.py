"""Moving a local account to another server (a student who graduates, staff who leave).

As Mastodon does it: the person first lists this account in the new account's
``alsoKnownAs`` (an alias, set on the new server), then this server checks that
alias on the new account's own document, records ``moved_to``, publishes
``movedTo`` in the actor document, and sends ``Move{object: old, target: new}``
to the followers' servers, whose followers then follow the new account (Mastodon,
GoToSocial, Misskey and this server do). The old account stays, with its posts,
and apps show it as moved (the Account entity's ``moved``).

Moving here is the other way round: the local account lists the old one as an alias
(:func:`add_alias`, published as ``alsoKnownAs``), then the person moves on the old
server, which sends ``Move``; local followers of the old account then follow the new
one (:mod:`inbox.handlers.moves`).
"""

from __future__ import annotations

import logging
from typing import Any

from tortoise.transactions import in_transaction

from activitypub import vocab
from activitypub.actors import RemoteActor
from activitypub.errors import FetchError
from fediverse_cop.models import Account, ActorType
from fediverse_cop.services import follows
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.profiles import federate_profile
from fediverse_cop.services.remote import Federation, RemoteUnavailable, resolve, store_actor
from fediverse_cop.services.visibility import PUBLIC
from outbox.enqueue import enqueue

log = logging.getLogger(__name__)


async def move_account(fed: Federation, account: Account, target: str) -> dict[str, Any]:
    """Move the local person ``account`` to ``target`` (a handle or an actor URL on
    another server); returns the ``Move`` sent. The new account must already list this
    one in its ``alsoKnownAs``."""
    if not account.local or account.actor_type is not ActorType.PERSON:
        raise Invalid("only a local user account can move")
    if not account.followers_uri:
        raise Invalid(f"{account.handle} has no followers collection")
    new = await resolve(fed, target)
    if new.local:
        raise Invalid("the new account must be on another server")
    if new.actor_type is not ActorType.PERSON:
        raise Invalid(f"{new.handle} is not a person's account")
    # The alias is read fresh from the new account's own server, never from a cache.
    try:
        fetched = await fed.http.fetch_ap(new.uri, auth=fed.signer)
        actor = RemoteActor.from_document(fetched.document, expected_id=new.uri)
    except FetchError as exc:
        raise RemoteUnavailable(f"{new.uri} could not be fetched: {exc}") from None
    aliases = fetched.document.get("alsoKnownAs")
    if account.uri not in (aliases if isinstance(aliases, list) else [aliases]):
        raise Invalid(
            f"{new.handle} does not list {account.uri} in alsoKnownAs: add this account"
            " as an alias on the new server first"
        )
    new = await store_actor(fed, actor, handle=None)
    move = vocab.move(
        id=follows.activity_uri(fed.ctx),
        actor=account.uri,
        object=account.uri,
        target=new.uri,
        to=[account.followers_uri],
        cc=[PUBLIC],
    )
    async with in_transaction():  # moved and told, or neither
        account.moved_to = new
        await account.save(update_fields=["moved_to_id", "updated_at"])
        await enqueue(move, account, [account.followers_uri], ordering_key=account.uri)
    log.info("%s moved to %s", account.uri, new.uri)
    return move


async def add_alias(fed: Federation, account: Account, old: str) -> Account:
    """List ``old`` (a handle or an actor URL on another server) as a former account of
    the local ``account``; the followers' servers get the actor's ``Update``."""
    if not account.local or account.actor_type is not ActorType.PERSON:
        raise Invalid("only a local user account has aliases")
    former = await resolve(fed, old)
    if former.local:
        raise Invalid("an alias is an account on another server")
    if former.uri not in account.also_known_as:
        account.also_known_as = [*account.also_known_as, former.uri]
        await account.save(update_fields=["also_known_as", "updated_at"])
        await federate_profile(fed, account)
    return former


async def remove_alias(fed: Federation, account: Account, old: str) -> None:
    """Forget a former account (a handle, or the URI as listed)."""
    uri = old if old in account.also_known_as else (await resolve(fed, old)).uri
    if uri not in account.also_known_as:
        raise Invalid(f"{old} is not an alias of {account.handle}")
    account.also_known_as = [alias for alias in account.also_known_as if alias != uri]
    await account.save(update_fields=["also_known_as", "updated_at"])
    await federate_profile(fed, account)
