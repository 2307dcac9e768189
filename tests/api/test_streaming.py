"""The streaming API over real sockets: WebSocket and server-sent events.

The app runs in uvicorn inside the test's event loop (so the test can reach the
hub) and clients connect over loopback: raw WebSocket clients from the
``websockets`` package, and httpx for server-sent events. Each test checks what
arrives where, and that nothing arrives where it must not: every "nothing
arrived" is checked by a later event that the same stream does receive first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from fediverse_cop import streaming
from fediverse_cop.app import create_app
from fediverse_cop.models import Account, Status, acct_key
from fediverse_cop.services import oauth, timelines
from fediverse_cop.services.communities import create_community
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.visibility import PUBLIC
from fediverse_cop.settings import Settings
from fediverse_cop.streaming import audience
from fediverse_cop.streaming.events import Event, Kind
from fediverse_cop.streaming.hub import CLOSE_OVERFLOW, CLOSE_REVOKED, Hub, Subscriber
from tests.api.conftest import Api, User

TIMEOUT = 10.0


@dataclass
class Live:
    api: Api
    hub: Hub
    base: str

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/api/v1/streaming"

    def ws(self, query: str = "", **kwargs: Any) -> Any:
        return connect(self.ws_url + query, open_timeout=TIMEOUT, **kwargs)

    async def post(self, user: User, text: str, **extra: Any) -> dict[str, Any]:
        response = await self.api.post("/api/v1/statuses", as_=user, json={"status": text, **extra})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def follow(self, user: User, target: User) -> None:
        response = await self.api.post(f"/api/v1/accounts/{target.id}/follow", as_=user)
        assert response.status_code == 200, response.text
        assert response.json()["following"] is True


@pytest.fixture
async def live(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Live]:
    """The app served by uvicorn on a loopback port, in this test's event loop."""
    app = create_app(dataclasses.replace(settings, in_process_workers=False))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", ws="auto"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + TIMEOUT
    while not server.started:
        assert not task.done(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    hub: Hub = app.state.streaming
    hub.configure(heartbeat=0.3, token_recheck=0.2)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
            yield Live(Api(app.state.ctx, client, app.state.fed), hub, base)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=TIMEOUT)


