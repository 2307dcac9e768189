"""Local accounts: creation (with keys and URIs), roles, suspension, passwords, deletion."""

from __future__ import annotations

import re
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import vocab
from activitypub.domains import InvalidDomain, normalize_domain
from activitypub.keys import generate_rsa_keypair
from activitypub.uris import Kind
from fediverse_cop.models import Account, ActorType, Follow, InstanceRole, Status, acct_key
from fediverse_cop.services import oauth
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.errors import Conflict, Invalid, NotFound
from fediverse_cop.services.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password,
)
from fediverse_cop.services.visibility import PUBLIC
from outbox.enqueue import enqueue

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
# Names that would let someone pass for the instance or its operators.
RESERVED_NAMES = frozenset(
    {
        "abuse",
        "actor",
        "hostmaster",
        "instance",
        "noreply",
        "postmaster",
        "root",
        "security",
        "webmaster",
    }
)
INSTANCE_ACTOR_USERNAME = "instance.actor"


def validate_handle(name: str) -> str:
    if not USERNAME_RE.match(name):
        raise Invalid(f"invalid handle {name!r}: use 1 to 30 letters, digits or underscores")
    if name.lower() in RESERVED_NAMES:
        raise Invalid(f"the handle {name!r} is reserved")
    return name


def normalize_email(email: str) -> str:
    text = email.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or any(ch.isspace() for ch in local) or "@" in local:
        raise Invalid(f"invalid e-mail address {email!r}")
    try:
        return f"{local}@{normalize_domain(domain)}".lower()
    except InvalidDomain:
        raise Invalid(f"invalid e-mail address {email!r}") from None


def validate_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise Invalid(
            f"a password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    return password


async def create_local_actor(
    ctx: ServerContext,
    username: str,
    actor_type: ActorType,
    *,
    display_name: str = "",
    note: str = "",
    **extra: Any,
) -> Account:
    """Create a local actor row with its URIs and a fresh RSA-2048 key pair.

    Handles are one namespace for people and communities: a name taken by either is
    refused here (and by the unique ``acct_key`` index, which decides races).
    """
    key = acct_key(username, None)
    if await Account.filter(acct_key=key).exists():
        raise Conflict(f"the handle {username!r} is already taken")
    community = actor_type is ActorType.GROUP
    uris: dict[str, Any] = (
        {
            "uri": ctx.uris.instance_actor(),
            "inbox_uri": ctx.uris.shared_inbox(),
            "shared_inbox_uri": ctx.uris.shared_inbox(),
            "public_key_id": ctx.uris.build(Kind.INSTANCE_ACTOR_KEY),
        }
        if actor_type is ActorType.APPLICATION
        else ctx.uris.actor_collections(username, community=community)
    )
    private_pem, public_pem = generate_rsa_keypair()
    try:
        values: dict[str, Any] = {
            "username": username,
            "domain": None,
            "acct_key": key,
            "local": True,
            "actor_type": actor_type,
            "display_name": display_name,
            "note": note,
            "public_key_pem": public_pem,
            "private_key_pem": private_pem,
            **uris,
            **extra,
        }
        return await Account.create(**values)
    except IntegrityError:
        raise Conflict(f"the handle {username!r} is already taken") from None


async def create_user(
    ctx: ServerContext,
    username: str,
    *,
    email: str,
    password: str,
    role: InstanceRole = InstanceRole.USER,
    display_name: str = "",
) -> Account:
    validate_handle(username)
    email = normalize_email(email)
    validate_password(password)
    if await Account.filter(email=email).exists():
        raise Conflict(f"the e-mail address {email} is already in use")
    try:
        async with in_transaction():
            return await create_local_actor(
                ctx,
                username,
                ActorType.PERSON,
                display_name=display_name,
                email=email,
                role=role,
                password_hash=hash_password(password),
            )
    except IntegrityError:
        raise Conflict(f"the e-mail address {email} is already in use") from None


async def get_local_user(username: str) -> Account:
    account = await Account.get_or_none(
        acct_key=acct_key(username, None),
        local=True,
        actor_type=ActorType.PERSON,
        deleted_at__isnull=True,
    )
    if account is None:
        raise NotFound(f"no local user {username!r}")
    return account


async def list_users(
    *, role: InstanceRole | None = None, suspended: bool | None = None
) -> list[Account]:
    query = Account.filter(local=True, actor_type=ActorType.PERSON, deleted_at__isnull=True)
    if role is not None:
        query = query.filter(role=role)
    if suspended is not None:
        query = query.filter(suspended_at__isnull=not suspended)
    return await query.order_by("id")


async def set_role(username: str, role: InstanceRole) -> Account:
    account = await get_local_user(username)
    account.role = role
    await account.save(update_fields=["role", "updated_at"])
    return account


async def suspend(username: str, reason: str = "") -> Account:
    """Suspend a user; their access tokens are revoked, so apps are signed out for good."""
    account = await get_local_user(username)
    if account.suspended_at is None:
        account.suspend(reason, utcnow())
        await account.save(update_fields=["suspended_at", "suspension_reason", "updated_at"])
    await oauth.revoke_account_tokens(account)
    return account


async def unsuspend(username: str) -> Account:
    account = await get_local_user(username)
    account.suspended_at = None
    account.suspension_reason = ""
    await account.save(update_fields=["suspended_at", "suspension_reason", "updated_at"])
    return account


async def reset_password(username: str, password: str) -> Account:
    """Set a new password and revoke the user's access tokens (every app signs in again)."""
    account = await get_local_user(username)
    account.password_hash = hash_password(validate_password(password))
    await account.save(update_fields=["password_hash", "updated_at"])
    await oauth.revoke_account_tokens(account)
    return account


async def delete_user(username: str) -> Account:
    """Close a local account, as Mastodon does: personal data and posts go, peers are told.

    The row stays (with its key, to sign the ``Delete``) so the handle is never
    given to someone else and the actor URL answers 410. Servers of the account's
    followers, and of the accounts it follows, receive a ``Delete`` of the actor.
    """
    account = await get_local_user(username)
    now = utcnow()
    following = await Follow.filter(account=account, target__local=False).values_list(
        "target__uri", flat=True
    )
    async with in_transaction():
        await Status.filter(account=account, deleted_at__isnull=True).update(deleted_at=now)
        account.deleted_at = now
        account.suspend("deleted", now)
        account.email = None
        account.password_hash = None
        account.display_name = ""
        account.note = ""
        await account.save()
        deletion = vocab.delete(
            id=f"{account.uri}#delete", actor=account.uri, object=account.uri, to=[PUBLIC]
        )
        await enqueue(
            deletion, account, [account.followers_uri or "", *(str(uri) for uri in following)]
        )
    return account
