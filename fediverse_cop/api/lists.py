"""Lists in the client API: a user's lists, their accounts, and ``accounts/:id/lists``.

Joined communities are offered as read-only lists (their id is the community's
account id; see :mod:`fediverse_cop.services.lists`): they appear in
``GET /api/v1/lists``, their timeline is the community's, and changing them
answers 403. The list timeline itself is in :mod:`fediverse_cop.api.timelines`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Subquery

from fediverse_cop.api.accounts import hidden_filter, shown_account
from fediverse_cop.api.auth import require_user
from fediverse_cop.api.entities import Serializer
from fediverse_cop.api.pagination import Page, link_header, parse_id
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import Account, ListAccount
from fediverse_cop.services import lists
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.lists import ListView

MAX_ACCOUNT_IDS = 250


def list_json(view: ListView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "title": view.title,
        "replies_policy": view.replies_policy,
        "exclusive": view.exclusive,
    }


async def _find(request: Request, user: Account) -> ListView:
    return await lists.find(user, parse_id(request.path_params["id"]))


async def all_lists(request: Request) -> Response:
    user = await require_user(request, "read:lists")
    return ok([list_json(view) for view in await lists.all_lists(user)])


async def get_list(request: Request) -> Response:
    user = await require_user(request, "read:lists")
    return ok(list_json(await _find(request, user)))


async def create_list(request: Request) -> Response:
    user = await require_user(request, "write:lists")
    params = await Params.read(request)
    row = await lists.create_list(
        user,
        params.required_text("title", max_length=10_000),
        params.text("replies_policy", "list", max_length=32) or "list",
        params.flag("exclusive"),
    )
    return ok(list_json(ListView.of(row)))


async def update_list(request: Request) -> Response:
    user = await require_user(request, "write:lists")
    row = (await _find(request, user)).own()
    params = await Params.read(request)
    title = params.text("title", max_length=10_000)
    policy = params.text("replies_policy", max_length=32)
    exclusive = params.flag("exclusive") if params.has("exclusive") else None
    await lists.update_list(row, title, policy or None, exclusive)
    return ok(list_json(ListView.of(row)))


async def delete_list(request: Request) -> Response:
    user = await require_user(request, "write:lists")
    row = (await _find(request, user)).own()
    await row.delete()
    return ok({})


async def list_accounts(request: Request) -> Response:
    """The list's accounts (``limit=0``: all of them); a community list holds the community."""
    user = await require_user(request, "read:lists")
    view = await _find(request, user)
    serializer = Serializer(request.app.state.ctx, user)
    if view.community is not None:
        return ok(await serializer.accounts([view.community]))
    params = await Params.read(request)
    shown = Subquery(Account.filter(hidden_filter()).values("id"))
    query = ListAccount.filter(user_list_id=view.id, account_id__in=shown)
    if params.number("limit", 40, minimum=0, maximum=80) == 0:
        rows = await query.order_by("-id").select_related("account")
        return ok(await serializer.accounts([row.account for row in rows]))
    page = Page.of(params, maximum=80, default=40)
    rows = page.arrange(await page.apply(query).select_related("account"))
    data = await serializer.accounts([row.account for row in rows])
    return ok(data, headers=link_header(request, [row.id for row in rows], page))


def _account_ids(params: Params) -> list[int]:
    ids = [parse_id(value) for value in params.texts("account_ids", max_items=MAX_ACCOUNT_IDS)]
    if not ids:
        raise Invalid("Validation failed: account_ids can't be blank")
    return [i if i is not None else -1 for i in ids]


async def add_accounts(request: Request) -> Response:
    user = await require_user(request, "write:lists")
    row = (await _find(request, user)).own()
    await lists.add_members(user, row, _account_ids(await Params.read(request)))
    return ok({})


async def remove_accounts(request: Request) -> Response:
    user = await require_user(request, "write:lists")
    row = (await _find(request, user)).own()
    await lists.remove_members(row, _account_ids(await Params.read(request)))
    return ok({})


async def lists_of_account(request: Request) -> Response:
    """``GET /api/v1/accounts/:id/lists``: the viewer's lists holding that account."""
    user = await require_user(request, "read:lists")
    target = await shown_account(request.path_params["id"])
    return ok([list_json(view) for view in await lists.lists_with(user, target)])


routes: list[BaseRoute] = [
    Route("/api/v1/lists", all_lists, methods=["GET"]),
    Route("/api/v1/lists", create_list, methods=["POST"]),
    Route("/api/v1/lists/{id}", get_list, methods=["GET"]),
    Route("/api/v1/lists/{id}", update_list, methods=["PUT"]),
    Route("/api/v1/lists/{id}", delete_list, methods=["DELETE"]),
    Route("/api/v1/lists/{id}/accounts", list_accounts, methods=["GET"]),
    Route("/api/v1/lists/{id}/accounts", add_accounts, methods=["POST"]),
    Route("/api/v1/lists/{id}/accounts", remove_accounts, methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/lists", lists_of_account, methods=["GET"]),
]
