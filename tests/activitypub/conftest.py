"""A real HTTP server on loopback that plays the remote peers of the HTTP client tests.

One uvicorn server runs for the whole session in a background thread, listening
on 127.0.0.1 and 127.0.0.2 (two addresses, so a test can allow one and check
that the other is refused). Routes answer according to the ``Host`` header, so
``victim.example`` and ``evil.example`` (made to resolve to 127.0.0.1 by an
injected resolver) behave as two origins.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from activitypub.http import HttpLimits, SafeHttpClient
from activitypub.netguard import Resolver

AS2 = "application/activity+json"


@dataclass
class LiveServer:
    port: int
    port2: int
    hits: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        port = self.port2 if host == "127.0.0.2" else self.port
        return f"http://{host}:{port}{path}"

    def hit_count(self, path: str) -> int:
        return sum(1 for hit in self.hits if hit == path)


def _self_url(request: Request) -> str:
    query = request.url.query
    return f"http://{request.headers['host']}{request.url.path}" + (f"?{query}" if query else "")


def _gzip_bomb_parts() -> tuple[bytes, bytes]:
    """A gzip header+first block and a repeatable block, each inflating to 1 MiB of zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    return first, block


def build_app(server: LiveServer) -> ASGIApp:
    bomb_first, bomb_block = _gzip_bomb_parts()

    async def ap_object(request: Request) -> Response:
        doc = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": request.query_params.get("id", _self_url(request)),
            "type": "Note",
            "content": "hello",
        }
        headers = {"content-type": request.query_params.get("ct", AS2)}
        return JSONResponse(doc, headers=headers)

    async def echo(request: Request) -> Response:
        return JSONResponse(
            {
                "headers": dict(request.headers),
                "client_port": request.client.port if request.client else None,
            },
            media_type=AS2,
        )

    async def redirect(request: Request) -> Response:
        status = int(request.query_params.get("status", "302"))
        return RedirectResponse(request.query_params["to"], status_code=status)

    async def chain(request: Request) -> Response:
        n = int(request.path_params["n"])
        if n == 0:
            return await ap_object(request)
        return RedirectResponse(f"/chain/{n - 1}", status_code=302)

    async def loop(request: Request) -> Response:
        other = "b" if request.path_params["name"] == "a" else "a"
        return RedirectResponse(f"/loop/{other}", status_code=302)

    async def slow(request: Request) -> Response:
        async def trickle() -> AsyncIterator[bytes]:
            for _ in range(20):
                if await request.is_disconnected():
                    return
                yield b" "
                await asyncio.sleep(1.0)

        return StreamingResponse(trickle(), media_type=AS2)

    async def chunked_big(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(80):  # 80 x 64 KiB = 5 MiB, no Content-Length
                yield b"a" * 65536

        return StreamingResponse(chunks(), media_type=AS2)

    async def gzip_bomb(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield bomb_first
            for _ in range(16):  # 16 x 64 MiB = 1 GiB once inflated
                yield bomb_block * 64
                await asyncio.sleep(0)

        return StreamingResponse(chunks(), media_type=AS2, headers={"content-encoding": "gzip"})

    async def gzip_small(request: Request) -> Response:
        body = b'{"id": "%s", "type": "Note"}' % _self_url(request).encode()
        compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        data = compressor.compress(body) + compressor.flush()
        return Response(data, media_type=AS2, headers={"content-encoding": "gzip"})

    async def brotli(request: Request) -> Response:
        return Response(b"xx", media_type=AS2, headers={"content-encoding": "br"})

    async def deep(request: Request) -> Response:
        return Response(b"[" * 100_000 + b"]" * 100_000, media_type=AS2)

    async def array(request: Request) -> Response:
        return Response(b'["not", "an", "object"]', media_type=AS2)

    async def status(request: Request) -> Response:
        headers = {}
        if "retry_after" in request.query_params:
            headers["retry-after"] = request.query_params["retry_after"]
        return PlainTextResponse(
            "x" * 10_000, status_code=int(request.path_params["code"]), headers=headers
        )

    async def inbox(request: Request) -> Response:
        body = await request.body()
        server.requests.append({"headers": dict(request.headers), "body": body})
        return PlainTextResponse("accepted " + "y" * 10_000, status_code=202)

    async def cookie(request: Request) -> Response:
        response = JSONResponse({"id": _self_url(request)}, media_type=AS2)
        response.set_cookie("session", "secret")
        return response

    async def webfinger(request: Request) -> Response:
        return JSONResponse(
            {"subject": request.query_params.get("resource"), "links": []},
            media_type="application/jrd+json",
        )

    routes = [
        Route("/ap/{name}", ap_object),
        Route("/echo", echo),
        Route("/redirect", redirect, methods=["GET", "POST"]),
        Route("/chain/{n:int}", chain),
        Route("/loop/{name}", loop),
        Route("/slow", slow),
        Route("/chunked-big", chunked_big),
        Route("/gzip-bomb", gzip_bomb),
        Route("/gzip-small", gzip_small),
        Route("/brotli", brotli),
        Route("/deep", deep),
        Route("/array", array),
        Route("/status/{code:int}", status),
        Route("/inbox", inbox, methods=["POST"]),
        Route("/cookie", cookie),
        Route("/.well-known/webfinger", webfinger),
    ]
    app = Starlette(routes=routes)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            server.hits.append(scope["path"])
            if scope["path"] == "/big-declared":
                await _big_declared(receive, send)
                return
        await app(scope, receive, send)

    return asgi


async def _big_declared(receive: Receive, send: Send) -> None:
    """Announce 5 000 000 bytes, send 64 KiB, then stall: a client must refuse on the header."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", AS2.encode()), (b"content-length", b"5000000")],
        }
    )
    await send({"type": "http.response.body", "body": b"a" * 65536, "more_body": True})
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(3):
            while (await receive())["type"] != "http.disconnect":
                pass


def _bind(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    sockets = [_bind("127.0.0.1"), _bind("127.0.0.2")]
    server = LiveServer(port=sockets[0].getsockname()[1], port2=sockets[1].getsockname()[1])
    config = uvicorn.Config(
        build_app(server),
        log_level="critical",
        access_log=False,
        lifespan="off",
        http="h11",
        loop="asyncio",
        timeout_graceful_shutdown=1,
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test HTTP server did not start")
        time.sleep(0.01)
    yield server
    uv.should_exit = True
    thread.join(10)
    for sock in sockets:
        sock.close()


def table_resolver(table: Mapping[str, Sequence[str]]) -> Resolver:
    """A resolver answering from ``table``; unknown names fail like NXDOMAIN."""

    async def resolve(host: str, port: int) -> Sequence[str]:
        if host in table:
            return list(table[host])
        raise socket.gaierror(socket.EAI_NONAME, f"{host} not in test table")

    return resolve


TEST_NAMES = {
    "victim.example": ["127.0.0.1"],
    "evil.example": ["127.0.0.1"],
    "pinned.example": ["127.0.0.1"],
}

FAST_LIMITS = HttpLimits(connect_timeout=2, read_timeout=3, total_timeout=5)
# Loading the CA bundle takes ~0.1 s; the tests share one context (no TLS peer is used).
TEST_SSL = ssl.create_default_context()


def make_client(
    *,
    limits: HttpLimits = FAST_LIMITS,
    allowed_networks: Sequence[str] = (),
    resolver: Resolver | None = None,
) -> SafeHttpClient:
    return SafeHttpClient(
        user_agent="fediverse-cop-test/1.0",
        limits=limits,
        allowed_networks=tuple(allowed_networks),
        resolver=resolver if resolver is not None else table_resolver(TEST_NAMES),
        ssl_context=TEST_SSL,
    )


@pytest.fixture
async def safe_client() -> AsyncIterator[SafeHttpClient]:
    """Loopback (127.0.0.0/8) allowed, *.example names resolving to 127.0.0.1."""
    async with make_client(allowed_networks=["127.0.0.0/8"]) as http:
        yield http


@pytest.fixture
async def strict_client() -> AsyncIterator[SafeHttpClient]:
    """No exceptions to the address policy."""
    async with make_client() as http:
        yield http
