"""The Mastodon client API and OAuth 2 (see docs/client-api.md).

Each module declares its ``routes``; this package collects them. Endpoint
modules read parameters with :mod:`.params`, authenticate with :mod:`.auth`,
paginate with :mod:`.pagination` and build entities with :mod:`.entities`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api import (
    accounts,
    announcements,
    apps,
    conversations,
    filters,
    follow_requests,
    instance,
    lists,
    markers,
    media,
    mutes,
    notifications,
    notifications_v2,
    oauth,
    polls,
    push,
    reports,
    scheduled_statuses,
    search,
    statuses,
    streaming,
    tags,
    timelines,
)
from fediverse_cop.api.entities import DEFAULT_AVATAR_PATH, DEFAULT_HEADER_PATH, DEFAULT_IMAGE

# The upload endpoints, which get the media body limit instead of the request one.
UPLOAD_PATHS = ("/api/v1/media", "/api/v2/media", "/api/v1/accounts/update_credentials")


async def default_image(request: Request) -> Response:
    return Response(
        DEFAULT_IMAGE,
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


def routes() -> list[BaseRoute]:
    return [
        Route(DEFAULT_AVATAR_PATH, default_image, methods=["GET", "HEAD"]),
        Route(DEFAULT_HEADER_PATH, default_image, methods=["GET", "HEAD"]),
        *oauth.routes,
        *apps.routes,
        *instance.routes,
        *accounts.routes,
        *follow_requests.routes,
        *statuses.routes,
        *timelines.routes,
        *media.routes,
        *notifications.routes,
        *notifications_v2.routes,
        *search.routes,
        *reports.routes,
        *polls.routes,
        *markers.routes,
        *conversations.routes,
        *scheduled_statuses.routes,
        *streaming.routes,
        *push.routes,
        *announcements.routes,
        *lists.routes,
        *filters.routes,
        *mutes.routes,
        *tags.routes,
    ]
