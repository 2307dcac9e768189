"""Hashtags in the client API: ``GET /api/v1/tags/:name``, follow and unfollow, followed tags.

A tag name is word characters with at least one that is not a digit (the rule
hashtags in posts follow), compared in lower case. Following a tag brings its
public posts into the home timeline (:func:`fediverse_cop.services.timelines.home`).
``history`` counts the uses (posts) and the accounts using the tag on each of the
last seven days, newest first, in one query for a page of tags.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.exceptions import IntegrityError

from activitypub.uris import Kind
from fediverse_cop.api.auth import optional_user, require_user
from fediverse_cop.api.pagination import Page, link_header
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import Account, StatusTag, Tag, TagFollow
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.errors import NotFound

RECORD_NOT_FOUND = "Record not found"
HISTORY_DAYS = 7
MAX_NAME = 255
_NAME = re.compile(r"\w*[^\W\d_]\w*")


def normalize(raw: str) -> str | None:
    name = raw.strip().lstrip("#").lower()
    if not name or len(name) > MAX_NAME or not _NAME.fullmatch(name):
        return None
    return name


def _day(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


async def _history(tags: Sequence[Tag]) -> dict[int, list[dict[str, str]]]:
    """Per tag, the uses and accounts of each of the last seven days (newest first)."""
    today = _day(utcnow())
    days = [today - timedelta(days=n) for n in range(HISTORY_DAYS)]
    uses: dict[tuple[int, datetime], int] = defaultdict(int)
    accounts: dict[tuple[int, datetime], set[int]] = defaultdict(set)
    if tags:
        rows = await StatusTag.filter(
            tag_id__in=[t.id for t in tags],
            status__published_at__gte=days[-1],
            status__deleted_at=None,
        ).values_list("tag_id", "status__published_at", "status__account_id")
        for tag_id, published, account_id in rows:
            key = (int(tag_id), _day(published))
            uses[key] += 1
            accounts[key].add(int(account_id))
    return {
        t.id: [
            {
                "day": str(int(day.timestamp())),
                "uses": str(uses.get((t.id, day), 0)),
                "accounts": str(len(accounts.get((t.id, day), set()))),
            }
            for day in days
        ]
        for t in tags
    }


async def tags_json(
    ctx: ServerContext, tags: Sequence[Tag], viewer: Account | None
) -> list[dict[str, Any]]:
    history = await _history(tags)
    followed: set[int] = set()
    if viewer is not None and tags:
        rows: list[Any] = await TagFollow.filter(
            account_id=viewer.id, tag_id__in=[t.id for t in tags]
        ).values_list("tag_id", flat=True)
        followed = {int(i) for i in rows}
    result: list[dict[str, Any]] = []
    for t in tags:
        data: dict[str, Any] = {
            "id": str(t.id),
            "name": t.name,
            "url": ctx.uris.build(Kind.TAG, name=t.name),
            "history": history[t.id],
        }
        if viewer is not None:
            data["following"] = t.id in followed
            data["featuring"] = False
        result.append(data)
    return result


async def _tag_json(request: Request, tag: Tag, viewer: Account | None) -> Response:
    return ok((await tags_json(request.app.state.ctx, [tag], viewer))[0])


async def get_tag(request: Request) -> Response:
    viewer = await optional_user(request, "read:follows")
    name = normalize(str(request.path_params["name"]))
    tag = await Tag.get_or_none(name=name) if name is not None else None
    if tag is None:
        raise NotFound(RECORD_NOT_FOUND)
    return await _tag_json(request, tag, viewer)


async def follow_tag(request: Request) -> Response:
    viewer = await require_user(request, "write:follows")
    name = normalize(str(request.path_params["name"]))
    if name is None:
        raise NotFound(RECORD_NOT_FOUND)
    tag, _ = await Tag.get_or_create(name=name)
    # Followed concurrently: the same outcome.
    with contextlib.suppress(IntegrityError):
        await TagFollow.get_or_create(account_id=viewer.id, tag_id=tag.id)
    return await _tag_json(request, tag, viewer)


async def unfollow_tag(request: Request) -> Response:
    viewer = await require_user(request, "write:follows")
    name = normalize(str(request.path_params["name"]))
    tag = await Tag.get_or_none(name=name) if name is not None else None
    if tag is None:
        raise NotFound(RECORD_NOT_FOUND)
    await TagFollow.filter(account_id=viewer.id, tag_id=tag.id).delete()
    return await _tag_json(request, tag, viewer)


async def followed_tags(request: Request) -> Response:
    viewer = await require_user(request, "read:follows")
    page = Page.of(await Params.read(request), maximum=200, default=100)
    rows = page.arrange(
        await page.apply(TagFollow.filter(account_id=viewer.id)).select_related("tag")
    )
    data = await tags_json(request.app.state.ctx, [row.tag for row in rows], viewer)
    return ok(data, headers=link_header(request, [row.id for row in rows], page))


routes: list[BaseRoute] = [
    Route("/api/v1/followed_tags", followed_tags, methods=["GET"]),
    Route("/api/v1/tags/{name}", get_tag, methods=["GET"]),
    Route("/api/v1/tags/{name}/follow", follow_tag, methods=["POST"]),
    Route("/api/v1/tags/{name}/unfollow", unfollow_tag, methods=["POST"]),
]
