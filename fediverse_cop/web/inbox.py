"""Inbox routes: the shared inbox and every local actor's own inbox."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from activitypub.uris import ROUTE_TEMPLATES, Kind
from fediverse_cop.models import Account, ActorType, acct_key
from inbox.receive import InboxReceiver


async def _receive(request: Request, recipient: Account | None) -> Response:
    receiver: InboxReceiver = request.app.state.inbox
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    target = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
    result = await receiver.receive(
        method=request.method,
        target=target,
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
        body=await request.body(),
        recipient=recipient,
    )
    if result.accepted:
        return Response(status_code=202)
    return JSONResponse({"error": result.message}, status_code=result.status)


async def shared_inbox(request: Request) -> Response:
    return await _receive(request, None)


def _actor_inbox(actor_type: ActorType) -> object:
    async def endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        recipient = await Account.get_or_none(
            acct_key=acct_key(name, None), local=True, actor_type=actor_type
        )
        if recipient is None or recipient.is_suspended:
            return JSONResponse({"error": "Not Found"}, status_code=404)
        return await _receive(request, recipient)

    return endpoint


routes: list[BaseRoute] = [
    Route(ROUTE_TEMPLATES[Kind.SHARED_INBOX], shared_inbox, methods=["POST"]),
    Route(
        ROUTE_TEMPLATES[Kind.USER_INBOX],
        _actor_inbox(ActorType.PERSON),  # type: ignore[arg-type]
        methods=["POST"],
    ),
    Route(
        ROUTE_TEMPLATES[Kind.COMMUNITY_INBOX],
        _actor_inbox(ActorType.GROUP),  # type: ignore[arg-type]
        methods=["POST"],
    ),
]
