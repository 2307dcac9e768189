"""Mutes, a user's domain blocks and account notes in the client API.

``POST /api/v1/accounts/:id/mute`` (``notifications``, ``duration`` in seconds, 0 for
ever) and ``unmute`` answer the Relationship; ``GET /api/v1/mutes`` lists the muted
accounts with ``mute_expires_at``. ``/api/v1/domain_blocks`` lists, adds and
removes the user's own domain blocks. ``POST /api/v1/accounts/:id/note`` keeps a
private comment (empty removes it). What they hide is decided in
:mod:`fediverse_cop.services.mutes` and applied by the timelines and notifications.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api.accounts import relationship, shown_account
from fediverse_cop.api.auth import require_user
from fediverse_cop.api.entities import Serializer
from fediverse_cop.api.pagination import Page, link_header
from fediverse_cop.api.params import BadRequest, Params
from fediverse_cop.api.responses import iso, ok
from fediverse_cop.models import Mute, UserDomainBlock
from fediverse_cop.services import mutes
from fediverse_cop.services.errors import NotFound

RECORD_NOT_FOUND = "Record not found"


async def mute(request: Request) -> Response:
    viewer = await require_user(request, "write:mutes")
    target = await shown_account(request.path_params["id"])
    if target.id == viewer.id:
        raise NotFound(RECORD_NOT_FOUND)
    params = await Params.read(request)
    await mutes.mute(
        viewer,
        target,
        notifications=params.flag("notifications", True),
        duration=params.number("duration", 0, minimum=0, maximum=mutes.MAX_MUTE_DURATION) or 0,
    )
    return await relationship(request, viewer, target)


async def unmute(request: Request) -> Response:
    viewer = await require_user(request, "write:mutes")
    target = await shown_account(request.path_params["id"])
    await mutes.unmute(viewer, target)
    return await relationship(request, viewer, target)


async def list_mutes(request: Request) -> Response:
    viewer = await require_user(request, "read:mutes")
    page = Page.of(await Params.read(request), maximum=80, default=40)
    query = Mute.filter(mutes.active_mutes(viewer.id))
    rows = page.arrange(await page.apply(query).select_related("target"))
    data = await Serializer(request.app.state.ctx, viewer).accounts([r.target for r in rows])
    for item, row in zip(data, rows, strict=True):
        item["mute_expires_at"] = iso(row.expires_at)
    return ok(data, headers=link_header(request, [row.id for row in rows], page))


async def note(request: Request) -> Response:
    viewer = await require_user(request, "write:accounts")
    target = await shown_account(request.path_params["id"])
    params = await Params.read(request)
    await mutes.set_note(viewer, target, params.text("comment", "", max_length=100_000) or "")
    return await relationship(request, viewer, target)


async def list_domain_blocks(request: Request) -> Response:
    viewer = await require_user(request, "read:blocks")
    page = Page.of(await Params.read(request), maximum=200, default=100)
    rows = page.arrange(await page.apply(UserDomainBlock.filter(account_id=viewer.id)))
    return ok(
        [row.domain for row in rows], headers=link_header(request, [r.id for r in rows], page)
    )


async def _domain(request: Request) -> str:
    params = await Params.read(request)
    domain = params.text("domain", max_length=300)
    if domain is None or not domain.strip():
        raise BadRequest("Missing parameter domain")
    return domain


async def block_domain(request: Request) -> Response:
    viewer = await require_user(request, "write:blocks")
    await mutes.block_domain(request.app.state.fed, viewer, await _domain(request))
    return ok({})


async def unblock_domain(request: Request) -> Response:
    viewer = await require_user(request, "write:blocks")
    await mutes.unblock_domain(viewer, await _domain(request))
    return ok({})


routes: list[BaseRoute] = [
    Route("/api/v1/accounts/{id}/mute", mute, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unmute", unmute, methods=["POST"]),
    Route("/api/v1/accounts/{id}/note", note, methods=["POST"]),
    Route("/api/v1/mutes", list_mutes, methods=["GET"]),
    Route("/api/v1/domain_blocks", list_domain_blocks, methods=["GET"]),
    Route("/api/v1/domain_blocks", block_domain, methods=["POST"]),
    Route("/api/v1/domain_blocks", unblock_domain, methods=["DELETE"]),
]
