"""Authorized-fetch mode (the ``authorized_fetch`` setting): every ActivityPub GET must be signed.

As in Mastodon's secure mode, a GET of one of our actors, collections or objects
in ActivityStreams form is answered only when it carries a valid HTTP signature of
a remote actor whose domain we do not suspend; otherwise 401. Exempt: the
instance actor (peers fetch its key to check our own signed fetches), the HTML
forms of profiles and posts for browsers, and discovery (WebFinger, host-meta,
NodeInfo), which are not ActivityPub documents.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from activitypub.uris import Kind
from fediverse_cop.web.negotiation import wants_activity_json
from inbox.authenticate import Authenticator

_HTML_FORMS = frozenset({Kind.USER, Kind.COMMUNITY, Kind.OBJECT})
_EXEMPT = frozenset({Kind.INSTANCE_ACTOR, Kind.INSTANCE_ACTOR_KEY, Kind.SHARED_INBOX})


class AuthorizedFetchMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        fed = scope["app"].state.fed
        parsed = fed.ctx.uris.parse(fed.ctx.uris.base + scope["path"])
        if parsed is None or parsed.kind in _EXEMPT:
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        accept = next((v for k, v in headers if k.lower() == "accept"), "")
        if parsed.kind in _HTML_FORMS and not wants_activity_json(accept):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        target = raw_path + (f"?{query}" if query else "")
        requester = await Authenticator(fed).authenticate(scope["method"], target, headers, b"")
        if requester is None:
            body = orjson.dumps({"error": "this server requires signed requests"})
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["requester"] = requester
        await self.app(scope, receive, send)
