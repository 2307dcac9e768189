"""Announcements: institution-wide notices that apps show above the timeline.

Operators manage them with ``fediverse-cop announcement create/list/delete``; members
read them with ``GET /api/v1/announcements`` and dismiss them one by one.

An announcement is shown while it is *active*: published, and inside its
``starts_at``/``ends_at`` window when it has one. For an all-day announcement the
times are days: it is shown from the start of ``starts_at``'s day to the end of
``ends_at``'s day (UTC). The text is plain; links and hashtags are linked when
shown. Creating an active announcement, and deleting one, reaches open ``user``
streams (an announcement that becomes active later is seen at the next fetch).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from activitypub.html import render_plain_text
from activitypub.uris import Kind
from fediverse_cop import streaming
from fediverse_cop.models import Account, Announcement, AnnouncementRead
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.errors import Invalid, NotFound

MAX_TEXT: Final = 5000
ONE_DAY: Final = timedelta(days=1)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def window(announcement: Announcement) -> tuple[datetime | None, datetime | None]:
    """When it is shown: (from, until), either open-ended when None."""
    starts, ends = _aware(announcement.starts_at), _aware(announcement.ends_at)
    if announcement.all_day:
        if starts is not None:
            starts = starts.replace(hour=0, minute=0, second=0, microsecond=0)
        if ends is not None:
            ends = ends.replace(hour=0, minute=0, second=0, microsecond=0) + ONE_DAY
    return starts, ends


def is_active(announcement: Announcement, now: datetime) -> bool:
    published = _aware(announcement.published_at)
    if published is None or published > now:
        return False
    starts, ends = window(announcement)
    return (starts is None or starts <= now) and (ends is None or now < ends)


def _order_key(announcement: Announcement) -> tuple[datetime, int]:
    moment = _aware(announcement.starts_at) or _aware(announcement.published_at)
    return moment or datetime.min.replace(tzinfo=UTC), announcement.id


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False


def check(draft: Draft) -> Draft:
    text = draft.text.strip()
    if not text:
        raise Invalid("Validation failed: Text can't be blank")
    if len(text) > MAX_TEXT:
        raise Invalid(f"Validation failed: Text is longer than {MAX_TEXT} characters")
    starts, ends = _aware(draft.starts_at), _aware(draft.ends_at)
    if starts is not None and ends is not None and ends < starts:
        raise Invalid("Validation failed: the end is before the start")
    if draft.all_day and (starts is None or ends is None):
        raise Invalid("Validation failed: an all-day announcement needs a start and an end")
    if not draft.all_day and starts is not None and ends is not None and ends == starts:
        raise Invalid("Validation failed: the end is the start")
    return Draft(text, starts, ends, draft.all_day)


async def create(ctx: ServerContext, draft: Draft, *, now: datetime | None = None) -> Announcement:
    """Publish an announcement now (it shows once its window opens)."""
    checked = check(draft)
    moment = now or utcnow()
    announcement = await Announcement.create(
        text=checked.text,
        starts_at=checked.starts_at,
        ends_at=checked.ends_at,
        all_day=checked.all_day,
        published_at=moment,
    )
    if is_active(announcement, moment):
        await streaming.publish_announcement(entity(ctx, announcement))
    return announcement


async def list_all() -> list[Announcement]:
    return sorted(await Announcement.all(), key=_order_key)


async def active(now: datetime | None = None) -> list[Announcement]:
    """The announcements shown now, in the order Mastodon shows them (by start, oldest first)."""
    moment = now or utcnow()
    candidates = await Announcement.filter(published_at__lte=moment)
    return sorted((a for a in candidates if is_active(a, moment)), key=_order_key)


async def get(announcement_id: int) -> Announcement:
    found = await Announcement.get_or_none(id=announcement_id)
    if found is None:
        raise NotFound(f"no announcement {announcement_id}")
    return found


async def delete(announcement_id: int) -> None:
    deleted = await Announcement.filter(id=announcement_id).delete()
    if not deleted:
        raise NotFound(f"no announcement {announcement_id}")
    await streaming.publish_announcement_delete(str(announcement_id))


async def active_one(announcement_id: int, now: datetime | None = None) -> Announcement:
    """An announcement a member may act on (404 ``Record not found`` unless shown now)."""
    found = await Announcement.get_or_none(id=announcement_id)
    if found is None or not is_active(found, now or utcnow()):
        raise NotFound("Record not found")
    return found


async def dismiss(account: Account, announcement_id: int) -> None:
    """Mark it read for ``account``; repeating it changes nothing."""
    found = await active_one(announcement_id)
    await AnnouncementRead.get_or_create(announcement=found, account=account)


async def read_ids(account: Account, announcements: Iterable[Announcement]) -> set[int]:
    ids = [a.id for a in announcements]
    if not ids:
        return set()
    rows = await AnnouncementRead.filter(account_id=account.id, announcement_id__in=ids).values(
        "announcement_id"
    )
    return {int(row["announcement_id"]) for row in rows}


def _iso(moment: datetime | None) -> str | None:
    aware = _aware(moment)
    if aware is None:
        return None
    utc = aware.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def entity(
    ctx: ServerContext, announcement: Announcement, read: bool | None = None
) -> dict[str, Any]:
    """The Announcement entity; ``read`` only for a viewer (streams send it without)."""
    uris = ctx.uris

    def tag_url(name: str) -> str:
        return uris.build(Kind.TAG, name=name.lower())

    rendered = render_plain_text(
        announcement.text, resolve_mention=lambda user, domain: None, resolve_hashtag=tag_url
    )
    result: dict[str, Any] = {
        "id": str(announcement.id),
        "content": rendered.html,
        "starts_at": _iso(announcement.starts_at),
        "ends_at": _iso(announcement.ends_at),
        "all_day": announcement.all_day,
        "published_at": _iso(announcement.published_at),
        "updated_at": _iso(announcement.updated_at or announcement.published_at),
        "mentions": [],
        "statuses": [],
        "tags": [{"name": tag.lower(), "url": tag_url(tag)} for tag in rendered.hashtags],
        "emojis": [],
        "reactions": [],
    }
    if read is not None:
        result["read"] = read
    return result
