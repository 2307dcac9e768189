"""Streaming against real ``fediverse-cop serve`` processes.

Mastodon.py follows the user stream as a bot would, over server-sent events and over
a WebSocket that carries several streams; on PostgreSQL, a status posted through one
web process reaches a WebSocket served by another process on the same database
(LISTEN/NOTIFY).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from mastodon import Mastodon, StreamListener
from websockets.sync.client import connect

from fediverse_cop import db
from fediverse_cop.services import accounts, oauth
from fediverse_cop.services import scopes as scope_rules
from fediverse_cop.services.context import ServerContext
from fediverse_cop.settings import load_settings
from tests.conftest import BACKEND, Cli
from tests.test_server import free_port, serving

pytestmark = pytest.mark.federation

TIMEOUT = 20.0


def make_users(env: dict[str, str], *names: str) -> dict[str, str]:
    """Local users with a read/write token each (as an app would get through OAuth)."""

    async def body() -> dict[str, str]:
        settings = load_settings(environ=env)
        async with db.database(settings):
            ctx = ServerContext(settings)
            app = await oauth.register_app(
                "streaming test", [oauth.OOB_REDIRECT], scope_rules.parse("read write")
            )
            tokens: dict[str, str] = {}
            for name in names:
                account = await accounts.create_user(
                    ctx, name, email=f"{name}@uni-a.edu", password="a long test password 1"
                )
                issued = await oauth.issue_token(app.app, account, scope_rules.parse("read write"))
                tokens[name] = issued.access_token
            return tokens

    return asyncio.run(body())


@pytest.fixture
def server_env(cop_env: dict[str, str]) -> dict[str, str]:
    """The test's environment, with the first server's address as the instance's domain
    (clients take the streaming URL from the instance, as Mastodon.py does)."""
    port = free_port()
    env = {**cop_env, "COP_DOMAIN": f"127.0.0.1:{port}", "COP_TEST_PORT": str(port)}
    Cli(env).ok("init")
    return env


@dataclass(frozen=True)
class Received:
    kind: str
    data: Any
    stream: tuple[str, ...] | None  # the WebSocket frame's ``stream`` (None over SSE)


class Collector(StreamListener):
    """Puts what Mastodon.py hands the listener on a queue the test reads."""

    def __init__(self) -> None:
        super().__init__()
        self.events: queue.Queue[Received] = queue.Queue()

    def _put(self, kind: str, data: Any, for_stream: list[str] | None = None) -> None:
        self.events.put(Received(kind, data, tuple(for_stream) if for_stream else None))

    def on_update(self, status: Any, for_stream: list[str] | None = None) -> None:
        self._put("update", status, for_stream)

    def on_notification(self, notification: Any, for_stream: list[str] | None = None) -> None:
        self._put("notification", notification, for_stream)

    def on_websocket_error(self, error: Exception, for_stream: list[str] | None = None) -> None:
        self._put("error", error, for_stream)

    def handle_heartbeat(self) -> None:
        self._put("heartbeat", None)

    def on_abort(self, err: Exception) -> None:
        self._put("abort", err)

    def next(self, *wanted: str) -> Received:
        while True:
            received = self.events.get(timeout=TIMEOUT)
            if received.kind == "abort":
                raise AssertionError(f"the stream failed: {received.data}")
            if received.kind in wanted:
                return received


def test_mastodon_py_follows_the_user_stream(server_env: dict[str, str]) -> None:
    """Over server-sent events, then over one WebSocket carrying two streams."""
    tokens = make_users(server_env, "alice", "bob")
    with serving(server_env, int(server_env["COP_TEST_PORT"])) as base:
        alice = Mastodon(access_token=tokens["alice"], api_base_url=base, version_check_mode="none")
        bob = Mastodon(access_token=tokens["bob"], api_base_url=base, version_check_mode="none")
        listener = Collector()
        handle = alice.stream_user(listener, run_async=True, reconnect_async=False)
        try:
            listener.next("heartbeat")  # the stream is open (the server's first comment)
            mine = alice.status_post("my own post")
            status = listener.next("update").data
            assert status["id"] == mine["id"]
            assert status["content"] == mine["content"]

            mention = bob.status_post("@alice are you there?")
            notification = listener.next("notification").data
            assert notification["type"] == "mention"
            assert notification["status"]["id"] == mention["id"]
            assert listener.next("update").data["id"] == mention["id"]
        finally:
            # Mastodon.py's SSE close() returns once its reader wakes (the next heartbeat,
            # 15 s away); stopping the server ends the connection sooner.
            threading.Thread(target=handle.close, daemon=True).start()

        # The WebSocket transport: the user and a hashtag stream on one connection, found
        # through the instance's streaming URL as Mastodon.py finds it.
        ws_listener = Collector()
        ws = alice.stream_open_websocket(ws_listener)  # type: ignore[no-untyped-call]
        try:
            alice.stream_user(ws_listener, websocket_handle=ws)
            alice.stream_hashtag("chem", ws_listener, websocket_handle=ws)
            # Subscriptions are handled in order and only a refused one is answered: the
            # error for an unknown stream means the two before it are in place.
            ws.subscribe("no-such-stream")
            error = ws_listener.next("error").data
            assert error.args[1:] == (400, "Unknown stream type")

            question = bob.status_post("@alice what does #chem cover?")
            got = {}
            for _ in range(3):
                received = ws_listener.next("update", "notification")
                got[(received.kind, received.stream)] = received.data
            assert got.keys() == {
                ("update", ("user",)),
                ("update", ("hashtag", "chem")),
                ("notification", ("user",)),
            }
            assert got["update", ("user",)]["id"] == question["id"]
            assert got["update", ("hashtag", "chem")]["id"] == question["id"]
            assert got["notification", ("user",)]["type"] == "mention"
            assert got["notification", ("user",)]["status"]["id"] == question["id"]
            assert ws.is_receiving()
        finally:
            started = time.monotonic()
            ws.close()
            ws.join(TIMEOUT)
        assert not ws.is_alive()
        assert time.monotonic() - started < 2  # closing waits for no heartbeat


@pytest.mark.skipif(
    BACKEND != "postgres",
    reason="events cross processes through PostgreSQL LISTEN/NOTIFY; SQLite serves one process",
)
def test_an_event_crosses_web_processes_on_postgresql(server_env: dict[str, str]) -> None:
    tokens = make_users(server_env, "alice")
    with ExitStack() as stack:
        first = stack.enter_context(serving(server_env, int(server_env["COP_TEST_PORT"])))
        second = stack.enter_context(serving(server_env, free_port()))
        ws_url = second.replace("http://", "ws://") + "/api/v1/streaming?stream=public"
        received: queue.Queue[dict[str, Any]] = queue.Queue()
        ready = threading.Event()

        def listen() -> None:
            headers = {"Authorization": f"Bearer {tokens['alice']}"}
            with connect(ws_url, additional_headers=headers, open_timeout=TIMEOUT) as ws:
                ready.set()
                received.put(orjson.loads(ws.recv(timeout=TIMEOUT)))

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        assert ready.wait(TIMEOUT)
        headers = {"Authorization": f"Bearer {tokens['alice']}"}
        # The subscription is made right after the handshake: post until it is seen.
        posted: list[str] = []
        message: dict[str, Any] | None = None
        for _ in range(20):
            response = httpx.post(
                first + "/api/v1/statuses",
                headers=headers,
                json={"status": f"from the first process {len(posted)}"},
                timeout=TIMEOUT,
            )
            assert response.status_code == 200, response.text
            posted.append(response.json()["id"])
            try:
                message = received.get(timeout=0.5)
                break
            except queue.Empty:
                continue
        assert message is not None, "no event reached the second process"
        assert message["stream"] == ["public"]
        assert message["event"] == "update"
        assert orjson.loads(message["payload"])["id"] in posted
        thread.join(TIMEOUT)
