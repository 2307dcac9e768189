"""Blocks by local accounts: no follows either way, no interactions, a ``Block`` to remote peers.

Blocking ends the follows between the two accounts in both directions (pending
requests included). Our follow of a remote account is undone with ``Undo{Follow}``;
a remote account's follow of ours ends with the ``Block`` itself, which Mastodon
treats as the end of that follow too. Unblocking sends ``Undo{Block}`` and restores
nothing.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub import vocab
from fediverse_cop.models import Account, AccountBlock, Follow, NotificationType
from fediverse_cop.services import follows, notifications
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.remote import Federation
from outbox.enqueue import enqueue


def block_activity(block: AccountBlock, account: Account, target: Account) -> dict[str, object]:
    return vocab.block(id=block.uri or "", actor=account.uri, object=target.uri, to=[target.uri])


async def block(fed: Federation, account: Account, target: Account) -> AccountBlock:
    """``account`` (local) blocks ``target``; idempotent."""
    if not account.local:
        raise Invalid("only local accounts block from here")
    if account.id == target.id:
        raise Invalid("an account cannot block itself")
    existing = await AccountBlock.get_or_none(account_id=account.id, target_id=target.id)
    if existing is not None:
        return existing
    ours = await Follow.get_or_none(account_id=account.id, target_id=target.id)
    if ours is not None:
        await follows.unfollow(fed, account, target)
    async with in_transaction():
        await Follow.filter(account_id=target.id, target_id=account.id).delete()
        try:
            row = await AccountBlock.create(
                account=account, target=target, uri=follows.activity_uri(fed.ctx)
            )
        except IntegrityError:
            return await AccountBlock.get(account_id=account.id, target_id=target.id)
        for kind in (NotificationType.FOLLOW, NotificationType.FOLLOW_REQUEST):
            await notifications.withdraw(account, target, kind)
        if not target.local:
            await enqueue(
                block_activity(row, account, target),
                account,
                [target.uri],
                ordering_key=row.uri or "",
            )
    return row


async def unblock(fed: Federation, account: Account, target: Account) -> None:
    """Lift ``account``'s block of ``target`` (nothing to do when there is none)."""
    row = await AccountBlock.get_or_none(account_id=account.id, target_id=target.id)
    if row is None:
        return
    async with in_transaction():
        await row.delete()
        if not target.local and account.local:
            undo = vocab.undo(
                id=follows.activity_uri(fed.ctx),
                actor=account.uri,
                object=block_activity(row, account, target),
                to=[target.uri],
            )
            await enqueue(undo, account, [target.uri], ordering_key=row.uri or "")
