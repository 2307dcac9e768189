"""Scheduled posts: ``POST /api/v1/statuses`` with ``scheduled_at``, kept and published later.

The post is checked when it is scheduled (as :func:`~fediverse_cop.services.statuses.post`
would check it) and kept as Mastodon's ``params``. :func:`publish_due`, run by the
worker's periodic step, publishes what is due: it removes the row first (so two
workers never publish it twice) and then posts with the kept parameters. A post
that can no longer be made (the reply's parent is gone, an upload was used
elsewhere) is dropped, as Mastodon does.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from fediverse_cop.models import Account, ActorType, ScheduledStatus, Status, Visibility
from fediverse_cop.services import statuses, timelines
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft, PollDraft

log = logging.getLogger(__name__)

MIN_OFFSET: Final = timedelta(minutes=5)
MAX_DAILY: Final = 25
MAX_TOTAL: Final = 300
BATCH: Final = 50

TOO_SOON = "Validation failed: Scheduled at The scheduled date must be in the future"
OVER_DAILY = (
    f"Validation failed: You have exceeded the limit of {MAX_DAILY} scheduled posts for that day"
)
OVER_TOTAL = f"Validation failed: You have exceeded the limit of {MAX_TOTAL} scheduled posts"
BAD_DATE = "Validation failed: scheduled_at is not a valid date"


def parse_time(value: str) -> datetime:
    """An ISO 8601 time (a time without zone is UTC)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(BAD_DATE) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _check_time(
    account: Account, moment: datetime, now: datetime, *, moving: ScheduledStatus | None = None
) -> None:
    if moment < now + MIN_OFFSET:
        raise Invalid(TOO_SOON)
    others = ScheduledStatus.filter(account_id=account.id)
    if moving is not None:
        others = others.exclude(id=moving.id)
    if await others.count() >= MAX_TOTAL:
        raise Invalid(OVER_TOTAL)
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    same_day = others.filter(scheduled_at__gte=day, scheduled_at__lt=day + timedelta(days=1))
    if await same_day.count() >= MAX_DAILY:
        raise Invalid(OVER_DAILY)


def draft_to_params(
    draft: Draft, *, application_id: int | None, idempotency: str | None
) -> dict[str, Any]:
    """Mastodon's ``params`` of a ScheduledStatus (plus ``community_id``, ours)."""
    params: dict[str, Any] = {
        "text": draft.text,
        "poll": (
            {
                "options": list(draft.poll.options),
                "expires_in": draft.poll.expires_in,
                "multiple": draft.poll.multiple,
                "hide_totals": draft.poll.hide_totals,
            }
            if draft.poll is not None
            else None
        ),
        "media_ids": [str(i) for i in draft.media_ids] or None,
        "sensitive": draft.sensitive,
        "spoiler_text": draft.spoiler_text,
        "visibility": draft.visibility.value,
        "in_reply_to_id": draft.in_reply_to.id if draft.in_reply_to is not None else None,
        "language": draft.language,
        "application_id": application_id,
        "scheduled_at": None,
        "idempotency": idempotency,
        "with_rate_limit": False,
    }
    if draft.community is not None:
        params["community_id"] = str(draft.community.id)
    return params


async def params_to_draft(account: Account, params: dict[str, Any]) -> Draft:
    """The Draft of kept parameters; the replied-to post and the community are looked up again."""
    parent = None
    if params.get("in_reply_to_id") is not None:
        parent = await timelines.get_visible(account, int(params["in_reply_to_id"]))
        if parent is None:
            raise NotFound("the post replied to does not exist any more")
    community = None
    if params.get("community_id"):
        community = await Account.get_or_none(
            id=int(params["community_id"]), actor_type=ActorType.GROUP
        )
        if community is None:
            raise NotFound("the community does not exist any more")
    poll = params.get("poll")
    return Draft(
        text=str(params.get("text") or ""),
        visibility=Visibility(params.get("visibility") or Visibility.PUBLIC.value),
        spoiler_text=str(params.get("spoiler_text") or ""),
        sensitive=bool(params.get("sensitive")),
        language=params.get("language"),
        in_reply_to=parent,
        community=community,
        media_ids=tuple(int(i) for i in params.get("media_ids") or ()),
        poll=(
            PollDraft(
                options=tuple(str(o) for o in poll["options"]),
                expires_in=int(poll["expires_in"]),
                multiple=bool(poll.get("multiple")),
                hide_totals=bool(poll.get("hide_totals")),
            )
            if isinstance(poll, dict)
            else None
        ),
    )


async def schedule(
    author: Account,
    draft: Draft,
    scheduled_at: datetime,
    *,
    application_id: int | None = None,
    idempotency: str | None = None,
    now: datetime | None = None,
) -> ScheduledStatus:
    """Keep a post for later (at least five minutes ahead), checked as if posted now."""
    if not author.local or author.is_suspended:
        raise Invalid("only active local accounts can post")
    await _check_time(author, scheduled_at, now or utcnow())
    await statuses.check_draft(author, draft)
    return await ScheduledStatus.create(
        account=author,
        scheduled_at=scheduled_at,
        params=draft_to_params(draft, application_id=application_id, idempotency=idempotency),
        media_ids=list(draft.media_ids),
    )


async def reschedule(
    row: ScheduledStatus, scheduled_at: datetime, *, now: datetime | None = None
) -> ScheduledStatus:
    account = await Account.get(id=row.account_id)  # type: ignore[attr-defined]
    await _check_time(account, scheduled_at, now or utcnow(), moving=row)
    row.scheduled_at = scheduled_at
    await row.save(update_fields=["scheduled_at"])
    return row


async def publish_due(fed: Federation, now: datetime | None = None) -> list[Status]:
    """Publish the scheduled posts whose time has come (at most BATCH per call)."""
    now = now or utcnow()
    due = await ScheduledStatus.filter(scheduled_at__lte=now).order_by("scheduled_at").limit(BATCH)
    published: list[Status] = []
    for row in due:
        if not await ScheduledStatus.filter(id=row.id).delete():
            continue  # another worker took it
        account = await Account.get_or_none(id=row.account_id)  # type: ignore[attr-defined]
        if account is None or account.is_suspended or account.deleted_at is not None:
            continue
        try:
            draft = await params_to_draft(account, row.params)
            key = row.params.get("idempotency")
            status = await statuses.post_once(fed, account, draft, key if key else None)
        except (Invalid, NotFound) as exc:
            log.warning("scheduled post %s of %s dropped: %s", row.id, account.handle, exc)
            continue
        published.append(status)
    return published