async def frame(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return data


async def subscribed(ws: ClientConnection, live: Live, count: int = 1) -> None:
    """Wait until the hub has ``count`` subscriptions in all (subscribing is asynchronous)."""
    deadline = time.monotonic() + TIMEOUT
    while sum(len(sub.streams) for sub in live.hub.subscribers) < count:
        assert time.monotonic() < deadline, "the subscription was not made"
        await asyncio.sleep(0.01)


async def _wait_for_subscriptions(live: Live, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while sum(len(sub.streams) for sub in live.hub.subscribers) < count:
        assert time.monotonic() < deadline, "the subscriptions were not made"
        await asyncio.sleep(0.01)


def payload(message: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(message["payload"])
    return data


# -- health, refusals, the three ways of passing the token ---------------------------------


async def test_health_and_refusals(live: Live) -> None:
    health = await live.api.client.get("/api/v1/streaming/health")
    assert (health.status_code, health.text) == (200, "OK")
    alice = await live.api.user("alice")
    unknown = await live.api.get("/api/v1/streaming/nowhere", as_=alice)
    assert unknown.status_code == 400
    assert unknown.json() == {"error": "Unknown channel requested"}
    no_tag = await live.api.get("/api/v1/streaming/hashtag", as_=alice)
    assert no_tag.status_code == 400
    # Every stream needs a user token, public ones included (as on Mastodon since 4.2).
    anonymous = await live.api.get("/api/v1/streaming/public")
    assert anonymous.status_code == 401
    wrong = await live.api.get("/api/v1/streaming/public", token="not-a-token")
    assert wrong.status_code == 401
    app_token = await live.api.token(None, "read")
    assert (await live.api.get("/api/v1/streaming/public", token=app_token)).status_code == 401
    writer = await live.api.user("writer", scopes="write")
    assert (await live.api.get("/api/v1/streaming/user", as_=writer)).status_code == 401

    for query in ("", "?access_token=wrong", f"?access_token={writer.token}"):
        with pytest.raises(InvalidStatus) as refused:
            async with live.ws(query):
                pass
        assert refused.value.response.status_code == 401


async def test_each_way_of_passing_the_token_streams(live: Live) -> None:
    alice = await live.api.user("alice")
    ways = [
        live.ws("?stream=user", additional_headers={"Authorization": f"Bearer {alice.token}"}),
        live.ws("?stream=user", subprotocols=[Subprotocol(alice.token)]),
        live.ws(f"?stream=user&access_token={alice.token}"),
    ]
    async with ways[0] as by_header, ways[1] as by_protocol, ways[2] as by_query:
        # The token sent as the subprotocol is echoed back, as browsers require.
        assert by_protocol.subprotocol == alice.token
        await subscribed(by_header, live, 3)
        posted = await live.post(alice, "hello streams")
        for ws in (by_header, by_protocol, by_query):
            message = await frame(ws)
            assert message["stream"] == ["user"]
            assert message["event"] == "update"
            assert isinstance(message["payload"], str)
            assert payload(message)["id"] == posted["id"]
            assert payload(message)["content"] == posted["content"]


# -- subscribe and unsubscribe -------------------------------------------------------------


async def test_subscribe_and_unsubscribe_frames(live: Live) -> None:
    alice = await live.api.user("alice")
    async with live.ws(f"?access_token={alice.token}") as ws:
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "nonsense"}).decode())
        assert await frame(ws) == {"error": "Unknown stream type", "status": 400}
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "public:local"}).decode())
        await ws.send(
            orjson.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Chem"}).decode()
        )
        await subscribed(ws, live, 2)
        first = await live.post(alice, "plain post")
        message = await frame(ws)
        assert (message["stream"], payload(message)["id"]) == (["public:local"], first["id"])

        tagged = await live.post(alice, "about #chem")
        got = {tuple(m["stream"]): payload(m)["id"] for m in [await frame(ws), await frame(ws)]}
        assert got == {("public:local",): tagged["id"], ("hashtag", "chem"): tagged["id"]}

        await ws.send(orjson.dumps({"type": "unsubscribe", "stream": "public:local"}).decode())
        deadline = time.monotonic() + TIMEOUT
        while sum(len(s.streams) for s in live.hub.subscribers) != 1:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        await live.post(alice, "no tag, not streamed any more")
        again = await live.post(alice, "more #chem")
        message = await frame(ws)
        assert (message["stream"], payload(message)["id"]) == (["hashtag", "chem"], again["id"])


async def test_scopes_decide_the_streams(live: Live) -> None:
    reader = await live.api.user("reader", scopes="read:notifications")
    async with live.ws(f"?access_token={reader.token}&stream=user:notification") as ws:
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "public"}).decode())
        message = await frame(ws)
        assert message == {"error": "Access token does not have the required scopes", "status": 401}


# -- who receives what ---------------------------------------------------------------------


