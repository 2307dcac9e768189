"""Remote actors: resolving handles and URLs, fetching, caching them as accounts.

Everything goes out through the process's one :class:`SafeHttpClient`, signed with
the instance actor's key (peers in authorized-fetch mode require it). A handle is
bound to an actor only by the WebFinger identity rule of
:mod:`activitypub.webfinger`; when no handle can be verified, the account is
stored under its preferred username at the actor's own host.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from activitypub.actors import ActorKey, InvalidActor, RemoteActor
from activitypub.domains import InvalidDomain, domain_matches, origin_of
from activitypub.errors import FetchError
from activitypub.html import sanitize_html
from activitypub.http import SafeHttpClient
from activitypub.keys import load_private_key_pem, public_key_pem
from activitypub.signatures import HttpSignatureAuth, SignaturePreferences
from activitypub.webfinger import Handle, InvalidHandle, WebFingerClient
from fediverse_cop.models import (
    Account,
    ActorType,
    DomainBlock,
    DomainBlockSeverity,
    acct_key,
)
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.errors import Invalid, NotFound

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(days=1)
_ACTOR_TYPES = {t.value: t for t in ActorType}


class RemoteUnavailable(NotFound):
    """The remote actor could not be fetched or is not acceptable.

    ``retryable`` says whether asking again later may succeed (a timeout, a 5xx).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Federation:
    """What a process needs to talk to other servers."""

    ctx: ServerContext
    http: SafeHttpClient
    signer: HttpSignatureAuth | None = None

    @property
    def webfinger(self) -> WebFingerClient:
        if self.ctx.settings.scheme == "http":
            return WebFingerClient(self.http, scheme="http")
        return WebFingerClient(self.http)


async def federation_for(ctx: ServerContext, http: SafeHttpClient) -> Federation:
    """A Federation whose fetches are signed by the instance actor."""
    actor = await Account.get_or_none(local=True, actor_type=ActorType.APPLICATION)
    signer = None
    if actor is not None and actor.private_key_pem and actor.public_key_id:
        signer = HttpSignatureAuth(
            actor.public_key_id,
            load_private_key_pem(actor.private_key_pem),
            preferences=SignaturePreferences(),
        )
    return Federation(ctx, http, signer)


def host_of(uri: str) -> str:
    """``host`` or ``host:port`` (non-default port) of a URI; raises InvalidDomain."""
    origin = origin_of(uri)
    default = 443 if origin.scheme == "https" else 80
    return origin.host if origin.port == default else f"{origin.host}:{origin.port}"


async def is_suspended_domain(domain: str) -> bool:
    host = domain.split(":")[0] if not domain.startswith("[") else domain
    labels = host.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels))]
    blocks = await DomainBlock.filter(
        domain__in=candidates, severity=DomainBlockSeverity.SUSPEND
    ).values_list("domain", flat=True)
    return any(domain_matches(host, str(b)) for b in blocks)


async def fetch_actor(fed: Federation, uri: str, *, refresh: bool = False) -> Account:
    """The account of the actor at ``uri``, fetched unless cached and fresh."""
    if fed.ctx.uris.parse(uri) is not None:
        account = await Account.get_or_none(uri=uri, local=True)
        if account is None:
            raise NotFound(f"no local actor {uri}")
        return account
    account = await Account.get_or_none(uri=uri)
    if account is not None and not refresh and not _stale(account, utcnow()):
        return account
    try:
        host = host_of(uri)
    except InvalidDomain:
        raise Invalid(f"not an actor URL: {uri!r}") from None
    if await is_suspended_domain(host):
        raise RemoteUnavailable(f"{host} is suspended")
    try:
        document = await fed.http.fetch_ap(uri, auth=fed.signer)
        actor = RemoteActor.from_document(document.document, expected_id=uri)
    except (FetchError, InvalidActor) as exc:
        if account is not None:
            log.info("refreshing %s failed (%s); keeping the cached copy", uri, exc)
            return account
        raise RemoteUnavailable(f"cannot fetch {uri}: {exc}", retryable=exc.retryable) from None
    return await store_actor(fed, actor, handle=None)


