"""The streaming API: a multiplexed WebSocket, server-sent events, and a health check.

See docs/streaming.md. The token comes from ``Authorization: Bearer …``, from
``Sec-WebSocket-Protocol`` (echoed back when accepted) or from ``?access_token=``;
every stream needs a user token, as on Mastodon since 4.2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from fediverse_cop.api.auth import INVALID_TOKEN, OUTSIDE_SCOPES
from fediverse_cop.models import Account, OAuthToken
from fediverse_cop.services import oauth
from fediverse_cop.streaming import streams as names
from fediverse_cop.streaming.streams import StreamError, StreamKey

if TYPE_CHECKING:  # the hub renders with api.entities: importing it here would loop
    from fediverse_cop.streaming.hub import Hub, Subscriber

log = logging.getLogger(__name__)

MISSING_TOKEN = "Missing access token"  # noqa: S105 (a message, not a secret)
# Largest client frame read (subscribe and unsubscribe messages are tiny).
MAX_CLIENT_FRAME = 4096


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _hub(connection: HTTPConnection) -> Hub:
    hub: Hub = connection.app.state.streaming
    return hub


def _protocol_token(connection: HTTPConnection) -> str | None:
    offered = connection.headers.get("sec-websocket-protocol", "")
    first = offered.split(",", 1)[0].strip()
    return first or None


def _secret(connection: HTTPConnection) -> str | None:
    """The token: the Authorization header, then ``access_token``, then the subprotocol."""
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.query_params.get("access_token") or _protocol_token(connection)


async def _authenticate(secret: str | None) -> tuple[OAuthToken, Account, frozenset[str]]:
    """The user token behind ``secret``, if it may read statuses or notifications."""
    if secret is None:
        raise _Refused(401, MISSING_TOKEN)
    token = await oauth.find_token(secret)
    if token is None or token.account_id is None:  # type: ignore[attr-defined]
        raise _Refused(401, INVALID_TOKEN)
    scopes = oauth.token_scopes(token)
    if not (names.allowed(scopes, names.USER) or names.allowed(scopes, names.USER_NOTIFICATION)):
        raise _Refused(401, OUTSIDE_SCOPES)
    account: Account | None = token.account
    if account is None:
        raise _Refused(401, INVALID_TOKEN)
    return token, account, scopes


# -- health --------------------------------------------------------------------------------


async def health(request: Request) -> Response:
    return PlainTextResponse("OK", headers={"Cache-Control": "no-store"})


# -- server-sent events --------------------------------------------------------------------


def _sse_key(request: Request) -> StreamKey:
    path = request.path_params["stream"].strip("/")
    name = names.SSE_PATHS.get(path)
    if name is None:
        raise StreamError("Unknown channel requested")
    only_media = request.query_params.get("only_media", "").lower() in ("1", "true", "on")
    return names.parse(
        names.with_only_media(name, only_media),
        tag=request.query_params.get("tag"),
        list_id=request.query_params.get("list"),
    )


async def server_sent_events(request: Request) -> Response:
    hub = _hub(request)
    try:
        key = _sse_key(request)
        token, account, scopes = await _authenticate(_secret(request))
        sub = hub.connect(account, token, scopes, "sse")
        try:
            await hub.subscribe(sub, key)
        except StreamError:
            hub.disconnect(sub)
            raise
    except _Refused as refused:
        return JSONResponse({"error": str(refused)}, status_code=refused.status)
    except StreamError as error:
        return JSONResponse({"error": str(error)}, status_code=error.status)
    return EventStream(hub, sub)


class EventStream(Response):
    """A ``text/event-stream`` response fed by a subscriber's queue.

    Closing the subscriber cancels the writer: a client that stops reading is ended
    by the hub (its queue filled up) even while a write to it is blocked.
    """

    media_type = "text/event-stream"

    def __init__(self, hub: Hub, sub: Subscriber) -> None:
        # No Content-Length: the body is written as it comes (chunked).
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ]
        self.hub = hub
        self.sub = sub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub, sub = self.hub, self.sub
        watcher = asyncio.create_task(_watch_disconnect(receive, sub))
        writer = asyncio.create_task(self._write(send))
        sub.on_close = writer.cancel
        if sub.closed.is_set():
            writer.cancel()
        try:
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await writer
            if sub.close_code != 1000:
                log.info("streaming: ended an SSE stream (%s)", sub.close_reason)
                # Finish the response if the client still takes bytes; else drop the line.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        send({"type": "http.response.body", "body": b"", "more_body": False}),
                        timeout=1,
                    )
        finally:
            writer.cancel()
            watcher.cancel()
            hub.disconnect(sub)

    async def _write(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        chunk = ":)\n"
        while True:
            await send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
            try:
                async with asyncio.timeout(self.hub.heartbeat):
                    frame = await self.sub.queue.get()
                chunk = frame.sse_text()
            except TimeoutError:
                chunk = ":thump\n"


async def _watch_disconnect(receive: Receive, sub: Subscriber) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            sub.close(1000, "disconnected")
            return


# -- WebSocket -----------------------------------------------------------------------------


async def websocket(ws: WebSocket) -> None:
    hub = _hub(ws)
    try:
        token, account, scopes = await _authenticate(_secret(ws))
    except _Refused as refused:
        await _deny(ws, refused.status, str(refused))
        return
    # A client that offered a subprotocol (the token, for browsers) must get one back.
    await ws.accept(subprotocol=_protocol_token(ws))
    sub = hub.connect(account, token, scopes, "websocket")
    try:
        initial = ws.query_params.get("stream")
        if initial:
            await _subscribe(
                ws,
                hub,
                sub,
                {
                    "type": "subscribe",
                    "stream": initial,
                    "tag": ws.query_params.get("tag"),
                    "list": ws.query_params.get("list"),
                },
            )
        await _pump(ws, hub, sub)
    finally:
        hub.disconnect(sub)


async def _deny(ws: WebSocket, status: int, message: str) -> None:
    """Refuse the upgrade with an HTTP answer where the server allows it, else a close."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(JSONResponse({"error": message}, status_code=status))
    else:
        await ws.close(code=1008, reason=message)