async def test_events_reach_the_right_streams_and_no_others(live: Live) -> None:
    alice = await live.api.user("alice")
    bob = await live.api.user("bob")  # follows alice
    carol = await live.api.user("carol")  # a stranger
    await live.follow(bob, alice)

    async with (
        live.ws(f"?access_token={bob.token}&stream=user") as bob_user,
        live.ws(f"?access_token={carol.token}&stream=user") as carol_user,
        live.ws(f"?access_token={carol.token}&stream=public") as carol_public,
        live.ws(f"?access_token={carol.token}&stream=direct") as carol_direct,
        live.ws(f"?access_token={alice.token}&stream=user:notification") as alice_notes,
    ):
        await subscribed(bob_user, live, 5)
        private = await live.post(alice, "followers only", visibility="private")
        message = await frame(bob_user)
        assert (message["event"], payload(message)["id"]) == ("update", private["id"])
        assert payload(message)["visibility"] == "private"
        assert payload(message)["favourited"] is False

        public = await live.post(alice, "for everyone")
        # The stranger's public stream gets the public post first: the private one never came.
        message = await frame(carol_public)
        assert (message["stream"], payload(message)["id"]) == (["public"], public["id"])
        assert payload(await frame(bob_user))["id"] == public["id"]

        # Bob favourites it: alice is notified; bob's next rendering says he favourited it.
        favourite = await live.api.post(f"/api/v1/statuses/{public['id']}/favourite", as_=bob)
        assert favourite.status_code == 200
        note = await frame(alice_notes)
        assert (note["stream"], note["event"]) == (["user:notification"], "notification")
        assert payload(note)["type"] == "favourite"
        assert payload(note)["account"]["id"] == bob.id
        assert payload(note)["status"]["id"] == public["id"]

        edited = await live.api.put(
            f"/api/v1/statuses/{public['id']}", as_=alice, json={"status": "for everyone, edited"}
        )
        assert edited.status_code == 200
        renderings = [payload(await frame(ws)) for ws in (bob_user, carol_public)]
        for rendering in renderings:
            assert rendering["content"] == edited.json()["content"]
            assert rendering["edited_at"] is not None
        assert [r["favourited"] for r in renderings] == [True, False]

        deleted = await live.api.delete(f"/api/v1/statuses/{private['id']}", as_=alice)
        assert deleted.status_code == 200
        message = await frame(bob_user)
        assert message == {"stream": ["user"], "event": "delete", "payload": private["id"]}

        # A direct message to carol: a notification and a conversation for her, nothing
        # for bob, whose next event is alice's next public post.
        direct = await live.post(alice, "@carol just for you", visibility="direct")
        conversation = await frame(carol_direct)
        assert conversation["event"] == "conversation"
        assert payload(conversation)["last_status"]["id"] == direct["id"]
        assert [a["id"] for a in payload(conversation)["accounts"]] == [alice.id]
        message = await frame(carol_user)
        assert (message["event"], payload(message)["status"]["id"]) == (
            "notification",
            direct["id"],
        )
        message = await frame(carol_user)
        assert (message["event"], payload(message)["id"]) == ("update", direct["id"])

        last = await live.post(alice, "the last one")
        message = await frame(bob_user)
        assert (message["event"], payload(message)["id"]) == ("update", last["id"])
        message = await frame(carol_public)
        assert (message["event"], payload(message)["id"]) == ("update", last["id"])


async def test_favourited_rendering_is_per_viewer(live: Live) -> None:
    alice = await live.api.user("alice")
    bob = await live.api.user("bob")
    carol = await live.api.user("carol")
    posted = await live.post(alice, "rendered per viewer")
    assert (
        await live.api.post(f"/api/v1/statuses/{posted['id']}/favourite", as_=bob)
    ).status_code == 200
    async with (
        live.ws(f"?access_token={bob.token}&stream=public") as bob_public,
        live.ws(f"?access_token={carol.token}&stream=public") as carol_public,
    ):
        await subscribed(bob_public, live, 2)
        edited = await live.api.put(
            f"/api/v1/statuses/{posted['id']}", as_=alice, json={"status": "edited"}
        )
        assert edited.status_code == 200
        assert payload(await frame(bob_public))["favourited"] is True
        assert payload(await frame(carol_public))["favourited"] is False


