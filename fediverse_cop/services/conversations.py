"""Direct conversations: direct posts grouped, for each local participant, by the set of the
other participants (``GET /api/v1/conversations``).

:func:`record` is called wherever a direct post is stored (posted here or received).
Each local participant's row gets the post as its last status; it is unread for
everyone but the author. Members-only posts of a community (direct, with an
``audience``) belong to the community, not to a conversation. Deleting a
conversation only removes the row: the next direct post between the same people
brings it back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from tortoise.exceptions import IntegrityError

from fediverse_cop.models import Account, Conversation, Status, StatusMention, Visibility

MAX_KEY = 1024


def participants_key(account_ids: Iterable[int]) -> str:
    """The sorted ids joined; a digest when that is too long for the column."""
    key = ",".join(str(i) for i in sorted(set(account_ids)))
    if len(key) > MAX_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


async def record(status: Status) -> list[Conversation]:
    """Put a direct post into the conversations of its local participants."""
    if status.visibility is not Visibility.DIRECT or status.reblog_of_id is not None:  # type: ignore[attr-defined]
        return []
    if status.audience:
        return []  # a members-only post of a community, not a private conversation
    author_id: int = status.account_id  # type: ignore[attr-defined]
    mentioned: list[Any] = await StatusMention.filter(status_id=status.id).values_list(
        "account_id", flat=True
    )
    everyone = {author_id, *(int(i) for i in mentioned)}
    local: list[Any] = await Account.filter(id__in=list(everyone), local=True).values_list(
        "id", flat=True
    )
    rows: list[Conversation] = []
    for account_id in sorted(int(i) for i in local):
        others = sorted(everyone - {account_id})
        rows.append(await _touch(account_id, others, status, unread=account_id != author_id))
    return rows


async def _touch(
    account_id: int, others: list[int], status: Status, *, unread: bool
) -> Conversation:
    key = participants_key(others)
    row = await Conversation.get_or_none(account_id=account_id, participants_key=key)
    if row is None:
        try:
            return await Conversation.create(
                account_id=account_id,
                participants_key=key,
                participant_ids=others,
                last_status_id=status.id,
                unread=unread,
            )
        except IntegrityError:  # the same conversation, created at the same moment
            row = await Conversation.get(account_id=account_id, participants_key=key)
    # Only a newer post moves the conversation (posts may arrive out of order).
    newer = Conversation.filter(id=row.id).filter(last_status_id__lt=status.id)
    changed = await newer.update(last_status_id=status.id, unread=unread)
    if not changed:
        await Conversation.filter(id=row.id, last_status_id=None).update(
            last_status_id=status.id, unread=unread
        )
    await row.refresh_from_db()
    return row


async def mark_read(conversation: Conversation) -> Conversation:
    await Conversation.filter(id=conversation.id).update(unread=False)
    conversation.unread = False
    return conversation


async def of_account(account: Account, conversation_id: int) -> Conversation | None:
    return await Conversation.get_or_none(id=conversation_id, account_id=account.id)
