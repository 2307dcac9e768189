"""Notifications: ``GET /api/v1/notifications`` (filtered, paginated), get, dismiss, clear.

Notifications are written where interactions are recorded (follows, favourites,
boosts, mentions, edits; see :mod:`fediverse_cop.services.notifications`). Reading
them applies the visibility policy again: a notification about a post the
viewer can no longer see (deleted, or followers-only after an unfollow) is
skipped, and a single one answers 404 like a missing one. Notifications from
accounts the viewer blocks or that are suspended are not shown, nor those from
accounts muted with their notifications, from domains the viewer blocks (but for
accounts followed there), or about posts a ``hide`` filter of the
``notifications`` context matches.

Who may see what is decided here once, for both listings: :func:`selectable` is
the query of the notifications an account may be shown (with the ``types[]``,
``exclude_types[]`` and ``account_id`` a client asked for), :func:`shown` drops
those about posts the viewer may not see or hides, and :func:`read_page` does
both for one page. The grouped listing (:mod:`.notifications_v2`) uses them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from fediverse_cop.api.auth import require_user
from fediverse_cop.api.entities import Serializer
from fediverse_cop.api.pagination import Page, link_header, parse_id
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import (
    Account,
    AccountBlock,
    Follow,
    FollowState,
    Notification,
    NotificationType,
    Status,
    StatusMention,
    Visibility,
)
from fediverse_cop.services import filters, mutes
from fediverse_cop.services.errors import Invalid, NotFound

DEFAULT_LIMIT = 40
MAX_LIMIT = 80
RECORD_NOT_FOUND = "Record not found"

_TYPES = {kind.value: kind for kind in NotificationType}
_OPEN = (Visibility.PUBLIC, Visibility.UNLISTED)


def known_types(values: Iterable[str]) -> list[NotificationType]:
    """Known types among ``values``; unknown ones (newer Mastodon types) are ignored."""
    return [_TYPES[value] for value in values if value in _TYPES]


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a listing asks for: ``types[]`` (None: all), ``exclude_types[]``, ``account_id``."""

    types: tuple[NotificationType, ...] | None = None
    excluded: tuple[NotificationType, ...] = ()
    account_id: int | None = None

    @classmethod
    def of(cls, params: Params) -> Wanted:
        return cls(
            types=tuple(known_types(params.texts("types"))) if params.has("types") else None,
            excluded=tuple(known_types(params.texts("exclude_types"))),
            # An account id that is not a number selects nothing (no account has id 0).
            account_id=(parse_id(params.raw("account_id")) or 0)
            if params.has("account_id")
            else None,
        )

    @property
    def nothing(self) -> bool:
        """Whether only types this server does not know were asked for."""
        return self.types is not None and not self.types


def validation_error(exc: Invalid) -> Response:
    """Mastodon's ValidationError entity, which the notification endpoints document for 422."""
    return ok({"error": str(exc), "details": {}}, status=422)


async def _ids(query: Any) -> set[int]:
    return {int(value) for value in await query}


async def hidden_statuses(statuses: Sequence[Status], viewer: Account) -> set[int]:
    """Ids of ``statuses`` the viewer may not see, in at most two queries.

    The rules of :func:`fediverse_cop.services.visibility.can_view`, batched.
    """
    hidden = {s.id for s in statuses if s.deleted_at is not None}
    author = {s.id: int(s.account_id) for s in statuses}  # type: ignore[attr-defined]
    restricted = [
        s
        for s in statuses
        if s.deleted_at is None and s.visibility not in _OPEN and author[s.id] != viewer.id
    ]
    if not restricted:
        return hidden
    mentioned = await _ids(
        StatusMention.filter(
            status_id__in=[s.id for s in restricted], account_id=viewer.id
        ).values_list("status_id", flat=True)
    )
    private_authors = {
        author[s.id]
        for s in restricted
        if s.id not in mentioned and s.visibility is Visibility.PRIVATE
    }
    followed: set[int] = set()
    if private_authors:
        followed = await _ids(
            Follow.filter(
                account_id=viewer.id, target_id__in=private_authors, state=FollowState.ACCEPTED
            ).values_list("target_id", flat=True)
        )
    for s in restricted:
        if s.id in mentioned:
            continue
        if s.visibility is Visibility.PRIVATE and author[s.id] in followed:
            continue
        hidden.add(s.id)
    return hidden


async def _visible(rows: Sequence[Notification], viewer: Account) -> list[Notification]:
    hidden = await hidden_statuses([n.status for n in rows if n.status is not None], viewer)
    return [n for n in rows if n.status is None or n.status.id not in hidden]


