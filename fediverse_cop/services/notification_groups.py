"""Which notifications share a group (Mastodon 4.3's grouped notifications).

Favourites and boosts of one post, and follows, made within one 12-hour window share
a group; every other notification is a group of its own, ``ungrouped-<id>``. Keys are
Mastodon's: ``favourite-<post id>-<hour>``, ``reblog-<post id>-<hour>``,
``follow-<hour>``, where ``<hour>`` counts hours since the epoch. Mastodon starts a
group's window at its first notification; ours are fixed windows starting at 00:00 and
12:00 UTC, so a key is computed from a notification alone (ids carry their creation
time, :mod:`fediverse_cop.ids`) and names a range of ids: nothing is stored for it.
The grouped API (``api/notifications_v2.py``) and every Notification entity's
``group_key`` use these keys.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q

from fediverse_cop.ids import id_floor
from fediverse_cop.models import Notification, NotificationType

GROUPABLE = frozenset(
    {NotificationType.FAVOURITE, NotificationType.REBLOG, NotificationType.FOLLOW}
)
_ABOUT_A_POST = frozenset({NotificationType.FAVOURITE, NotificationType.REBLOG})
WINDOW_HOURS = 12

# One window in ids: the id of the moment WINDOW_HOURS after the epoch.
WINDOW_IDS = id_floor(datetime.fromtimestamp(WINDOW_HOURS * 3600, UTC))
_MAX_ID = 2**63
# The window of a row, in SQL (integer division in SQLite and PostgreSQL alike).
WINDOW_SQL = f'"{Notification._meta.db_table}"."id" / {WINDOW_IDS}'
_KEY = re.compile(r"^(favourite|reblog)-(\d{1,19})-(\d{1,12})$|^follow-(\d{1,12})$")
_UNGROUPED = re.compile(r"^ungrouped-(\d{1,19})$")


@dataclass(frozen=True, slots=True)
class GroupKey:
    """A group: a groupable type, its post (favourites, boosts) and window; or one
    notification (``single``)."""

    kind: NotificationType | None = None
    status_id: int | None = None
    window: int = 0
    single: int | None = None

    def __str__(self) -> str:
        if self.single is not None:
            return f"ungrouped-{self.single}"
        hour = self.window * WINDOW_HOURS
        if self.status_id is not None:
            return f"{self.kind}-{self.status_id}-{hour}"
        return f"{self.kind}-{hour}"

    @classmethod
    def of(cls, notification: Notification, grouped: Collection[NotificationType]) -> GroupKey:
        kind = notification.type
        status_id: int | None = notification.status_id  # type: ignore[attr-defined]
        if kind not in grouped or kind not in GROUPABLE:
            return cls(single=notification.id)
        if kind not in _ABOUT_A_POST:
            status_id = None
        elif status_id is None:
            return cls(single=notification.id)
        return cls(kind, status_id, notification.id // WINDOW_IDS)

    @classmethod
    def parse(cls, text: str) -> GroupKey | None:
        """The group a key names; None for anything that is not one of our keys."""
        single = _UNGROUPED.match(text)
        if single:
            number = int(single.group(1))
            return cls(single=number) if number < _MAX_ID else None
        match = _KEY.match(text)
        if match is None:
            return None
        kind, status, hour = (
            (match.group(1), match.group(2), match.group(3))
            if match.group(1)
            else ("follow", None, match.group(4))
        )
        status_id = int(status) if status is not None else None
        if int(hour) % WINDOW_HOURS or (status_id is not None and status_id >= _MAX_ID):
            return None
        window = int(hour) // WINDOW_HOURS
        if (window + 1) * WINDOW_IDS >= _MAX_ID:
            return None
        return cls(NotificationType(kind), status_id, window)

    def members(self) -> Q:
        """The condition on notifications (of any account) that selects this group."""
        if self.single is not None:
            return Q(id=self.single)
        start = self.window * WINDOW_IDS
        found = Q(type=self.kind, id__gte=start, id__lt=start + WINDOW_IDS)
        if self.status_id is not None:
            found &= Q(status_id=self.status_id)
        return found