async def test_public_streams_leave_out_what_the_public_timelines_leave_out(live: Live) -> None:
    """Authors the viewer blocks or mutes, and accounts of domains the viewer blocks, are
    left out of the viewer's public and hashtag streams as from their public timelines;
    another viewer gets their posts."""
    alice = await live.api.user("alice")
    carol = await live.api.user("carol")  # blocks, mutes and domain-blocks nobody
    mallory = await live.api.user("mallory")  # blocked by alice
    bore = await live.api.user("bore")  # muted by alice
    spammer = await Account.create(
        username="spammer",
        domain="spam.example",
        acct_key=acct_key("spammer", "spam.example"),
        uri="https://spam.example/u/spammer",
        inbox_uri="https://spam.example/u/spammer/inbox",
        followers_uri="https://spam.example/u/spammer/followers",
    )
    for path, body in (
        (f"/api/v1/accounts/{mallory.id}/block", None),
        (f"/api/v1/accounts/{bore.id}/mute", None),
        ("/api/v1/domain_blocks", {"domain": "spam.example"}),
    ):
        assert (await live.api.post(path, as_=alice, data=body)).status_code == 200
    async with (
        live.ws(f"?access_token={alice.token}&stream=public") as alice_public,
        live.ws(f"?access_token={alice.token}&stream=hashtag&tag=chem") as alice_tag,
        live.ws(f"?access_token={carol.token}&stream=public") as carol_public,
    ):
        await subscribed(alice_public, live, 3)
        unwanted = [
            (await live.post(mallory, "#chem you blocked me"))["id"],
            (await live.post(bore, "#chem you muted me"))["id"],
        ]
        # A remote post as the inbox stores it, announced as the inbox does.
        remote = await Status.create(
            uri=f"{spammer.uri}/notes/1",
            account=spammer,
            content="<p>from a blocked domain</p>",
            to=[PUBLIC],
            published_at=utcnow(),
        )
        await streaming.publish_status(remote.id)
        unwanted.append(str(remote.id))
        mine = (await live.post(alice, "#chem mine"))["id"]
        # Alice's first frames are her own post: the others never came.
        assert payload(await frame(alice_public))["id"] == mine
        message = await frame(alice_tag)
        assert (message["stream"], payload(message)["id"]) == (["hashtag", "chem"], mine)
        assert [payload(await frame(carol_public))["id"] for _ in range(4)] == [*unwanted, mine]
    # The REST public timelines leave out the same posts.
    for user, expected in ((alice, [mine]), (carol, [mine, *reversed(unwanted)])):
        response = await live.api.get("/api/v1/timelines/public", as_=user)
        assert [s["id"] for s in response.json()] == expected


async def test_announcements_reach_every_user_stream(live: Live) -> None:
    alice = await live.api.user("alice")
    async with live.ws(f"?access_token={alice.token}&stream=user") as ws:
        await subscribed(ws, live, 1)
        live.hub.receive(Event(Kind.ANNOUNCEMENT, payload={"id": "7", "content": "<p>hi</p>"}))
        message = await frame(ws)
        assert (message["event"], payload(message)["id"]) == ("announcement", "7")


# -- lists ------------------------------------------------------------------------------------


async def test_list_streams_carry_the_lists_posts_to_their_owner_only(live: Live) -> None:
    alice = await live.api.user("alice")
    bob = await live.api.user("bob")  # in alice's list, and a member of her community
    carol = await live.api.user("carol")  # followed by alice, not in the list
    mallory = await live.api.user("mallory")
    for target in (bob, carol):
        await live.follow(alice, target)
    created = await live.api.post("/api/v1/lists", as_=alice, json={"title": "Lab"})
    list_id = created.json()["id"]
    added = await live.api.post(
        f"/api/v1/lists/{list_id}/accounts", as_=alice, json={"account_ids": [bob.id]}
    )
    assert added.status_code == 200, added.text
    community = await create_community(live.api.ctx, "biology", name="Biology", owner="alice")
    group_id = str(community.account_id)  # type: ignore[attr-defined]
    assert (await live.api.post(f"/api/v1/accounts/{group_id}/follow", as_=bob)).json()["following"]

    # Another user's list, or a community not joined, is refused on both transports.
    refused = {"error": "Not authorized to stream this list", "status": 401}
    async with live.ws(f"?access_token={mallory.token}") as intruder:
        for other in (list_id, group_id):
            await intruder.send(
                orjson.dumps({"type": "subscribe", "stream": "list", "list": other}).decode()
            )
            assert await frame(intruder) == refused
    for other in (list_id, group_id):
        response = await live.api.get(f"/api/v1/streaming/list?list={other}", as_=mallory)
        assert response.status_code == 401
    assert not any(sub.streams for sub in live.hub.subscribers)

    headers = {"Authorization": f"Bearer {alice.token}"}
    async with (
        live.ws(f"?access_token={alice.token}&stream=list&list={list_id}") as own_list,
        live.api.client.stream(
            "GET", f"/api/v1/streaming/list?list={group_id}", headers=headers
        ) as community_list,
    ):
        assert community_list.status_code == 200
        sse = community_list.aiter_lines()
        await _wait_for_subscriptions(live, 2)
        await live.post(carol, "not in any list")
        in_list = await live.post(bob, "in the list")
        message = await frame(own_list)
        assert (message["stream"], message["event"]) == (["list", list_id], "update")
        assert payload(message)["id"] == in_list["id"]
        # Posted in the community: in its list, and in alice's list as bob's post.
        in_group = await live.post(bob, "in biology", community_id=group_id)
        assert payload(await frame(own_list))["id"] == in_group["id"]
        lines = await _sse_lines(sse, "data: ")
        assert "event: update" in lines
        assert orjson.loads(lines[-1].removeprefix("data: "))["id"] == in_group["id"]