async def selectable(viewer: Account, wanted: Wanted | None = None) -> QuerySet[Notification]:
    """The viewer's notifications they may be shown, as far as their senders decide it.

    Senders that are suspended, blocked, muted with their notifications or on a
    domain the viewer blocks (unless followed) are left out; the posts are checked
    on the rows read (:func:`shown`). Call with ``wanted`` whose ``nothing`` is false.
    """
    query = Notification.filter(account_id=viewer.id, from_account__suspended_at=None)
    if wanted is not None:
        if wanted.types is not None:
            query = query.filter(type__in=list(wanted.types))
        if wanted.excluded:
            query = query.exclude(type__in=list(wanted.excluded))
        if wanted.account_id is not None:
            query = query.filter(from_account_id=wanted.account_id)
    blocked = await AccountBlock.filter(account_id=viewer.id).values_list("target_id", flat=True)
    if blocked:
        query = query.exclude(from_account_id__in=list(blocked))
    query = query.exclude(from_account_id__in=mutes.muted_ids(viewer.id, notifications_only=True))
    followed = Follow.filter(account_id=viewer.id, state=FollowState.ACCEPTED)
    return query.filter(
        ~Q(from_account_id__in=mutes.blocked_domain_accounts(viewer.id))
        | Q(from_account_id__in=Subquery(followed.values("target_id")))
    )


async def hidden_about(statuses: Sequence[Status], viewer: Account) -> set[int]:
    """Ids of ``statuses`` the viewer may not see or hides from notifications with a filter."""
    hidden = await hidden_statuses(statuses, viewer)
    seen = [s for s in statuses if s.id not in hidden]
    compiled = await filters.active_filters(viewer)
    return hidden | await filters.hidden_ids(seen, compiled, "notifications")


async def shown(rows: Sequence[Notification], viewer: Account) -> list[Notification]:
    """``rows`` (read with their ``status``) less those about posts :func:`hidden_about` hides."""
    about = list({n.status.id: n.status for n in rows if n.status is not None}.values())
    hidden = await hidden_about(about, viewer)
    return [n for n in rows if n.status is None or n.status.id not in hidden]


@dataclass(slots=True)
class Listing:
    """One page of notifications: ``rows`` as read (their ids make the ``Link`` header),
    ``shown`` those the viewer sees, both newest first, and the ``query`` they came from
    (None when the types asked for select nothing)."""

    query: QuerySet[Notification] | None
    rows: list[Notification]
    shown: list[Notification]


async def read_page(viewer: Account, wanted: Wanted, page: Page) -> Listing:
    """The page of the viewer's notifications ``wanted`` selects, with senders and posts."""
    if wanted.nothing:
        return Listing(None, [], [])
    query = await selectable(viewer, wanted)
    rows = page.arrange(await page.apply(query).select_related("from_account", "status"))
    return Listing(query, rows, await shown(rows, viewer))


async def list_notifications(request: Request) -> Response:
    viewer = await require_user(request, "read:notifications")
    params = await Params.read(request)
    try:
        page = Page.of(params, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    except Invalid as exc:
        return validation_error(exc)
    listing = await read_page(viewer, Wanted.of(params), page)
    body = await Serializer(request.app.state.ctx, viewer).notifications(listing.shown)
    return ok(body, headers=link_header(request, [n.id for n in listing.rows], page))


async def _own_notification(request: Request, viewer: Account) -> Notification:
    notification_id = parse_id(request.path_params["id"])
    if notification_id is None:
        raise NotFound(RECORD_NOT_FOUND)
    found = await Notification.get_or_none(
        id=notification_id, account_id=viewer.id, from_account__suspended_at=None
    ).select_related("from_account", "status")
    if found is None or not await _visible([found], viewer):
        raise NotFound(RECORD_NOT_FOUND)
    return found


async def get_notification(request: Request) -> Response:
    viewer = await require_user(request, "read:notifications")
    notification = await _own_notification(request, viewer)
    body = await Serializer(request.app.state.ctx, viewer).notifications([notification])
    return ok(body[0])


async def dismiss_notification(request: Request) -> Response:
    viewer = await require_user(request, "write:notifications")
    notification_id = parse_id(request.path_params["id"])
    deleted = 0
    if notification_id is not None:
        deleted = await Notification.filter(id=notification_id, account_id=viewer.id).delete()
    if not deleted:
        raise NotFound(RECORD_NOT_FOUND)
    return ok({})


async def clear_notifications(request: Request) -> Response:
    viewer = await require_user(request, "write:notifications")
    await Notification.filter(account_id=viewer.id).delete()
    return ok({})


routes: list[BaseRoute] = [
    Route("/api/v1/notifications", list_notifications, methods=["GET"]),
    Route("/api/v1/notifications/clear", clear_notifications, methods=["POST"]),
    Route("/api/v1/notifications/{id}", get_notification, methods=["GET"]),
    Route("/api/v1/notifications/{id}/dismiss", dismiss_notification, methods=["POST"]),
]
