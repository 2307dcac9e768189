"""Polls: ``GET /api/v1/polls/:id`` and ``POST /api/v1/polls/:id/votes``.

A poll is seen by whoever may see its post (else 404, like a missing one). Voting
is once per account, not on one's own poll and not after the end (422 with
Mastodon's messages); see :mod:`fediverse_cop.services.polls`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api.auth import optional_user, require_user
from fediverse_cop.api.entities import Json, Serializer
from fediverse_cop.api.pagination import parse_id
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import Account, Poll, PollVote
from fediverse_cop.services import polls, timelines
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.remote import Federation

RECORD_NOT_FOUND = "Record not found"


async def _visible_poll(request: Request, viewer: Account | None) -> Poll:
    poll_id = parse_id(request.path_params.get("id"))
    poll = await Poll.get_or_none(id=poll_id) if poll_id is not None else None
    if poll is None:
        raise NotFound(RECORD_NOT_FOUND)
    status = await timelines.get_visible(viewer, poll.status_id)  # type: ignore[attr-defined]
    if status is None:
        raise NotFound(RECORD_NOT_FOUND)
    return poll


async def _render(request: Request, viewer: Account | None, poll: Poll) -> Json:
    own: list[int] | None = None
    if viewer is not None:
        chosen: list[Any] = await PollVote.filter(
            poll_id=poll.id, account_id=viewer.id
        ).values_list("choice", flat=True)
        own = sorted(int(choice) for choice in chosen)
    return Serializer(request.app.state.ctx, viewer).poll(poll, own)


def _choices(params: Params) -> list[int]:
    choices: list[int] = []
    for raw in params.items("choices", max_items=polls.MAX_REMOTE_OPTIONS + 1):
        try:
            choices.append(int(str(raw)))
        except ValueError:
            raise Invalid(polls.INVALID_CHOICE) from None
    return choices


async def get_poll(request: Request) -> Response:
    viewer = await optional_user(request, "read:statuses")
    poll = await _visible_poll(request, viewer)
    return ok(await _render(request, viewer, poll))


async def vote(request: Request) -> Response:
    user = await require_user(request, "write:statuses")
    poll = await _visible_poll(request, user)
    choices = _choices(await Params.read(request))
    fed: Federation = request.app.state.fed
    updated = await polls.vote(fed, user, poll, choices)
    return ok(await _render(request, user, updated))


routes: list[BaseRoute] = [
    Route("/api/v1/polls/{id}", get_poll, methods=["GET"]),
    Route("/api/v1/polls/{id}/votes", vote, methods=["POST"]),
]
