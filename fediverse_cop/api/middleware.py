"""CORS and rate limits for the client API and OAuth endpoints (pure ASGI).

Browser apps (Elk, Phanpy) call the API from other origins, so ``/api``,
``/oauth``, ``/.well-known`` and ``/nodeinfo`` answer CORS preflights and carry
``Access-Control-Allow-Origin: *``. Credentials are bearer tokens, never cookies,
so a wildcard origin exposes nothing.

Rate limits follow Mastodon's defaults: 300 requests per 5 minutes per token (or
per address without one), fewer for sign-in attempts. Counters live in the
process; each web process counts on its own, which bounds abuse without a
shared store.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORS_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/nodeinfo/")
LIMITED_PREFIXES = ("/api/", "/oauth/")
_ALLOW_HEADERS = b"Authorization, Content-Type, Idempotency-Key, Accept"
_EXPOSE_HEADERS = b"Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id"
_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    period: float


DEFAULT_LIMIT = Limit(300, 300.0)
# Sign-in forms and token requests: guessing passwords must be slow.
SIGN_IN_LIMIT = Limit(30, 300.0)
SIGN_IN_PATHS = ("/oauth/authorize", "/oauth/token")


class Window:
    """Fixed windows per key, with a bounded number of keys (oldest dropped first)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._counts: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def hit(self, key: str, limit: Limit, now: float) -> tuple[int, float]:
        """Count one request; return (requests left, when the window resets)."""
        start, count = self._counts.get(key, (now, 0))
        if now - start >= limit.period:
            start, count = now, 0
        count += 1
        self._counts[key] = (start, count)
        self._counts.move_to_end(key)
        while len(self._counts) > self.max_keys:
            self._counts.popitem(last=False)
        return limit.requests - count, start + limit.period


class ApiMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        window: Window | None = None,
        requests_per_window: int = DEFAULT_LIMIT.requests,
    ) -> None:
        self.app = app
        self.window = window or Window()
        # 0: no limit on ordinary API requests (sign-in stays limited).
        self.limit = (
            Limit(requests_per_window, DEFAULT_LIMIT.period) if requests_per_window else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        cors = path.startswith(CORS_PREFIXES)
        if cors and scope["method"] == "OPTIONS":
            await _preflight(send)
            return
        extra: list[tuple[bytes, bytes]] = []
        if cors:
            extra += [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-expose-headers", _EXPOSE_HEADERS),
            ]
        sign_in = scope["method"] == "POST" and path.rstrip("/") in SIGN_IN_PATHS
        limit = SIGN_IN_LIMIT if sign_in else self.limit
        if limit is not None and path.startswith(LIMITED_PREFIXES):
            key = ("sign-in:" if sign_in else "") + _client_key(scope)
            remaining, reset = self.window.hit(key, limit, time.time())
            extra += [
                (b"x-ratelimit-limit", str(limit.requests).encode()),
                (b"x-ratelimit-remaining", str(max(remaining, 0)).encode()),
                (b"x-ratelimit-reset", _http_time(reset)),
            ]
            if remaining < 0:
                await _too_many(send, extra, reset)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                # Routes that set their own CORS headers (WebFinger, NodeInfo) keep them.
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _client_key(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return "token:" + hashlib.sha256(value[7:].strip()).hexdigest()
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


def _http_time(moment: float) -> bytes:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(moment)).encode()


async def _preflight(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", _METHODS),
                (b"access-control-allow-headers", _ALLOW_HEADERS),
                (b"access-control-max-age", b"86400"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _too_many(send: Send, headers: list[tuple[bytes, bytes]], reset: float) -> None:
    body = orjson.dumps({"error": "Too many requests"})
    retry_after = str(max(1, int(reset - time.time()))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", retry_after),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