async def _pump(ws: WebSocket, hub: Hub, sub: Subscriber) -> None:
    """Read client messages and write frames until either side ends.

    Closing the subscriber (a full queue, a revoked token) cancels the writer, even
    while it waits on a client that takes no more bytes.
    """
    writer = asyncio.create_task(_write(ws, sub))
    reader = asyncio.create_task(_read(ws, hub, sub))
    sub.on_close = writer.cancel
    if sub.closed.is_set():
        writer.cancel()
    try:
        await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (writer, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if ws.application_state is WebSocketState.CONNECTED and sub.close_code != 1000:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(sub.close_code, sub.close_reason), timeout=1)


async def _write(ws: WebSocket, sub: Subscriber) -> None:
    try:
        while True:
            frame = await sub.queue.get()
            await ws.send_text(frame.websocket_text())
    except (WebSocketDisconnect, RuntimeError, OSError):
        sub.close(1000, "disconnected")


async def _read(ws: WebSocket, hub: Hub, sub: Subscriber) -> None:
    try:
        while True:
            text = await ws.receive_text()
            if len(text) > MAX_CLIENT_FRAME:
                await _send_error(ws, "Message too long", 400)
                continue
            try:
                message = orjson.loads(text)
            except orjson.JSONDecodeError:
                await _send_error(ws, "Could not parse the message", 400)
                continue
            if not isinstance(message, dict):
                await _send_error(ws, "Could not parse the message", 400)
                continue
            await _subscribe(ws, hub, sub, message)
    except (WebSocketDisconnect, RuntimeError, KeyError):
        # KeyError: a binary frame where a text one was expected.
        sub.close(1000, "disconnected")


async def _subscribe(ws: WebSocket, hub: Hub, sub: Subscriber, message: dict[str, Any]) -> None:
    kind = message.get("type")
    if kind not in ("subscribe", "unsubscribe"):
        await _send_error(ws, "Unknown message type", 400)
        return
    tag = message.get("tag")
    list_id = message.get("list")
    try:
        key = names.parse(
            str(message.get("stream") or ""),
            tag=str(tag) if tag is not None else None,
            list_id=str(list_id) if list_id is not None else None,
        )
        if kind == "subscribe":
            await hub.subscribe(sub, key)
        else:
            hub.unsubscribe(sub, key)
    except StreamError as error:
        await _send_error(ws, str(error), error.status)


async def _send_error(ws: WebSocket, message: str, status: int) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.send_text(orjson.dumps({"error": message, "status": status}).decode())


routes: list[BaseRoute] = [
    Route("/api/v1/streaming/health", health, methods=["GET", "HEAD"]),
    WebSocketRoute("/api/v1/streaming", websocket),
    WebSocketRoute("/api/v1/streaming/", websocket),
    Route("/api/v1/streaming/{stream:path}", server_sent_events, methods=["GET"]),
]
