"""Polls: votes (local and remote), counts, results federated, and the end of a poll.

Counts live on the :class:`~fediverse_cop.models.Poll` row (``options[i].votes_count``,
``voters_count``). For our own polls they are recounted from the ``PollVote`` rows
while the poll row is locked, so concurrent votes never lose one. Remote polls
keep the counts their server announces (``Update{Question}``); a local vote on
one is counted at once and sent to the poll's author as a ``Create{Note}`` with
the option's title as ``name`` and the ``Question`` as ``inReplyTo`` (Mastodon's
shape, FEP-9967), one per chosen option.

Work that is not answered at once runs from the worker's periodic step:
:func:`federate_results` sends an ``Update{Question}`` for local polls that got
votes since the last one (so a burst of votes makes one update), and
:func:`end_polls` notifies voters and the author of a poll that ended (and sends
the final results). ``Poll.updated_at`` marks what was done: it is written only
by those two steps, never by counting.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from activitypub import vocab
from activitypub.uris import Kind
from activitypub.vocab import ASObject, format_datetime
from fediverse_cop import streaming
from fediverse_cop.models import (
    Account,
    Notification,
    NotificationType,
    Poll,
    PollVote,
    Status,
    StatusMention,
    Visibility,
)
from fediverse_cop.services import notifications
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.follows import activity_uri
from fediverse_cop.services.remote import Federation
from outbox.enqueue import enqueue

log = logging.getLogger(__name__)

# Remote polls: how much of a Question is kept.
MAX_REMOTE_OPTIONS: Final = 20
MAX_OPTION_TITLE: Final = 500
MAX_COUNT: Final = 2**31 - 1
# How many polls one periodic step handles (the rest wait for the next step).
BATCH: Final = 100
LOOKBACK: Final = timedelta(days=1)

ALREADY_VOTED = "Validation failed: You have already voted on this poll"
EXPIRED = "Validation failed: The poll has already ended"
INVALID_CHOICE = "Validation failed: The chosen vote option does not exist"
SELF_VOTE = "Validation failed: You cannot vote in your own polls"
NO_CHOICE = "Validation failed: choices can't be blank"
ONE_CHOICE = "Validation failed: This poll allows a single choice"


class VoteRefused(Invalid):
    """A vote that cannot be counted (the message says why)."""


def is_expired(poll: Poll, now: datetime | None = None) -> bool:
    return poll.expires_at is not None and poll.expires_at <= (now or utcnow())


def titles(poll: Poll) -> list[str]:
    return [str(option.get("title", "")) for option in poll.options]


# -- remote polls: from a Question ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionPoll:
    """What a ``Question`` says about its poll."""

    options: list[dict[str, Any]]
    multiple: bool
    expires_at: datetime | None
    voters_count: int


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(0, min(MAX_COUNT, value))


def as_question_to_poll(obj: ASObject) -> QuestionPoll | None:
    """The poll of a ``Question`` (options from ``oneOf`` or ``anyOf``), None if it has none."""
    multiple = obj.get("anyOf") is not None and obj.get("oneOf") is None
    raw = obj.get("anyOf") if multiple else obj.get("oneOf")
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    options: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        replies = item.get("replies")
        total = replies.get("totalItems") if isinstance(replies, dict) else 0
        options.append({"title": item["name"][:MAX_OPTION_TITLE], "votes_count": _count(total)})
        if len(options) >= MAX_REMOTE_OPTIONS:
            break
    if not options:
        return None
    closed = obj.get("closed")
    ends = vocab.parse_datetime(obj.get("endTime"))
    if ends is None and isinstance(closed, str):
        ends = vocab.parse_datetime(closed)
    if ends is None and closed is True:
        ends = utcnow()
    voters = obj.get("votersCount")
    voters_count = (
        _count(voters)
        if voters is not None
        else (0 if multiple else sum(int(o["votes_count"]) for o in options))
    )
    return QuestionPoll(options, multiple, ends, voters_count)


async def store_remote_poll(status: Status, obj: ASObject) -> Poll | None:
    """The Poll row of a remote ``Question`` being stored (call in the storing transaction)."""
    found = as_question_to_poll(obj)
    if found is None:
        return None
    return await Poll.create(
        status=status,
        options=found.options,
        multiple=found.multiple,
        expires_at=found.expires_at,
        voters_count=found.voters_count,
    )


async def update_remote_poll(status: Status, obj: ASObject) -> Poll | None:
    """An ``Update{Question}`` of a remote poll: its counts (and end) as its server says.

    Options with other titles make a new poll: the votes kept here no longer apply.
    """
    if status.local:
        return None
    found = as_question_to_poll(obj)
    poll = await Poll.get_or_none(status_id=status.id)
    if found is None:
        return poll
    if poll is None:
        return await Poll.create(
            status=status,
            options=found.options,
            multiple=found.multiple,
            expires_at=found.expires_at,
            voters_count=found.voters_count,
        )
    same = titles(poll) == [o["title"] for o in found.options]
    async with in_transaction():
        if not same:
            await PollVote.filter(poll_id=poll.id).delete()
        await Poll.filter(id=poll.id).update(
            options=found.options,
            multiple=found.multiple,
            expires_at=found.expires_at,
            voters_count=found.voters_count,
        )
    await poll.refresh_from_db()
    await streaming.publish_status_update(status.id)
    return poll


# -- voting -----------------------------------------------------------------------------------


def _check_choices(poll: Poll, choices: Sequence[int]) -> list[int]:
    if not choices:
        raise VoteRefused(NO_CHOICE)
    unique = list(dict.fromkeys(choices))
    if any(c < 0 or c >= len(poll.options) for c in unique):
        raise VoteRefused(INVALID_CHOICE)
    if not poll.multiple and len(unique) > 1:
        raise VoteRefused(ONE_CHOICE)
    return unique


async def _locked(poll_id: int) -> Poll:
    """The poll row, locked until the transaction ends (PostgreSQL; SQLite writes one at a time)."""
    poll = await Poll.filter(id=poll_id).select_for_update().first()
    if poll is None:
        raise NotFound("Record not found")
    return poll


async def _recount(poll: Poll) -> None:
    """Counts of one of our polls from its votes (the poll row is locked)."""
    rows = await PollVote.filter(poll_id=poll.id).values_list("account_id", "choice")
    counts = [0] * len(poll.options)
    for _, choice in rows:
        if 0 <= int(choice) < len(counts):
            counts[int(choice)] += 1
    poll.options = [
        {**option, "votes_count": counts[index]} for index, option in enumerate(poll.options)
    ]
    poll.voters_count = len({int(account) for account, _ in rows})
    await Poll.filter(id=poll.id).update(options=poll.options, voters_count=poll.voters_count)


async def vote(fed: Federation, voter: Account, poll: Poll, choices: Sequence[int]) -> Poll:
    """A local user's vote (the caller checked they may see the poll's post).

    Once per account, never on one's own poll nor after the end. A remote poll's
    author receives the vote; its counts go up here until its server says otherwise.
    """
    status = await Status.get(id=poll.status_id).select_related("account")  # type: ignore[attr-defined]
    if status.account_id == voter.id:  # type: ignore[attr-defined]
        raise VoteRefused(SELF_VOTE)
    wanted = _check_choices(poll, choices)
    votes: list[PollVote] = []
    async with in_transaction():
        locked = await _locked(poll.id)
        if is_expired(locked):
            raise VoteRefused(EXPIRED)
        if await PollVote.exists(poll_id=locked.id, account_id=voter.id):
            raise VoteRefused(ALREADY_VOTED)
        try:
            for choice in wanted:
                row = PollVote(poll=locked, account=voter, choice=choice)
                if not status.local:
                    row.uri = fed.ctx.uris.build(Kind.ACTIVITY, id=str(row.id))
                await row.save(force_create=True)
                votes.append(row)
        except IntegrityError:
            raise VoteRefused(ALREADY_VOTED) from None
        if status.local:
            await _recount(locked)
        else:
            locked.options = [
                {**o, "votes_count": int(o.get("votes_count", 0)) + (i in wanted)}
                for i, o in enumerate(locked.options)
            ]
            locked.voters_count += 1
            await Poll.filter(id=locked.id).update(
                options=locked.options, voters_count=locked.voters_count
            )
            for row in votes:
                await _send_vote(voter, status, locked, row)
    return locked


async def _send_vote(voter: Account, status: Status, poll: Poll, row: PollVote) -> None:
    author = status.account
    note = {
        "id": row.uri,
        "type": "Note",
        "name": titles(poll)[row.choice],
        "attributedTo": voter.uri,
        "to": [author.uri],
        "inReplyTo": status.uri,
    }
    create = vocab.create(id=f"{row.uri}/activity", actor=voter.uri, object=note, to=[author.uri])
    await enqueue(create, voter, [author.uri], ordering_key=status.uri)


async def receive_vote(actor: Account, poll: Poll, status: Status, name: str, uri: str) -> bool:
    """A remote actor's vote on one of our polls (one Create per chosen option).

    Refusals raise :class:`VoteRefused`; False when this vote was counted before.
    """
    if not status.local or actor.local:
        raise VoteRefused("only votes of remote accounts on our polls are received")
    if status.account_id == actor.id:  # type: ignore[attr-defined]
        raise VoteRefused(SELF_VOTE)
    options = titles(poll)
    if name not in options:
        raise VoteRefused(INVALID_CHOICE)
    choice = options.index(name)
    if await PollVote.exists(uri=uri):
        return False
    async with in_transaction():
        locked = await _locked(poll.id)
        if is_expired(locked):
            raise VoteRefused(EXPIRED)
        mine: list[Any] = await PollVote.filter(poll_id=locked.id, account_id=actor.id).values_list(
            "choice", flat=True
        )
        if choice in mine or (mine and not locked.multiple):
            raise VoteRefused(ALREADY_VOTED)
        try:
            await PollVote.create(poll=locked, account=actor, choice=choice, uri=uri)
        except IntegrityError:
            raise VoteRefused(ALREADY_VOTED) from None
        await _recount(locked)
    return True


# -- results and the end of a poll --------------------------------------------------------------


async def _question(fed: Federation, status: Status, poll: Poll, *, closed: bool) -> dict[str, Any]:
    from fediverse_cop.services.statuses import as_note  # posting imports this module

    note = await as_note(fed, status, status.account)
    if closed and poll.expires_at is not None:
        note["closed"] = format_datetime(poll.expires_at)
    return note


async def _results_audience(status: Status, poll: Poll) -> list[str]:
    """Who hears of new results: followers (not for direct posts), mentioned accounts,
    remote boosters and remote voters (Mastodon's recipients of a poll update)."""
    author: Account = status.account
    recipients: list[str] = []
    if status.visibility is not Visibility.DIRECT and author.followers_uri:
        recipients.append(author.followers_uri)
    remote = Account.filter(local=False)
    mentioned = StatusMention.filter(status_id=status.id).values("account_id")
    boosters = Status.filter(reblog_of_id=status.id, deleted_at=None).values("account_id")
    voters = PollVote.filter(poll_id=poll.id).values("account_id")
    for query in (mentioned, boosters, voters):
        ids = [row["account_id"] for row in await query]
        uris: list[Any] = await remote.filter(id__in=ids).values_list("uri", flat=True)
        recipients.extend(str(uri) for uri in uris)
    return list(dict.fromkeys(recipients))


async def send_results(fed: Federation, poll: Poll, *, closed: bool = False) -> bool:
    """An ``Update{Question}`` with the current counts of one of our polls."""
    status = await Status.get(id=poll.status_id).select_related("account")  # type: ignore[attr-defined]
    if not status.local or status.deleted_at is not None:
        return False
    author: Account = status.account
    question = await _question(fed, status, poll, closed=closed)
    update = vocab.update(
        id=activity_uri(fed.ctx), actor=author.uri, object=question, to=status.to, cc=status.cc
    )
    await enqueue(update, author, await _results_audience(status, poll), ordering_key=status.uri)
    return True


async def federate_results(fed: Federation, now: datetime | None = None) -> int:
    """Send new results of our running polls that got votes since their last update."""
    now = now or utcnow()
    rows = (
        await PollVote.filter(
            poll__status__local=True, poll__expires_at__gt=now, created_at__gt=_since(now)
        )
        .annotate(latest=Max("created_at"))
        .group_by("poll_id")
        .values_list("poll_id", "latest")
    )
    latest = {int(poll_id): moment for poll_id, moment in rows}
    sent = 0
    for poll in await Poll.filter(id__in=list(latest)[:BATCH]):
        if latest[poll.id] <= poll.updated_at:
            continue
        if await send_results(fed, poll):
            sent += 1
        await Poll.filter(id=poll.id).update(updated_at=latest[poll.id])
    return sent


def _since(now: datetime) -> datetime:
    """How far back the periodic steps look (a worker stopped longer than that skips the rest)."""
    return now - LOOKBACK


async def end_polls(fed: Federation, now: datetime | None = None) -> int:
    """Polls that ended and were not handled yet: a ``poll`` notification to local voters
    and to a local author, and the final results for our own polls."""
    now = now or utcnow()
    ended = (
        await Poll.filter(
            expires_at__lte=now, expires_at__gt=_since(now), updated_at__lte=F("expires_at")
        )
        .order_by("expires_at")
        .limit(BATCH)
    )
    finished = 0
    for poll in ended:
        claimed = await Poll.filter(id=poll.id, updated_at__lte=F("expires_at")).update(
            updated_at=now
        )
        if not claimed:
            continue  # another worker took it
        try:
            await _finish(fed, poll)
        except Exception:
            log.exception("ending poll %s failed", poll.id)
        finished += 1
    return finished


async def _finish(fed: Federation, poll: Poll) -> None:
    status = await Status.get(id=poll.status_id).select_related("account")  # type: ignore[attr-defined]
    if status.deleted_at is not None:
        return
    author: Account = status.account
    voter_ids = (
        await PollVote.filter(poll_id=poll.id).distinct().values_list("account_id", flat=True)
    )
    for voter in await Account.filter(id__in=list(voter_ids), local=True):
        await notifications.notify(voter, author, NotificationType.POLL, status)
    if author.local:
        # Mastodon tells the author too (from themselves, which notify() leaves out).
        exists = await Notification.exists(
            account_id=author.id, type=NotificationType.POLL, status_id=status.id
        )
        if not exists:
            with contextlib.suppress(IntegrityError):
                created = await Notification.create(
                    account=author, from_account=author, type=NotificationType.POLL, status=status
                )
                await streaming.publish_notification(created.id)
        await send_results(fed, poll, closed=True)
