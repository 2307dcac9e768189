"""Resolving what an operator or a user pastes: ``@user@host``, an actor URL or a post URL."""

from __future__ import annotations

from activitypub.actors import RemoteActor
from activitypub.errors import FetchError
from activitypub.vocab import ASObject
from fediverse_cop.models import Account, Status
from fediverse_cop.services.errors import NotFound
from fediverse_cop.services.incoming import (
    FetchBudget,
    NotAccepted,
    fetch_object,
    fetched_post,
    resolve_parent,
)
from fediverse_cop.services.remote import Federation, resolve, store_actor
from fediverse_cop.services.visibility import can_view

ACTOR_TYPES = frozenset({"Person", "Group", "Service", "Application", "Organization"})


async def lookup(fed: Federation, query: str) -> Account | Status:
    """A handle or actor URL gives an account; a post URL gives the post (public ones only)."""
    text = query.strip()
    if not text.startswith(("http://", "https://")):
        return await resolve(fed, text)
    known = await Account.get_or_none(uri=text) or await Status.get_or_none(uri=text)
    if isinstance(known, Account):
        return await resolve(fed, text)
    if isinstance(known, Status):
        if not await can_view(known, None):
            raise NotFound(f"nothing visible at {text}")
        return known
    budget = FetchBudget()
    try:
        document = await fetch_object(fed, text, budget)
        if ASObject(document.document).has_type(*ACTOR_TYPES):
            actor = RemoteActor.from_document(document.document, expected_id=document.final_url)
            return await store_actor(fed, actor, handle=None)
        post = fetched_post(document)
        status = await resolve_parent(fed, post.require_id(), budget, depth=0)
    except (NotAccepted, FetchError) as exc:
        raise NotFound(f"cannot resolve {text}: {exc}") from None
    if status is None:
        raise NotFound(f"nothing public at {text}")
    return status
