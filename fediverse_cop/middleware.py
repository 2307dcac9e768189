"""Pure ASGI middleware: request ids and the request body limit."""

from __future__ import annotations

import logging
import secrets
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fediverse_cop.logs import request_id

log = logging.getLogger("fediverse_cop.http")


class RequestIdMiddleware:
    """Give every request an id (or keep a sane ``X-Request-Id``), log it, and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 8 <= len(incoming) <= 64 and incoming.isalnum() else secrets.token_hex(8)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id.reset(token)


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_body`` bytes with 413, before the app reads them.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body is
    counted as it arrives and the request is cut off when it passes the limit.
    Uploads (paths starting with one of ``upload_paths``) get ``max_upload`` instead.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        upload_paths: tuple[str, ...] = (),
        max_upload: int = 0,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.upload_paths = upload_paths
        self.max_upload = max(max_upload, max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.max_upload if path.startswith(self.upload_paths) else self.max_body
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _send_error(send, 400, "invalid Content-Length")
                return
            if declared > limit:
                await _send_error(send, 413, "request body too large")
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await _send_error(send, 413, "request body too large")


class BodyTooLarge(Exception):
    pass


async def _send_error(send: Send, status: int, message: str) -> None:
    body = orjson.dumps({"error": message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
