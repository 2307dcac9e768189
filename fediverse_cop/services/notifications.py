"""Notifications: what happened to a local account, for the client API (and later streaming).

Every place that records an interaction calls :func:`notify`; it decides whether
the recipient hears of it (only local accounts, never about oneself, never from
someone they block, mute with notifications, or whose domain they block unless
they follow them) and keeps one notification per (recipient, type, actor,
status), so a repeated activity does not notify twice.
"""

from __future__ import annotations

import logging

from fediverse_cop import streaming
from fediverse_cop.models import (
    Account,
    AccountBlock,
    Notification,
    NotificationType,
    PushSubscription,
    Status,
)
from fediverse_cop.services import mutes, push

log = logging.getLogger(__name__)


async def notify(
    recipient: Account,
    actor: Account,
    kind: NotificationType,
    status: Status | None = None,
) -> Notification | None:
    """Record that ``actor`` did ``kind`` to ``recipient`` (about ``status``); None if not told."""
    if not recipient.local or recipient.id == actor.id:
        return None
    if await AccountBlock.exists(account_id=recipient.id, target_id=actor.id):
        return None
    if await mutes.silenced(recipient, actor):
        return None
    existing = await Notification.get_or_none(
        account_id=recipient.id,
        from_account_id=actor.id,
        type=kind,
        status_id=status.id if status is not None else None,
    )
    if existing is not None:
        return existing
    created = await Notification.create(
        account=recipient, from_account=actor, type=kind, status=status
    )
    await streaming.publish_notification(created.id)
    # Web Push runs in the background (services/push.py), never in this request; most
    # people have no subscription, and then there is nothing to hand over.
    if push.active() is not None and await PushSubscription.exists(account_id=recipient.id):
        push.enqueue(created.id)
    return created


async def withdraw(
    recipient: Account, actor: Account, kind: NotificationType, status: Status | None = None
) -> None:
    """Remove a notification whose cause was undone (an unfollow, an un-favourite)."""
    await Notification.filter(
        account_id=recipient.id,
        from_account_id=actor.id,
        type=kind,
        status_id=status.id if status is not None else None,
    ).delete()
