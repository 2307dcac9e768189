"""A real HTTP server on loopback that plays remote inboxes for delivery tests.

One uvicorn server in a background thread answers every host name (tests make
``*.sink.test`` resolve to 127.0.0.1 through the outbound client's resolver). It
verifies each request's HTTP signature with ``activitypub.signatures`` against the
public keys a test registers, records what arrived, and answers with programmed
statuses, headers and delays (202 by default).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from activitypub.signatures import VerificationResult, verify_request


@dataclass(frozen=True)
class Reply:
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes = b""


@dataclass(frozen=True)
class Received:
    host: str
    path: str
    body: bytes
    signature: VerificationResult
    method: str = "POST"


class Sink:
    def __init__(self) -> None:
        self.port = 0
        self.keys: dict[str, str] = {}
        self.received: list[Received] = []
        self.clock: Callable[[], datetime] | None = None
        self.default_delay = 0.0
        # (host, path) -> (content type, body) served to GET requests.
        self.documents: dict[tuple[str, str], tuple[str, bytes]] = {}
        self._programs: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()

    # -- test API --------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.keys.clear()
            self.received.clear()
            self._programs.clear()
            self.documents.clear()
            self.clock = None
            self.default_delay = 0.0

    def program(self, host: str, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``host``+``path`` with ``replies``, then 202."""
        with self._lock:
            self._programs[(host, path)].extend(replies)

    def serve(self, url_host: str, path: str, document: object, content_type: str = "") -> None:
        """Answer GETs of ``path`` on ``url_host`` with ``document`` as JSON."""
        import orjson

        kind = content_type or "application/activity+json"
        with self._lock:
            self.documents[(url_host, path)] = (kind, orjson.dumps(document))

    def gets(self, host: str | None = None) -> list[Received]:
        return [r for r in self.hits(host) if r.method == "GET"]

    def posts(self, host: str | None = None) -> list[Received]:
        return [r for r in self.hits(host) if r.method == "POST"]

    def clear_program(self, host: str, path: str) -> None:
        with self._lock:
            self._programs.pop((host, path), None)

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def domain(self, host: str) -> str:
        return f"{host}:{self.port}"

    def hits(self, host: str | None = None, path: str | None = None) -> list[Received]:
        with self._lock:
            return [
                r
                for r in self.received
                if (host is None or r.host == host) and (path is None or r.path == path)
            ]

    # -- ASGI --------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/_ping":
            await Response(b"ok")(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        host = request.headers.get("host", "").split(":")[0]
        if request.method == "GET":
            with self._lock:
                document = self.documents.get((host, request.url.path))
                self.received.append(
                    Received(host, request.url.path, b"", VerificationResult(False), "GET")
                )
            if document is None:
                await Response(b"not found", status_code=404)(scope, receive, send)
            else:
                await Response(document[1], headers={"content-type": document[0]})(
                    scope, receive, send
                )
            return
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        now = self.clock() if self.clock else None
        result = verify_request(
            request.method,
            target,
            list(request.headers.items()),
            body,
            lambda key_id: self.keys.get(key_id),
            expected_host=request.headers.get("host", ""),
            now=now,
            scheme="http",
        )
        with self._lock:
            self.received.append(Received(host, request.url.path, body, result))
            queue = self._programs.get((host, request.url.path))
            reply = queue.popleft() if queue else Reply(delay=self.default_delay)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        status = reply.status if result.verified else 401
        await Response(reply.body, status_code=status, headers=reply.headers)(scope, receive, send)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_sink() -> Iterator[Sink]:
    sink = Sink()
    sink.port = _free_port()
    config = uvicorn.Config(
        sink, host="127.0.0.1", port=sink.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("sink server did not start")
        time.sleep(0.01)
    try:
        yield sink
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def sink_resolver(host: str, port: int) -> list[str]:
    """Resolve ``*.sink.test`` to loopback, refuse everything else."""
    if host.endswith(".sink.test"):
        return ["127.0.0.1"]
    raise OSError(f"unknown test host {host}")
