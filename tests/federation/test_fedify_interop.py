"""Interoperability with Fedify, an independent ActivityPub implementation (npm @fedify/fedify).

A real instance federates with the Fedify server of ``tests/interop/fedify_peer/peer.mjs``
(actor ``carol``): follows, Accept, posts both ways, with each side verifying the other's
HTTP signatures. ``npm ci`` installs the peer once per session when ``node_modules`` is
missing; without ``node``/``npm`` the test is skipped, except under ``CI=true``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fediverse_cop.models import Follow, FollowState, Status
from fediverse_cop.services import statuses
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft
from tests.conftest import IN_CI
from tests.federation.conftest import Instance, eventually, follow_is
from tests.federation.test_posts import local, status_arrived
from tests.test_server import free_port

PEER_DIR = Path(__file__).resolve().parents[1] / "interop" / "fedify_peer"
TIMEOUT = 30.0

pytestmark = pytest.mark.federation


@pytest.fixture(scope="session")
def fedify_node() -> str:
    """The ``node`` executable, with the peer's packages installed (``npm ci``)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "node and npm are needed to run the Fedify peer (tests/interop/fedify_peer)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    if not (PEER_DIR / "node_modules" / "@fedify" / "fedify").is_dir():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PEER_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci failed in {PEER_DIR}:\n{result.stdout}{result.stderr}")
    return node


@dataclass
class Peer:
    """The running Fedify server and its control endpoints."""

    base: str
    log: Path

    def actor(self, name: str) -> str:
        return f"{self.base}/users/{name}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def _post(self, path: str, params: dict[str, str], body: str = "") -> dict[str, Any]:
        response = httpx.post(self.base + path, params=params, content=body, timeout=TIMEOUT)
        assert response.status_code == 200, f"{path}: {response.text}\n{self.output()}"
        result: dict[str, Any] = response.json()
        return result

    def follow(self, handle: str) -> dict[str, Any]:
        return self._post("/_follow", {"handle": handle})

    def create(self, to: str, content: str) -> dict[str, Any]:
        return self._post("/_create", {"to": to}, content)

    def received(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(self.base + "/_received", timeout=TIMEOUT).json()
        return result

    def wait_for(self, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first activity the inbox listener got that ``matches`` (waiting 30 s at most)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            received = self.received()
            activities: list[dict[str, Any]] = received["activities"]
            found = [activity for activity in activities if matches(activity)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"not received by the Fedify peer: {received}")
            time.sleep(0.1)


@pytest.fixture
def fedify_peer(fedify_node: str, tmp_path: Path) -> Iterator[Callable[[Instance], Peer]]:
    """Start the Fedify peer, reaching ``instance`` over plain HTTP."""
    with ExitStack() as stack:

        def start(instance: Instance) -> Peer:
            port = free_port()
            log = tmp_path / "fedify-peer.log"
            out = stack.enter_context(log.open("w"))
            process = subprocess.Popen(
                [fedify_node, "peer.mjs", str(port)],
                cwd=PEER_DIR,
                env={**instance.env, "PEER_PLAIN_HTTP_HOSTS": instance.domain},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

            def stop() -> None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

            stack.callback(stop)
            peer = Peer(f"http://127.0.0.1:{port}", log)
            deadline = time.monotonic() + TIMEOUT
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"the Fedify peer exited: {peer.output()}")
                try:
                    httpx.get(peer.base + "/_received", timeout=1)
                    return peer
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

        yield start


def test_fedify_follows_receives_posts_and_posts(
    instances: Callable[[int], list[Instance]], fedify_peer: Callable[[Instance], Peer]
) -> None:
    (a,) = instances(1)
    a.cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    peer = fedify_peer(a)
    alice_uri, carol_uri = a.actor("alice"), peer.actor("carol")

    # 1. carol follows alice: WebFinger and a signed fetch, then a signed Follow; our Accept.
    followed = peer.follow(a.handle("alice"))
    assert followed["actor"] == alice_uri

    async def follower_on_a(fed: Federation) -> None:
        await eventually(follow_is(carol_uri, alice_uri, FollowState.ACCEPTED))
        row = await Follow.get(account__uri=carol_uri, target__uri=alice_uri)
        assert row.uri == followed["follow"]

    a.call(follower_on_a)
    accept = peer.wait_for(lambda activity: activity["type"] == "Accept")
    assert (accept["actor"], accept["object"]) == (alice_uri, followed["follow"])

    # 2. alice posts; Fedify verifies our signature and hands carol the Create{Note}.
    async def alice_posts(fed: Federation) -> str:
        status = await statuses.post(fed, await local("alice"), Draft("hello, Fedify"))
        return status.uri

    note_uri = a.call(alice_posts)
    create = peer.wait_for(
        lambda activity: activity["type"] == "Create" and activity["object"] == note_uri
    )
    assert create["actor"] == alice_uri
    assert create["json"]["object"]["content"] == "<p>hello, Fedify</p>"

    # 3. carol writes to alice; we verify Fedify's signature and store the post.
    sent = peer.create(alice_uri, "<p>hello from Fedify, alice</p>")

    async def stored_on_a(fed: Federation) -> None:
        await eventually(status_arrived(sent["note"]))
        status = await Status.get(uri=sent["note"]).select_related("account")
        assert status.account.uri == carol_uri
        assert "hello from Fedify, alice" in status.content

    a.call(stored_on_a)

    # 4. The signature schemes: Fedify 1.5 signs with draft-cavage only and verifies
    # draft-cavage only (RFC 9421 came with Fedify 1.6, which needs Node 22: it signs with
    # ArrayBuffer.prototype.transfer), so our first delivery, signed with RFC 9421, is
    # refused with 401, and its draft-cavage retry is accepted and remembered.
    received = peer.received()
    posts_to_a = [r for r in received["sent"] if r["method"] == "POST"]
    assert posts_to_a, received
    assert {(r["scheme"], r["status"]) for r in posts_to_a} == {("draft-cavage", 202)}
    assert any(r["scheme"] == "draft-cavage" for r in received["sent"] if r["method"] == "GET")
    assert received["inbox"][0] == {"path": "/inbox", "scheme": "rfc9421", "status": 401}
    assert {(r["scheme"], r["status"]) for r in received["inbox"][1:]} == {("draft-cavage", 202)}
