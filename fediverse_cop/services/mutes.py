"""What a user keeps out of their own view: muted accounts, blocked domains; and private notes.

- A mute hides the account's posts and boosts (and boosts of its posts) from the
  muter's home, list, public and hashtag timelines and threads; with
  ``notifications`` (the default) its notifications too. A mute may expire.
- A user's domain block hides the domain's posts from their public and hashtag
  timelines and threads, and from home and lists except those of accounts they
  still follow there; notifications from the domain are hidden; the domain's
  followers of the user are removed (remote ones are sent ``Reject{Follow}``), as
  Mastodon does. These are not the operator's domain blocks (services/domains.py).
- A note is a private comment about an account, shown in the Relationship.

The queries here are SQL filters (subqueries), so timelines stay one query.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from activitypub import vocab
from activitypub.domains import InvalidDomain, normalize_domain
from fediverse_cop.models import (
    Account,
    AccountNote,
    Follow,
    Mute,
    NotificationType,
    UserDomainBlock,
)
from fediverse_cop.services import follows, notifications
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.remote import Federation
from outbox.enqueue import enqueue

MAX_MUTE_DURATION: Final = 10 * 365 * 24 * 3600
MAX_NOTE: Final = 2000


# -- mutes ---------------------------------------------------------------------------------------


def active_mutes(account_id: int, *, timed: bool = True) -> Q:
    """The unexpired mutes of ``account_id`` (a filter on :class:`Mute`); without
    ``timed``, only those muted for good (the filter then does not depend on the clock,
    for a viewer who has no timed mute)."""
    if not timed:
        return Q(account_id=account_id, expires_at=None)
    return Q(account_id=account_id) & (Q(expires_at=None) | Q(expires_at__gt=utcnow()))


def muted_ids(account_id: int, *, notifications_only: bool = False, timed: bool = True) -> Subquery:
    """The accounts ``account_id`` mutes (only those muted with notifications, if asked;
    only those muted for good, without ``timed``)."""
    query = Mute.filter(active_mutes(account_id, timed=timed))
    if notifications_only:
        query = query.filter(notifications=True)
    return Subquery(query.values("target_id"))


async def mute(account: Account, target: Account, *, notifications: bool, duration: int) -> Mute:
    """``account`` mutes ``target`` (again: the options are replaced); ``duration`` in
    seconds, 0 for ever."""
    if account.id == target.id:
        raise Invalid("Validation failed: an account cannot mute itself")
    expires_at = (
        utcnow() + timedelta(seconds=min(duration, MAX_MUTE_DURATION)) if duration > 0 else None
    )
    row, created = await Mute.get_or_create(
        account_id=account.id,
        target_id=target.id,
        defaults={"notifications": notifications, "expires_at": expires_at},
    )
    if not created:
        row.notifications = notifications
        row.expires_at = expires_at
        await row.save(update_fields=["notifications", "expires_at"])
    return row


async def unmute(account: Account, target: Account) -> None:
    await Mute.filter(account_id=account.id, target_id=target.id).delete()


async def silenced(recipient: Account, actor: Account) -> bool:
    """Whether ``recipient`` does not want notifications from ``actor``: muted with
    notifications, or on a domain they block (unless they follow ``actor``)."""
    if await Mute.filter(
        active_mutes(recipient.id), target_id=actor.id, notifications=True
    ).exists():
        return True
    if actor.domain is None:
        return False
    if not await UserDomainBlock.exists(account_id=recipient.id, domain=actor.domain.lower()):
        return False
    return not await Follow.exists(account_id=recipient.id, target_id=actor.id)


# -- domain blocks -------------------------------------------------------------------------------


def parse_domain(value: str) -> str:
    text = value.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0]
    try:
        return normalize_domain(text)
    except InvalidDomain as exc:
        raise Invalid(f"Validation failed: invalid domain: {exc}") from None


def blocked_domain_accounts(account_id: int) -> Subquery:
    """The accounts on the domains ``account_id`` blocks."""
    domains = Subquery(UserDomainBlock.filter(account_id=account_id).values("domain"))
    return Subquery(Account.filter(domain__in=domains).values("id"))


async def block_domain(fed: Federation, account: Account, domain: str) -> UserDomainBlock:
    """``account`` blocks ``domain`` for themselves; its followers of ``account`` are removed."""
    name = parse_domain(domain)
    if name == fed.ctx.domain.lower():
        raise Invalid("Validation failed: this is the domain of this server")
    async with in_transaction():
        row, _ = await UserDomainBlock.get_or_create(account_id=account.id, domain=name)
        followers = await Follow.filter(target_id=account.id, account__domain=name).select_related(
            "account"
        )
        for follow in followers:
            await follow.delete()
            for kind in (NotificationType.FOLLOW, NotificationType.FOLLOW_REQUEST):
                await notifications.withdraw(account, follow.account, kind)
            if not follow.account.local and follow.uri:
                reject = vocab.reject(
                    id=follows.activity_uri(fed.ctx),
                    actor=account.uri,
                    object=follows.follow_activity(follow, follow.account, account),
                    to=[follow.account.uri],
                )
                await enqueue(reject, account, [follow.account.uri], ordering_key=follow.uri or "")
    return row


async def unblock_domain(account: Account, domain: str) -> None:
    name = parse_domain(domain)
    await UserDomainBlock.filter(account_id=account.id, domain=name).delete()


# -- notes ---------------------------------------------------------------------------------------


async def set_note(account: Account, target: Account, comment: str) -> None:
    """Keep ``comment`` about ``target``; an empty comment removes the note."""
    text = comment.strip()
    if len(text) > MAX_NOTE:
        raise Invalid(f"Validation failed: a note has at most {MAX_NOTE} characters")
    if not text:
        await AccountNote.filter(account_id=account.id, target_id=target.id).delete()
        return
    row, created = await AccountNote.get_or_create(
        account_id=account.id, target_id=target.id, defaults={"comment": text}
    )
    if not created and row.comment != text:
        row.comment = text
        await row.save(update_fields=["comment"])