# -- filters ----------------------------------------------------------------------------------


def _filtered(message: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(r["filter"]["title"], r["keyword_matches"]) for r in payload(message)["filtered"]]


async def test_filters_hide_posts_from_streams_of_their_contexts_and_report_matches(
    live: Live,
) -> None:
    alice = await live.api.user("alice")
    bob = await live.api.user("bob")  # followed by alice, in her list
    carol = await live.api.user("carol")  # no filters
    await live.follow(alice, bob)
    list_id = (await live.api.post("/api/v1/lists", as_=alice, json={"title": "L"})).json()["id"]
    await live.api.post(
        f"/api/v1/lists/{list_id}/accounts", as_=alice, json={"account_ids": [bob.id]}
    )
    for title, context, action, keyword in (
        ("Spoilers", ["home"], "hide", "spoiler"),
        ("Secrets", ["public"], "hide", "secret"),
        ("Exams", ["home", "public"], "warn", "exam"),
        ("Pings", ["notifications"], "hide", "pinged"),
    ):
        response = await live.api.post(
            "/api/v2/filters",
            as_=alice,
            json={
                "title": title,
                "context": context,
                "filter_action": action,
                "keywords_attributes": [{"keyword": keyword}],
            },
        )
        assert response.status_code == 200, response.text

    async with (
        live.ws(f"?access_token={alice.token}&stream=user") as home,
        live.ws(f"?access_token={alice.token}&stream=list&list={list_id}") as in_list,
        live.ws(f"?access_token={alice.token}&stream=public") as public,
        live.ws(f"?access_token={alice.token}&stream=user:notification") as notes,
        live.ws(f"?access_token={carol.token}&stream=public") as carol_public,
    ):
        await subscribed(home, live, 5)
        spoiler = await live.post(bob, "a spoiler here")
        secret = await live.post(bob, "the secret")
        exam = await live.post(bob, "exam tomorrow")
        # "home" hides from the home and list streams, "public" from public ones; a
        # filter that matches is reported (in any context, as the timelines do).
        for ws in (home, in_list):
            first, second = await frame(ws), await frame(ws)
            assert payload(first)["id"] == secret["id"]
            assert _filtered(first) == [("Secrets", ["secret"])]
            assert (payload(second)["id"], _filtered(second)) == (exam["id"], [("Exams", ["exam"])])
        first, second = await frame(public), await frame(public)
        assert (payload(first)["id"], _filtered(first)) == (
            spoiler["id"],
            [("Spoilers", ["spoiler"])],
        )
        assert (payload(second)["id"], _filtered(second)) == (exam["id"], [("Exams", ["exam"])])
        # Another viewer of the same posts sees none of alice's filters.
        for expected in (spoiler, secret, exam):
            message = await frame(carol_public)
            assert (payload(message)["id"], payload(message)["filtered"]) == (expected["id"], [])

        # "notifications" hides the notification, not the post in the home stream.
        pinged = await live.post(bob, "@alice pinged")
        hello = await live.post(bob, "@alice hello")
        message = await frame(notes)
        assert (message["event"], payload(message)["status"]["id"]) == ("notification", hello["id"])
        seen: list[tuple[str, str]] = []
        while len(seen) < 3:
            message = await frame(home)
            data = payload(message)
            seen.append(
                (message["event"], data["status"]["id"] if "status" in data else data["id"])
            )
        assert sorted(seen) == sorted(
            [("update", pinged["id"]), ("update", hello["id"]), ("notification", hello["id"])]
        )


