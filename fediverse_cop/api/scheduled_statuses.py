"""Scheduled posts: ``GET /api/v1/scheduled_statuses`` (paginated), ``GET``, ``PUT``
(``scheduled_at``) and ``DELETE /api/v1/scheduled_statuses/:id``, for their owner only.

They are made by ``POST /api/v1/statuses`` with ``scheduled_at`` (see
``api/statuses.py``) and published by the worker
(:func:`fediverse_cop.services.scheduled.publish_due`).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api.auth import require_user
from fediverse_cop.api.entities import Json, Serializer
from fediverse_cop.api.pagination import Page, link_header, parse_id
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import iso, ok
from fediverse_cop.models import Account, MediaAttachment, ScheduledStatus
from fediverse_cop.services import scheduled
from fediverse_cop.services.errors import Invalid, NotFound

RECORD_NOT_FOUND = "Record not found"


async def render(request: Request, viewer: Account, rows: Sequence[ScheduledStatus]) -> list[Json]:
    """ScheduledStatus entities, their uploads loaded in one query."""
    ser = Serializer(request.app.state.ctx, viewer)
    media_ids = {i for row in rows for i in row.media_ids}
    media = {
        m.id: ser.media_attachment(m)
        for m in await MediaAttachment.filter(id__in=list(media_ids), account_id=viewer.id)
    }
    return [
        {
            "id": str(row.id),
            "scheduled_at": iso(row.scheduled_at),
            "params": row.params,
            "media_attachments": [media[i] for i in row.media_ids if i in media],
        }
        for row in rows
    ]


async def _own(request: Request, user: Account) -> ScheduledStatus:
    row_id = parse_id(request.path_params.get("id"))
    row = (
        await ScheduledStatus.get_or_none(id=row_id, account_id=user.id)
        if row_id is not None
        else None
    )
    if row is None:
        raise NotFound(RECORD_NOT_FOUND)
    return row


async def list_scheduled(request: Request) -> Response:
    user = await require_user(request, "read:statuses")
    page = Page.of(await Params.read(request))
    rows = page.arrange(await page.apply(ScheduledStatus.filter(account_id=user.id)))
    headers = link_header(request, [r.id for r in rows], page)
    return ok(await render(request, user, rows), headers=headers)


async def get_scheduled(request: Request) -> Response:
    user = await require_user(request, "read:statuses")
    row = await _own(request, user)
    return ok((await render(request, user, [row]))[0])


async def update_scheduled(request: Request) -> Response:
    user = await require_user(request, "write:statuses")
    row = await _own(request, user)
    params = await Params.read(request)
    value = params.text("scheduled_at", max_length=64)
    if not value:
        raise Invalid("Validation failed: scheduled_at can't be blank")
    await scheduled.reschedule(row, scheduled.parse_time(value))
    return ok((await render(request, user, [row]))[0])


async def delete_scheduled(request: Request) -> Response:
    user = await require_user(request, "write:statuses")
    row = await _own(request, user)
    await row.delete()
    return ok({})


routes: list[BaseRoute] = [
    Route("/api/v1/scheduled_statuses", list_scheduled, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{id}", get_scheduled, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{id}", update_scheduled, methods=["PUT"]),
    Route("/api/v1/scheduled_statuses/{id}", delete_scheduled, methods=["DELETE"]),
]