async def store_actor(fed: Federation, actor: RemoteActor, *, handle: Handle | None) -> Account:
    """Create or update the account of a validated remote actor."""
    if handle is None:
        existing = await Account.get_or_none(uri=actor.id)
        if existing is not None and existing.username and existing.domain:
            handle = Handle(existing.username, existing.domain)
        else:
            binding = None
            try:
                binding = await fed.webfinger.handle_for_actor(actor.id, actor.preferred_username)
            except FetchError as exc:
                log.info("WebFinger for %s failed: %s", actor.id, exc)
            if binding is not None and binding.bound and binding.handle is not None:
                handle = binding.handle
    if handle is None:
        handle = Handle(actor.preferred_username or "unknown", host_of(actor.id))
    key = _primary_key(actor)
    values: dict[str, Any] = {
        "username": handle.username,
        "domain": handle.domain,
        "acct_key": acct_key(handle.username, handle.domain),
        "local": False,
        "actor_type": _ACTOR_TYPES.get(actor.type, ActorType.PERSON),
        "url": actor.url,
        "inbox_uri": actor.inbox,
        "shared_inbox_uri": actor.shared_inbox,
        "outbox_uri": actor.outbox,
        "followers_uri": actor.followers,
        "following_uri": actor.following,
        "featured_uri": actor.featured,
        "display_name": (actor.name or "")[:255],
        "note": sanitize_html(actor.summary or "")[:100_000],
        "avatar_uri": actor.icon_url,
        "header_uri": actor.image_url,
        "manually_approves_followers": actor.manually_approves_followers,
        "discoverable": bool(actor.discoverable),
        "bot": actor.type in ("Service", "Application"),
        "profile_fields": [
            {"name": name, "value": sanitize_html(value)} for name, value in actor.fields
        ],
        "public_key_pem": public_key_pem(key.public_key) if key else "",
        "public_key_id": key.key_id if key else None,
        "last_fetched_at": utcnow(),
    }
    holder = await Account.get_or_none(acct_key=values["acct_key"])
    if holder is not None and holder.uri != actor.id:
        # The handle now points elsewhere (the account was re-created or moved).
        holder.acct_key = f"stale:{holder.id}"
        await holder.save(update_fields=["acct_key"])
    account, created = await Account.get_or_none(uri=actor.id), False
    if account is None:
        try:
            account = await Account.create(uri=actor.id, **values)
            created = True
        except IntegrityError:
            account = await Account.get(uri=actor.id)
    if not created:
        for name, value in values.items():
            setattr(account, name, value)
        await account.save()
    return account


async def resolve_handle(fed: Federation, text: str) -> Account:
    """``@user@host`` (or ``acct:``) to an account, by WebFinger and the identity rule."""
    try:
        handle = Handle.parse(text)
    except InvalidHandle as exc:
        raise Invalid(str(exc)) from None
    if handle.domain == fed.ctx.domain:
        local = await Account.get_or_none(acct_key=acct_key(handle.username, None), local=True)
        if local is None:
            raise NotFound(f"no local account {handle.username!r}")
        return local
    cached = await Account.get_or_none(acct_key=acct_key(handle.username, handle.domain))
    if cached is not None and not _stale(cached, utcnow()):
        return cached
    if await is_suspended_domain(handle.domain):
        raise RemoteUnavailable(f"{handle.domain} is suspended")
    try:
        found = await fed.webfinger.lookup_handle(handle)
        if not found.actor_uri:
            raise RemoteUnavailable(f"{handle} has no ActivityPub actor")
        document = await fed.http.fetch_ap(found.actor_uri, auth=fed.signer)
        actor = RemoteActor.from_document(document.document, expected_id=found.actor_uri)
        binding = await fed.webfinger.bind_handle(
            handle, actor.id, actor.preferred_username, handle_host_jrd=found
        )
    except (FetchError, InvalidActor) as exc:
        raise RemoteUnavailable(f"cannot resolve {handle}: {exc}") from None
    if not binding.bound:
        raise RemoteUnavailable(f"{handle} is not verified: {binding.reason}")
    return await store_actor(fed, actor, handle=handle)


async def resolve(fed: Federation, query: str) -> Account:
    """A handle or an actor URL to an account."""
    text = query.strip()
    if text.startswith(("http://", "https://")):
        return await fetch_actor(fed, text)
    return await resolve_handle(fed, text)


def _stale(account: Account, now: datetime) -> bool:
    return account.last_fetched_at is None or now - account.last_fetched_at > STALE_AFTER


def _primary_key(actor: RemoteActor) -> ActorKey | None:
    """The key we remember for an actor: its ``publicKey`` (RSA for every peer) first."""
    return actor.keys[0] if actor.keys else None
