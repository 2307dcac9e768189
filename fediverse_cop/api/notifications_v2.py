"""Grouped notifications (Mastodon 4.3): ``GET /api/v2/notifications``, the unread count, one
group, its accounts, and its dismissal.

Groups and their keys are :mod:`fediverse_cop.services.notification_groups`'s.
Which notifications the viewer sees is decided by :mod:`.notifications`, as for v1.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q, RawSQL
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from fediverse_cop.api.auth import require_user
from fediverse_cop.api.entities import Json, Serializer
from fediverse_cop.api.notifications import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    RECORD_NOT_FOUND,
    Wanted,
    hidden_about,
    known_types,
    read_page,
    selectable,
    shown,
    validation_error,
)
from fediverse_cop.api.pagination import Page, link_header
from fediverse_cop.api.params import BadRequest, Params
from fediverse_cop.api.responses import iso, ok
from fediverse_cop.models import Account, Marker, Notification, NotificationType, Status
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.notification_groups import (
    GROUPABLE,
    WINDOW_IDS,
    WINDOW_SQL,
    GroupKey,
)

SAMPLE_SIZE = 8
UNREAD_DEFAULT = 100
UNREAD_MAX = 1000
EXPAND_ACCOUNTS = ("full", "partial_avatars")


def _grouped_types(params: Params) -> frozenset[NotificationType]:
    """``grouped_types[]`` among the types we group; all of them when absent."""
    asked = params.texts("grouped_types")
    return GROUPABLE & set(known_types(asked)) if asked else GROUPABLE


def _check_expand_accounts(params: Params) -> None:
    """``expand_accounts``: ``full`` or ``partial_avatars``, as Mastodon accepts. The spec
    lets a server answer every account in full (``partial_accounts`` is optional), which
    is what we do for both."""
    value = params.raw("expand_accounts")
    if value is not None and value not in EXPAND_ACCOUNTS:
        raise BadRequest(
            f"Invalid value for 'expand_accounts': '{value}', "
            "allowed values are 'full' and 'partial_avatars'"
        )


@dataclass(slots=True)
class _Group:
    key: GroupKey
    members: list[Notification]  # in the page (or the newest ones), newest first
    older: int = 0  # members below the page
    older_senders: list[int] = field(default_factory=list)  # their senders, newest first

    @property
    def count(self) -> int:
        return len(self.members) + self.older

    def sample_ids(self) -> list[int]:
        senders = [int(n.from_account_id) for n in self.members]  # type: ignore[attr-defined]
        return (senders + self.older_senders)[:SAMPLE_SIZE]

    def entity(self, *, paginated: bool) -> Json:
        newest, oldest = self.members[0], self.members[-1]
        data: Json = {
            "group_key": str(self.key),
            "notifications_count": self.count,
            "type": newest.type.value,
            # An integer, as Mastodon sends it (the other ids are strings).
            "most_recent_notification_id": newest.id,
            "sample_account_ids": [str(i) for i in self.sample_ids()],
        }
        if paginated:
            data["page_min_id"] = str(oldest.id)
            data["page_max_id"] = str(newest.id)
            data["latest_page_notification_at"] = iso(newest.created_at)
        if newest.status is not None:
            data["status_id"] = str(newest.status.id)
        return data


def _group(rows: Sequence[Notification], grouped: Collection[NotificationType]) -> list[_Group]:
    """``rows`` (newest first) in groups, ordered by their newest notification."""
    groups: dict[GroupKey, _Group] = {}
    for n in rows:
        key = GroupKey.of(n, grouped)
        if key in groups:
            groups[key].members.append(n)
        else:
            groups[key] = _Group(key, [n])
    return list(groups.values())


async def _add_older(groups: Sequence[_Group], query: QuerySet[Notification], below: int) -> None:
    """Count the members of ``groups`` older than the page (ids below ``below``) and take
    the senders of the newest of them, for groups that reach below the page: two queries.

    The count is exact; the senders come from the newest ``SAMPLE_SIZE`` older notifications
    per group needing them, read together, so a much larger group in the same hours may
    leave another with fewer than it could have.
    """
    reaching = {
        g.key: g for g in groups if g.key.single is None and g.key.window * WINDOW_IDS < below
    }
    if not reaching:
        return
    older = query.filter(Q(*(k.members() for k in reaching), join_type=Q.OR), id__lt=below)
    counts = (
        await older.annotate(span=RawSQL(WINDOW_SQL))
        .group_by("type", "status_id", "span")
        .annotate(n=Count("id"))
        .values_list("type", "status_id", "span", "n")
    )
    for kind, status_id, window, n in counts:
        key = GroupKey(NotificationType(kind), _int(status_id), int(window))
        if key in reaching:
            reaching[key].older = int(n)
    short = [g for g in reaching.values() if g.older and len(g.members) < SAMPLE_SIZE]
    if not short:
        return
    senders = (
        await query.filter(Q(*(g.key.members() for g in short), join_type=Q.OR), id__lt=below)
        .order_by("-id")
        .limit(SAMPLE_SIZE * len(short))
        .values_list("id", "type", "status_id", "from_account_id")
    )
    for row_id, kind, status_id, sender in senders:
        key = GroupKey(NotificationType(kind), _int(status_id), int(row_id) // WINDOW_IDS)
        if key in reaching:
            reaching[key].older_senders.append(int(sender))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


async def _results(
    request: Request, viewer: Account, groups: Sequence[_Group], *, paginated: bool
) -> Json:
    """The GroupedNotificationsResults of ``groups``: each account and post serialized once."""
    ser = Serializer(request.app.state.ctx, viewer)
    account_ids = list(dict.fromkeys(i for g in groups for i in g.sample_ids()))
    accounts = await ser.accounts_by_id(account_ids)
    posts = list({s.id: s for g in groups if (s := g.members[0].status) is not None}.values())
    return {
        "accounts": [accounts[i] for i in account_ids if i in accounts],
        "statuses": await ser.statuses(posts),
        "notification_groups": [g.entity(paginated=paginated) for g in groups],
    }


async def list_groups(request: Request) -> Response:
    """A page of notifications in groups. ``limit`` counts notifications (default 40, at
    most 80), not groups; pages and the ``Link`` header go by notification id as in v1.
    ``expand_accounts`` accepts ``full`` and ``partial_avatars`` and answers every account in
    full, which the spec allows; ``include_filtered`` is accepted and has no effect (there
    is no notification policy here)."""
    viewer = await require_user(request, "read:notifications")
    params = await Params.read(request)
    _check_expand_accounts(params)
    try:
        page = Page.of(params, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    except Invalid as exc:
        return validation_error(exc)
    listing = await read_page(viewer, Wanted.of(params), page)
    groups = _group(listing.shown, _grouped_types(params))
    # A short page read downwards from the newest (or from max_id) has nothing below it.
    last = len(listing.rows) < page.limit and page.min_id is None and page.since_id is None
    if groups and listing.query is not None and not last:
        await _add_older(groups, listing.query, listing.rows[-1].id)
    body = await _results(request, viewer, groups, paginated=True)
    return ok(body, headers=link_header(request, [n.id for n in listing.rows], page))


async def unread_count(request: Request) -> Response:
    """The number of groups of notifications newer than the ``notifications`` marker, at
    most ``limit`` (default 100, at most 1000), as Mastodon counts it."""
    viewer = await require_user(request, "read:notifications")
    params = await Params.read(request)
    try:
        limit = params.number("limit", UNREAD_DEFAULT, minimum=1, maximum=UNREAD_MAX)
    except Invalid as exc:
        return validation_error(exc)
    limit = limit or UNREAD_DEFAULT
    wanted = Wanted.of(params)
    if wanted.nothing:
        return ok({"count": 0})
    query = await selectable(viewer, wanted)
    marker = await Marker.get_or_none(account_id=viewer.id, timeline="notifications")
    if marker is not None:
        query = query.filter(id__gt=marker.last_read_id)
    grouped = sorted(_grouped_types(params))
    keys: list[tuple[Any, ...]] = []  # (type, post id, window) of each group
    if grouped:
        keys = list(
            await query.filter(type__in=grouped)
            .annotate(span=RawSQL(WINDOW_SQL))
            .distinct()
            .limit(limit)
            .values_list("type", "status_id", "span")
        )
        query = query.exclude(type__in=grouped)
    singles = await query.order_by("id").limit(limit).select_related("status")
    about_keys = {int(k[1]) for k in keys if k[1] is not None}
    posts = {s.id: s for s in await Status.filter(id__in=about_keys)} if about_keys else {}
    posts.update({n.status.id: n.status for n in singles if n.status is not None})
    hidden = await hidden_about(list(posts.values()), viewer)
    about = [_int(k[1]) for k in keys] + [n.status.id if n.status else None for n in singles]
    count = sum(1 for i in about if i is None or (i in posts and i not in hidden))
    return ok({"count": min(count, limit)})


def _key(request: Request) -> GroupKey:
    key = GroupKey.parse(request.path_params["group_key"])
    if key is None:
        raise NotFound(RECORD_NOT_FOUND)
    return key


async def get_group(request: Request) -> Response:
    """One group: its newest notifications' senders and its whole count; 404 when the viewer
    has none of it to see (unknown, another account's, or about a post they may not see)."""
    viewer = await require_user(request, "read:notifications")
    key = _key(request)
    members = (await selectable(viewer)).filter(key.members())
    newest = (
        await members.order_by("-id").limit(SAMPLE_SIZE).select_related("from_account", "status")
    )
    if not newest or not await shown(newest[:1], viewer):
        raise NotFound(RECORD_NOT_FOUND)
    group = _Group(key, list(newest))
    if len(newest) == SAMPLE_SIZE:
        group.older = await members.filter(id__lt=newest[-1].id).count()
    return ok(await _results(request, viewer, [group], paginated=False))


async def group_accounts(request: Request) -> Response:
    """The senders of a group's notifications, newest first, paginated by notification id
    (default 40, at most 80)."""
    viewer = await require_user(request, "read:notifications")
    key = _key(request)
    params = await Params.read(request)
    try:
        page = Page.of(params, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    except Invalid as exc:
        return validation_error(exc)
    members = (await selectable(viewer)).filter(key.members())
    rows = page.arrange(await page.apply(members).select_related("from_account", "status"))
    seen = await shown(rows, viewer)
    body = await Serializer(request.app.state.ctx, viewer).accounts([n.from_account for n in seen])
    return ok(body, headers=link_header(request, [n.id for n in rows], page))


async def dismiss_group(request: Request) -> Response:
    """Dismiss every notification of the group; 404 when there was none, as in v1."""
    viewer = await require_user(request, "write:notifications")
    key = _key(request)
    deleted = await Notification.filter(key.members(), account_id=viewer.id).delete()
    if not deleted:
        raise NotFound(RECORD_NOT_FOUND)
    return ok({})


routes: list[BaseRoute] = [
    Route("/api/v2/notifications", list_groups, methods=["GET"]),
    Route("/api/v2/notifications/unread_count", unread_count, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}", get_group, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}/accounts", group_accounts, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}/dismiss", dismiss_group, methods=["POST"]),
]