async def test_every_change_to_filters_sends_filters_changed_once(live: Live) -> None:
    alice = await live.api.user("alice")
    bob = await live.api.user("bob")
    noted = await live.post(bob, "a post to filter")
    async with (
        live.ws(f"?access_token={alice.token}&stream=user") as alice_user,
        live.ws(f"?access_token={bob.token}&stream=user") as bob_user,
    ):
        await subscribed(alice_user, live, 2)
        api = live.api
        v2 = (
            await api.post(
                "/api/v2/filters",
                as_=alice,
                json={
                    "title": "Noise",
                    "context": ["home"],
                    "keywords_attributes": [{"keyword": "a"}],
                },
            )
        ).json()
        changes = [
            await api.put(f"/api/v2/filters/{v2['id']}", as_=alice, json={"title": "Quiet"}),
            await api.post(
                f"/api/v2/filters/{v2['id']}/keywords", as_=alice, json={"keyword": "b"}
            ),
        ]
        keyword_id = changes[-1].json()["id"]
        changes += [
            await api.put(
                f"/api/v2/filters/keywords/{keyword_id}", as_=alice, json={"keyword": "c"}
            ),
            await api.delete(f"/api/v2/filters/keywords/{keyword_id}", as_=alice),
            await api.post(
                f"/api/v2/filters/{v2['id']}/statuses", as_=alice, json={"status_id": noted["id"]}
            ),
        ]
        entry_id = changes[-1].json()["id"]
        changes += [
            await api.delete(f"/api/v2/filters/statuses/{entry_id}", as_=alice),
            await api.delete(f"/api/v2/filters/{v2['id']}", as_=alice),
            await api.post("/api/v1/filters", as_=alice, json={"phrase": "x", "context": ["home"]}),
        ]
        v1_id = changes[-1].json()["id"]
        changes += [
            # Changes the filter and its keyword: still one event.
            await api.put(
                f"/api/v1/filters/{v1_id}", as_=alice, json={"phrase": "y", "irreversible": True}
            ),
            await api.delete(f"/api/v1/filters/{v1_id}", as_=alice),
        ]
        assert [r.status_code for r in changes] == [200] * len(changes)
        # A refused change sends nothing.
        bad = await api.post("/api/v2/filters", as_=alice, json={"title": "t", "context": ["x"]})
        assert bad.status_code == 422

        done = await live.post(alice, "done")
        received: list[dict[str, Any]] = []
        while not received or received[-1]["event"] != "update":
            received.append(await frame(alice_user))
        assert received[:-1] == [{"stream": ["user"], "event": "filters_changed"}] * (
            len(changes) + 1
        )
        assert payload(received[-1])["id"] == done["id"]
        # Nothing for another user's streams: bob's first frame is his own next post.
        mine = await live.post(bob, "mine")
        assert payload(await frame(bob_user))["id"] == mine["id"]


# -- server-sent events ---------------------------------------------------------------------


async def _sse_lines(stream: AsyncIterator[str], until: str) -> list[str]:
    """Lines of an event stream up to the first that starts with ``until``."""
    lines: list[str] = []
    async with asyncio.timeout(TIMEOUT):
        async for line in stream:
            lines.append(line)
            if line.startswith(until):
                return lines
    raise AssertionError(f"the stream ended before {until!r}: {lines}")


