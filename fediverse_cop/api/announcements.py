"""Announcements: ``GET /api/v1/announcements``, ``POST …/:id/dismiss``, reactions.

The list holds the announcements active now, oldest start first, each with
``read`` for the viewer (as Mastodon, dismissed ones stay in the list, read).
Reactions are not kept: ``PUT``/``DELETE …/reactions/:name`` answer 422 for a
shown announcement (404 for any other), and ``reactions`` is always empty.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api.auth import require_user
from fediverse_cop.api.pagination import parse_id
from fediverse_cop.api.responses import ok
from fediverse_cop.services import announcements
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import Invalid, NotFound

RECORD_NOT_FOUND = "Record not found"


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def _id(request: Request) -> int:
    found = parse_id(request.path_params.get("id"))
    if found is None:
        raise NotFound(RECORD_NOT_FOUND)
    return found


async def index(request: Request) -> Response:
    viewer = await require_user(request, "read")
    shown = await announcements.active()
    read = await announcements.read_ids(viewer, shown)
    ctx = _ctx(request)
    return ok([announcements.entity(ctx, a, read=a.id in read) for a in shown])


async def dismiss(request: Request) -> Response:
    viewer = await require_user(request, "write:accounts")
    await announcements.dismiss(viewer, _id(request))
    return ok({})


async def reaction(request: Request) -> Response:
    await require_user(request, "write:favourites")
    await announcements.active_one(_id(request))
    raise Invalid("reactions are not supported")


routes: list[BaseRoute] = [
    Route("/api/v1/announcements", index, methods=["GET"]),
    Route("/api/v1/announcements/{id}/dismiss", dismiss, methods=["POST"]),
    Route("/api/v1/announcements/{id}/reactions/{name}", reaction, methods=["PUT", "DELETE"]),
]
