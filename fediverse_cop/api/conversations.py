"""Direct conversations: ``GET /api/v1/conversations`` (paginated by their last status),
``DELETE /api/v1/conversations/:id`` and ``POST /api/v1/conversations/:id/read``.

Rows are kept by :mod:`fediverse_cop.services.conversations`. A page costs a fixed
number of queries: the participants and the last statuses are serialized in one
batch each. A last status the viewer can no longer see (deleted) shows as null.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api.auth import require_user
from fediverse_cop.api.entities import Json, Serializer, ids_of
from fediverse_cop.api.pagination import Page, link_header, parse_id
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import Account, Conversation
from fediverse_cop.services import conversations, timelines
from fediverse_cop.services.errors import NotFound

RECORD_NOT_FOUND = "Record not found"


async def render(request: Request, viewer: Account, rows: Sequence[Conversation]) -> list[Json]:
    ser = Serializer(request.app.state.ctx, viewer)
    account_ids = {i for row in rows for i in row.participant_ids}
    accounts = await Account.filter(id__in=list(account_ids))
    accounts_json = dict(zip(ids_of(accounts), await ser.accounts(accounts), strict=True))
    status_ids = [row.last_status_id for row in rows if row.last_status_id is not None]  # type: ignore[attr-defined]
    statuses = await timelines.visible(viewer).filter(id__in=status_ids) if status_ids else []
    statuses_json = dict(zip(ids_of(statuses), await ser.statuses(statuses), strict=True))
    return [
        {
            "id": str(row.id),
            "unread": row.unread,
            "accounts": [accounts_json[i] for i in row.participant_ids if i in accounts_json],
            "last_status": statuses_json.get(row.last_status_id),  # type: ignore[attr-defined]
        }
        for row in rows
    ]


async def _own(request: Request, user: Account) -> Conversation:
    conversation_id = parse_id(request.path_params.get("id"))
    row = (
        await conversations.of_account(user, conversation_id)
        if conversation_id is not None
        else None
    )
    if row is None:
        raise NotFound(RECORD_NOT_FOUND)
    return row


async def list_conversations(request: Request) -> Response:
    user = await require_user(request, "read:statuses")
    page = Page.of(await Params.read(request))
    query = Conversation.filter(account_id=user.id, last_status_id__isnull=False)
    rows = page.arrange(await page.apply(query, "last_status_id"))
    headers = link_header(request, [r.last_status_id for r in rows], page)  # type: ignore[attr-defined]
    return ok(await render(request, user, rows), headers=headers)


async def delete_conversation(request: Request) -> Response:
    user = await require_user(request, "write:conversations")
    row = await _own(request, user)
    await row.delete()
    return ok({})


async def read_conversation(request: Request) -> Response:
    user = await require_user(request, "write:conversations")
    row = await conversations.mark_read(await _own(request, user))
    return ok((await render(request, user, [row]))[0])


routes: list[BaseRoute] = [
    Route("/api/v1/conversations", list_conversations, methods=["GET"]),
    Route("/api/v1/conversations/{id}", delete_conversation, methods=["DELETE"]),
    Route("/api/v1/conversations/{id}/read", read_conversation, methods=["POST"]),
]
