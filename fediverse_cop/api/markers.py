"""Read positions: ``GET /api/v1/markers?timeline[]=home&timeline[]=notifications`` and
``POST /api/v1/markers`` (``home[last_read_id]``, ``notifications[last_read_id]``).

Each saved position increments the marker's ``version``, so apps syncing several
devices can tell which position is newer.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from fediverse_cop.api.auth import require_user
from fediverse_cop.api.entities import Json
from fediverse_cop.api.pagination import parse_id
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import iso, ok
from fediverse_cop.models import Account, Marker
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid

TIMELINES: Final = ("home", "notifications")


def _entity(marker: Marker) -> Json:
    return {
        "last_read_id": str(marker.last_read_id),
        "version": marker.version,
        "updated_at": iso(marker.updated_at),
    }


async def get_markers(request: Request) -> Response:
    user = await require_user(request, "read:statuses")
    params = await Params.read(request)
    wanted = [t for t in dict.fromkeys(params.texts("timeline")) if t in TIMELINES]
    rows = await Marker.filter(account_id=user.id, timeline__in=wanted) if wanted else []
    return ok({row.timeline: _entity(row) for row in rows})


async def _save(user: Account, timeline: str, last_read_id: int) -> Marker:
    now = utcnow()
    changed = await Marker.filter(account_id=user.id, timeline=timeline).update(
        last_read_id=last_read_id, version=F("version") + 1, updated_at=now
    )
    if not changed:
        try:
            return await Marker.create(
                account=user, timeline=timeline, last_read_id=last_read_id, version=1
            )
        except IntegrityError:  # saved by another request at the same moment
            return await _save(user, timeline, last_read_id)
    return await Marker.get(account_id=user.id, timeline=timeline)


async def save_markers(request: Request) -> Response:
    user = await require_user(request, "write:statuses")
    params = await Params.read(request)
    positions: dict[str, int] = {}
    for timeline in TIMELINES:
        given = params.mapping(timeline)
        if not given:
            continue
        last_read_id = parse_id(given.get("last_read_id"))
        if last_read_id is None:
            raise Invalid(f"Validation failed: {timeline}[last_read_id] must be an id")
        positions[timeline] = last_read_id
    saved = {timeline: await _save(user, timeline, value) for timeline, value in positions.items()}
    return ok({timeline: _entity(row) for timeline, row in saved.items()})


routes: list[BaseRoute] = [
    Route("/api/v1/markers", get_markers, methods=["GET"]),
    Route("/api/v1/markers", save_markers, methods=["POST"]),
]