async def test_server_sent_events_and_heartbeats(live: Live) -> None:
    alice = await live.api.user("alice")
    headers = {"Authorization": f"Bearer {alice.token}"}
    client = live.api.client
    async with (
        client.stream("GET", "/api/v1/streaming/user", headers=headers) as user,
        client.stream("GET", "/api/v1/streaming/hashtag/local?tag=bio", headers=headers) as tag,
        client.stream("GET", f"/api/v1/streaming/public/local?access_token={alice.token}") as pub,
    ):
        for response in (user, tag, pub):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
        streams = [response.aiter_lines() for response in (user, tag, pub)]
        # A heartbeat comes every 0.3 s here (15 s by default).
        assert ":thump" in await _sse_lines(streams[0], ":thump")
        await _wait_for_subscriptions(live, 3)
        posted = await live.post(alice, "about #bio")
        for stream in streams:
            lines = await _sse_lines(stream, "data: ")
            assert "event: update" in lines
            data = orjson.loads(lines[-1].removeprefix("data: "))
            assert data["id"] == posted["id"]


async def test_server_sent_notifications_stream(live: Live) -> None:
    alice = await live.api.user("alice")
    bob = await live.api.user("bob")
    headers = {"Authorization": f"Bearer {alice.token}"}
    async with live.api.client.stream(
        "GET", "/api/v1/streaming/user/notification", headers=headers
    ) as response:
        assert response.status_code == 200
        stream = response.aiter_lines()
        await _sse_lines(stream, ":)")
        await _wait_for_subscriptions(live, 1)
        await live.post(bob, "@alice hello")
        lines = await _sse_lines(stream, "data: ")
        assert "event: notification" in lines
        assert orjson.loads(lines[-1].removeprefix("data: "))["type"] == "mention"


# -- slow clients and revoked tokens --------------------------------------------------------


