"""Invitations to register while registrations are by invite."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fediverse_cop.models import Account, Invite
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid, NotFound

# Letters and digits without look-alikes (0/O, 1/l/I): codes are read, typed and passed
# to the CLI, where one starting with "-" would read as an option.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CODE_LENGTH = 16  # ~93 bits


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def create_invite(
    *,
    max_uses: int | None = None,
    expires_in: timedelta | None = None,
    created_by: Account | None = None,
) -> Invite:
    if max_uses is not None and max_uses < 1:
        raise Invalid("--max-uses must be at least 1")
    if expires_in is not None and expires_in <= timedelta(0):
        raise Invalid("--expires-in must be positive")
    return await Invite.create(
        code=new_code(),
        max_uses=max_uses,
        expires_at=utcnow() + expires_in if expires_in is not None else None,
        created_by=created_by,
    )


def invite_is_usable(invite: Invite) -> bool:
    if invite.revoked_at is not None:
        return False
    if invite.expires_at is not None and invite.expires_at <= utcnow():
        return False
    return invite.max_uses is None or invite.uses < invite.max_uses


async def list_invites(*, include_inactive: bool = False) -> list[Invite]:
    invites = await Invite.all().order_by("id")
    return invites if include_inactive else [i for i in invites if invite_is_usable(i)]


async def revoke_invite(code: str) -> Invite:
    invite = await Invite.get_or_none(code=code)
    if invite is None:
        raise NotFound(f"no invite {code!r}")
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        await invite.save(update_fields=["revoked_at"])
    return invite
