"""Block and Undo(Block) between accounts; Flag (reports) for local moderators."""

from __future__ import annotations

from activitypub.html import html_to_text
from fediverse_cop.models import Account, AccountBlock, Follow, Report, Status
from inbox.dispatch import Handling, Refused, handles
from inbox.handlers import group_moderation

MAX_FLAGGED = 100


@handles("Block", "Person", "Group", "Service", "Application")
async def on_block(handling: Handling) -> None:
    """A remote actor blocks one of ours: follows both ways end, the block is remembered.
    A Block with a ``target`` is a community ban (:mod:`inbox.handlers.group_moderation`)."""
    if await group_moderation.community_ban(handling):
        return
    target = await Account.get_or_none(uri=handling.activity.object_id, local=True)
    if target is None:
        raise Refused("the blocked actor is not ours")
    blocker = handling.actor
    await Follow.filter(account=blocker, target=target).delete()
    await Follow.filter(account=target, target=blocker).delete()
    await AccountBlock.get_or_create(
        account=blocker, target=target, defaults={"uri": handling.activity.id}
    )


@handles("Undo", "Block")
async def on_undo_block(handling: Handling) -> None:
    if await group_moderation.community_unban(handling):
        return
    inner = handling.activity.object
    block_id = inner.id if inner is not None else handling.activity.object_id
    await AccountBlock.filter(uri=block_id, account=handling.actor).delete()


@handles("Flag", "Person", "Group", "Note", "Question", "Page", "Article", "Object")
async def on_flag(handling: Handling) -> None:
    """A report about local accounts (and their posts): one report per reported account.
    A Flag addressed to a local community goes to its moderators' queue instead."""
    if await group_moderation.community_flag(handling):
        return
    raw = handling.raw.get("object")
    uris = [u for u in (raw if isinstance(raw, list) else [raw]) if isinstance(u, str)]
    uris = uris[:MAX_FLAGGED]
    targets = await Account.filter(uri__in=uris, local=True)
    posts = await Status.filter(uri__in=uris, local=True).values_list("uri", "account_id")
    owners = {account_id for _, account_id in posts} - {t.id for t in targets}
    if owners:
        targets += await Account.filter(id__in=owners)
    if not targets:
        raise Refused("the report names nothing of ours")
    comment = html_to_text(str(handling.raw.get("content") or ""))[:5000]
    for target in targets:
        await Report.get_or_create(
            reporter=handling.actor,
            target=target,
            uri=f"{handling.activity.id}#{target.id}" if len(targets) > 1 else handling.activity.id,
            defaults={
                "status_uris": [u for u, a in posts if a == target.id],
                "comment": comment,
            },
        )