def _slow_client(port: int, token: str, transport: str) -> socket.socket:
    """A client of the ``user`` stream (``websocket`` or ``sse``) that reads the response's
    head and then nothing more."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    if transport == "websocket":
        request = (
            f"GET /api/v1/streaming?stream=user&access_token={token} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        expected = b"HTTP/1.1 101"
    else:
        request = (
            f"GET /api/v1/streaming/user?access_token={token} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n\r\n"
        )
        expected = b"HTTP/1.1 200"
    sock.sendall(request.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(expected), answer
    return sock


async def test_slow_clients_are_dropped_without_delaying_others(live: Live) -> None:
    """A WebSocket client and an SSE client that stop reading fill their queues and are
    closed, while a WebSocket client and an SSE client that read get every frame."""
    alice = await live.api.user("alice")
    live.hub.configure(queue_size=16)
    port = int(live.base.rsplit(":", 1)[1])
    slow = {
        transport: await asyncio.to_thread(_slow_client, port, alice.token, transport)
        for transport in ("websocket", "sse")
    }
    try:
        await _wait_for_subscriptions(live, 2)
        slow_subs = {sub.transport: sub for sub in live.hub.subscribers}
        assert slow_subs.keys() == {"websocket", "sse"}
        async with (
            live.ws(f"?access_token={alice.token}&stream=user", max_size=None) as fast,
            live.api.client.stream(
                "GET", f"/api/v1/streaming/user?access_token={alice.token}"
            ) as fast_sse,
        ):
            await _wait_for_subscriptions(live, 4)
            count, big = 300, "x" * 64_000

            async def read_websocket() -> list[str]:
                return [payload(await frame(fast))["id"] for _ in range(count)]

            async def read_sse() -> list[str]:
                ids: list[str] = []
                async for line in fast_sse.aiter_lines():
                    if line.startswith("data: "):
                        ids.append(orjson.loads(line.removeprefix("data: "))["id"])
                        if len(ids) == count:
                            break
                return ids

            readers = [asyncio.create_task(read_websocket()), asyncio.create_task(read_sse())]
            started = time.monotonic()
            for index in range(count):
                live.hub.receive(
                    Event(Kind.ANNOUNCEMENT, payload={"id": str(index), "content": big})
                )
                await asyncio.sleep(0.002)
            # About 19 MB reach each fast client while the slow ones read nothing.
            expected = [str(i) for i in range(count)]
            assert await asyncio.wait_for(asyncio.gather(*readers), TIMEOUT) == [expected] * 2
            assert time.monotonic() - started < 8
            for sub in slow_subs.values():
                assert sub.close_code == CLOSE_OVERFLOW
            await _wait_for_subscriptions_to_end(live, set(slow_subs.values()))
    finally:
        for sock in slow.values():
            sock.close()


async def _wait_for_subscriptions_to_end(live: Live, subs: set[Subscriber]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while subs & live.hub.subscribers:
        assert time.monotonic() < deadline, "a slow client was not dropped"
        await asyncio.sleep(0.02)


async def test_revoking_a_token_closes_its_streams(live: Live) -> None:
    alice = await live.api.user("alice")
    async with live.ws(f"?access_token={alice.token}&stream=user") as ws:
        await subscribed(ws, live, 1)
        token = await oauth.find_token(alice.token)
        assert token is not None
        started = time.monotonic()
        await oauth.revoke_token(token)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_REVOKED
        assert time.monotonic() - started < 3
    sse_user = await live.api.user("bob")
    async with live.api.client.stream(
        "GET", f"/api/v1/streaming/user?access_token={sse_user.token}"
    ) as response:
        stream = response.aiter_lines()
        await _sse_lines(stream, ":)")
        token = await oauth.find_token(sse_user.token)
        assert token is not None
        await oauth.revoke_token(token)
        async with asyncio.timeout(TIMEOUT):
            async for _ in stream:
                pass  # heartbeats until the server ends the response


# -- one statement for many viewers ---------------------------------------------------------


async def test_the_batched_audience_matches_the_timeline_viewer_by_viewer(api: Api) -> None:
    alice = await api.user("alice")
    bob = await api.user("bob")  # follows alice
    carol = await api.user("carol")  # a stranger
    dave = await api.user("dave")  # mentioned
    eve = await api.user("eve")  # follows alice, blocks her
    for follower in (bob, eve):
        assert (
            await api.post(f"/api/v1/accounts/{alice.id}/follow", as_=follower)
        ).status_code == 200
    assert (await api.post(f"/api/v1/accounts/{alice.id}/block", as_=eve)).status_code == 200
    viewers = [u.account.id for u in (alice, bob, carol, dave, eve)]
    posted = []
    for visibility in ("public", "unlisted", "private", "direct"):
        response = await api.post(
            "/api/v1/statuses",
            as_=alice,
            json={"status": f"@dave {visibility}", "visibility": visibility},
        )
        posted.append(int(response.json()["id"]))
    boost = await api.post(f"/api/v1/statuses/{posted[0]}/reblog", as_=bob)
    posted.append(int(boost.json()["id"]))

    def by_uri(viewer: Account) -> QuerySet[Status]:
        # Depends on more than the viewer's id: the batched form must not be used.
        return timelines.home(viewer).filter(Q(account__uri=viewer.uri) | Q(id__gt=0))

    for status_id in posted:
        for timeline in (timelines.home, timelines.visible):
            assert audience._batched(timeline, status_id, viewers) is not None
            expected = await audience._one_by_one(timeline, status_id, viewers)
            assert await audience.who_sees(timeline, status_id, viewers) == expected
        assert audience._batched(by_uri, status_id, viewers) is None
        assert await audience.who_sees(by_uri, status_id, viewers) == await audience._one_by_one(
            by_uri, status_id, viewers
        )
    home = await audience.who_sees(timelines.home, posted[2], viewers)
    assert home == {alice.account.id, bob.account.id, dave.account.id}
    direct = await audience.who_sees(timelines.visible, posted[3], viewers)
    assert direct == {alice.account.id, dave.account.id}
