"""Telling other servers about a changed local profile."""

from __future__ import annotations

from activitypub import vocab
from fediverse_cop.converters import local_account_to_as_actor
from fediverse_cop.models import Account
from fediverse_cop.services import follows
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.visibility import PUBLIC
from outbox.enqueue import enqueue


async def federate_profile(fed: Federation, account: Account) -> None:
    """Tell the followers' servers about a changed local profile: ``Update{Person}``."""
    if not account.local or not account.followers_uri or not account.private_key_pem:
        return
    actor = local_account_to_as_actor(account)
    context = actor.pop("@context")
    update = vocab.update(
        id=follows.activity_uri(fed.ctx),
        actor=account.uri,
        object=actor,
        to=[PUBLIC],
        cc=[account.followers_uri],
    )
    update["@context"] = context
    await enqueue(update, account, [account.followers_uri], ordering_key=account.uri)
