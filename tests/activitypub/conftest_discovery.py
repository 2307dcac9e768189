"""Fake peers for the discovery tests: one loopback server that answers by ``Host``.

Loaded as a plugin (``pytest_plugins``) by the WebFinger, NodeInfo and actor
tests, which must not import it (it would then escape assertion rewriting):
they reach its helpers through the ``peers`` fixture and import names for
type annotations only. Each test registers the documents its peers serve with :class:`Peers`
(``victim.example``, ``evil.example``, ``social.victim.example`` … all
resolve to 127.0.0.1 through an injected resolver) and gets a
:class:`SafeHttpClient` that allows loopback only.
"""

from __future__ import annotations

import json
import pathlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from activitypub.http import SafeHttpClient
from tests.activitypub.conftest import make_client, table_resolver

AS2 = "application/activity+json"
JRD = "application/jrd+json; charset=utf-8"
FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "discovery"
NAMES = {
    name: ["127.0.0.1"]
    for name in (
        "victim.example",
        "evil.example",
        "social.victim.example",
        "delegate.example",
        "gts.example",
        "lemmy.example",
        "mastodon.example",
        "misskey.example",
        "pleroma.example",
        "piefed.example",
        "friendica.example",
        "unknown.example",
    )
}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass(frozen=True)
class Reply:
    body: bytes
    status: int = 200
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Reply]


@dataclass
class Peers:
    """The routing table of the fake peers; reset for every test."""

    port: int
    routes: dict[tuple[str, str], Reply | Handler] = field(default_factory=dict)
    seen: list[tuple[str, str, str]] = field(default_factory=list)

    @staticmethod
    def reply(
        body: bytes,
        status: int = 200,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        return Reply(body, status, content_type, dict(headers or {}))

    @staticmethod
    def fixture(name: str) -> Any:
        """A JSON document of ``fixtures/discovery``."""
        return fixture(name)

    @staticmethod
    def fixture_bytes(name: str) -> bytes:
        return (FIXTURES / name).read_bytes()

    def base(self, host: str) -> str:
        return f"http://{host}:{self.port}"

    def netloc(self, host: str) -> str:
        return f"{host}:{self.port}"

    def url(self, host: str, path: str) -> str:
        return self.base(host) + path

    def serve(self, host: str, path: str, reply: Reply | Handler) -> None:
        self.routes[(host, path)] = reply

    def serve_json(
        self, host: str, path: str, document: Any, *, content_type: str = "application/json"
    ) -> None:
        self.serve(host, path, Reply(json.dumps(document).encode(), content_type=content_type))

    def serve_ap(self, host: str, path: str, document: Any) -> None:
        self.serve_json(host, path, document, content_type=AS2)

    def redirect(self, host: str, path: str, to: str, status: int = 302) -> None:
        self.serve(host, path, Reply(b"", status=status, headers={"location": to}))

    def webfinger(self, host: str, answers: Mapping[str, Any]) -> None:
        """Serve ``/.well-known/webfinger`` at ``host``: resource → JRD, others 404."""

        def handler(request: Request) -> Reply:
            resource = request.query_params.get("resource", "")
            if resource not in answers:
                return Reply(b'{"error": "not found"}', status=404)
            return Reply(json.dumps(answers[resource]).encode(), content_type=JRD)

        self.serve(host, "/.well-known/webfinger", handler)

    def hits(self, host: str, path: str | None = None) -> int:
        return sum(1 for h, p, _ in self.seen if h == host and (path is None or p == path))

    def rehost(self, document: Any, mapping: Mapping[str, str]) -> Any:
        """Replace ``https://name`` with the loopback base URL of ``host`` (in every string)."""
        text = json.dumps(document)
        for name, host in mapping.items():
            text = text.replace(f"https://{name}", self.base(host))
        return json.loads(text)


def _app(state: dict[str, Peers]) -> Callable[[Scope, Receive, Send], Any]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        peers = state["peers"]
        host = request.headers.get("host", "").rsplit(":", 1)[0]
        peers.seen.append((host, request.url.path, request.url.query))
        route = peers.routes.get((host, request.url.path))
        if route is None:
            reply = Reply(b"not found", status=404, content_type="text/plain")
        elif isinstance(route, Reply):
            reply = route
        else:
            reply = route(request)
        response = Response(
            reply.body,
            status_code=reply.status,
            media_type=reply.content_type,
            headers=dict(reply.headers),
        )
        await response(scope, receive, send)

    return app


@dataclass
class DiscoveryServer:
    port: int
    state: dict[str, Peers]


@pytest.fixture(scope="session")
def discovery_server() -> Iterator[DiscoveryServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    state = {"peers": Peers(port)}
    config = uvicorn.Config(
        _app(state),
        log_level="critical",
        access_log=False,
        lifespan="off",
        http="h11",
        loop="asyncio",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("discovery test server did not start")
        time.sleep(0.01)
    yield DiscoveryServer(port, state)
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def peers(discovery_server: DiscoveryServer) -> Peers:
    fresh = Peers(discovery_server.port)
    discovery_server.state["peers"] = fresh
    return fresh


@pytest.fixture
async def http() -> AsyncIterator[SafeHttpClient]:
    async with make_client(
        allowed_networks=["127.0.0.0/8"], resolver=table_resolver(NAMES)
    ) as client:
        yield client
