"""Follow requests, and join requests of the communities one moderates.

``GET /api/v1/follow_requests`` lists the pending follows of the user's own
account and, for the owners and moderators of communities, the pending joins of
those communities, newest first, paginated by the request (follow row) id. A
request is named by the requesting account's id: ``authorize`` and ``reject``
answer the request to the user's own account first, and otherwise the oldest
pending join from that account among the communities the user moderates (a person
asking to join two of them appears twice and is answered once per call).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q

from fediverse_cop.api.accounts import (
    NOT_ALLOWED,
    RECORD_NOT_FOUND,
    relationship,
    shown_account,
)
from fediverse_cop.api.auth import Forbidden, require_user
from fediverse_cop.api.entities import Serializer
from fediverse_cop.api.pagination import Page, link_header
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import (
    Account,
    Community,
    CommunityRole,
    Follow,
    FollowState,
    NotificationType,
)
from fediverse_cop.services import follows, groups, notifications
from fediverse_cop.services.errors import NotFound
from fediverse_cop.services.remote import Federation


async def moderated_group_ids(viewer: Account) -> list[int]:
    """The accounts of the local communities ``viewer`` owns or moderates."""
    roles = CommunityRole.filter(account_id=viewer.id, role__in=list(groups.MODERATOR_ROLES))
    community_ids = [int(row[0]) for row in await roles.values_list("community_id")]
    if not community_ids:
        return []
    rows = await Community.filter(id__in=community_ids, account__local=True).values_list(
        "account_id"
    )
    return [int(row[0]) for row in rows]


async def list_requests(request: Request) -> Response:
    viewer = await require_user(request, "read:follows")
    page = Page.of(await Params.read(request), maximum=80)
    targets = [viewer.id, *await moderated_group_ids(viewer)]
    query = Follow.filter(
        Q(target_id__in=targets),
        state=FollowState.PENDING,
        account__suspended_at__isnull=True,
        account__deleted_at__isnull=True,
    )
    rows = page.arrange(await page.apply(query).select_related("account"))
    data = await Serializer(request.app.state.ctx, viewer).accounts([r.account for r in rows])
    return ok(data, headers=link_header(request, [r.id for r in rows], page))


async def _answer(request: Request, *, accept: bool) -> Response:
    viewer = await require_user(request, "write:follows")
    requester = await shown_account(request.path_params["account_id"])
    fed: Federation = request.app.state.fed
    own = await Follow.exists(
        account_id=requester.id, target_id=viewer.id, state=FollowState.PENDING
    )
    if own:
        await follows.answer_request(fed, viewer, requester, accept=accept)
        await notifications.withdraw(viewer, requester, NotificationType.FOLLOW_REQUEST)
        if accept:
            await notifications.notify(viewer, requester, NotificationType.FOLLOW)
        return await relationship(request, viewer, requester)
    groups_ids = await moderated_group_ids(viewer)
    join = (
        await Follow.filter(
            account_id=requester.id, target_id__in=groups_ids, state=FollowState.PENDING
        )
        .order_by("id")
        .first()
        if groups_ids
        else None
    )
    if join is None:
        raise NotFound(RECORD_NOT_FOUND)
    community = await Community.get(account_id=join.target_id).select_related("account")  # type: ignore[attr-defined]
    if accept:
        if await groups.is_banned(community, requester):
            raise Forbidden(NOT_ALLOWED)
        await groups.approve_member(fed, community, requester, by=viewer)
    else:
        await groups.reject_member(fed, community, requester, by=viewer)
    moderators = await Account.filter(
        community_roles__community_id=community.id,
        community_roles__role__in=list(groups.MODERATOR_ROLES),
    )
    for moderator in moderators:
        await notifications.withdraw(moderator, requester, NotificationType.FOLLOW_REQUEST)
    return await relationship(request, viewer, requester)


async def authorize(request: Request) -> Response:
    return await _answer(request, accept=True)


async def reject(request: Request) -> Response:
    return await _answer(request, accept=False)


routes: list[BaseRoute] = [
    Route("/api/v1/follow_requests", list_requests, methods=["GET"]),
    Route("/api/v1/follow_requests/{account_id}/authorize", authorize, methods=["POST"]),
    Route("/api/v1/follow_requests/{account_id}/reject", reject, methods=["POST"]),
]
