"""Direct conversations: grouped per set of participants, unread for recipients, read for
the author; listed by latest post, marked read, deleted; from local and remote posts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from activitypub.http import SafeHttpClient
from fediverse_cop.app import create_app
from fediverse_cop.models import Conversation, InboxItem, InboxState, Status, Visibility
from fediverse_cop.services import statuses
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft
from inbox.receive import InboxReceiver
from inbox.worker import InboxWorker
from tests.api.conftest import Api, User
from tests.inbox.conftest import Local, Peer
from tests.sink import Sink


async def direct(api: Api, user: User, text: str, **extra: Any) -> Status:
    return await statuses.post(
        api.fed, user.account, Draft(text=text, visibility=Visibility.DIRECT, **extra)
    )


async def listed(api: Api, user: User, query: str = "") -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/conversations{query}", as_=user)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def test_a_direct_post_starts_a_conversation_for_each_participant(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    first = await direct(api, alice, "@bob lunch?")

    [for_alice] = await listed(api, alice)
    assert for_alice["unread"] is False
    assert [a["id"] for a in for_alice["accounts"]] == [bob.id]
    assert for_alice["last_status"]["id"] == str(first.id)
    [for_bob] = await listed(api, bob)
    assert for_bob["unread"] is True
    assert [a["id"] for a in for_bob["accounts"]] == [alice.id]
    assert await listed(api, carol) == []

    # A reply goes into the same conversation and makes it unread for the other side.
    reply = await direct(api, bob, "@alice sure", in_reply_to=first)
    [for_alice] = await listed(api, alice)
    assert for_alice["unread"] is True
    assert for_alice["last_status"]["id"] == str(reply.id)
    [for_bob] = await listed(api, bob)
    assert for_bob["unread"] is False
    assert await Conversation.all().count() == 2


async def test_conversations_are_grouped_by_participants(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    await direct(api, alice, "@bob just you")
    group = await direct(api, alice, "@bob @carol both of you")
    await statuses.post(api.fed, alice.account, Draft(text="@bob public, not a conversation"))

    mine = await listed(api, alice)
    assert [sorted(a["id"] for a in c["accounts"]) for c in mine] == [
        sorted([bob.id, carol.id]),
        [bob.id],
    ]
    assert mine[0]["last_status"]["id"] == str(group.id)
    assert len(await listed(api, bob)) == 2
    [for_carol] = await listed(api, carol)
    assert sorted(a["id"] for a in for_carol["accounts"]) == sorted([alice.id, bob.id])


async def test_pages_follow_the_latest_post(api: Api) -> None:
    alice = await api.user("alice")
    others = [await api.user(f"friend{i}") for i in range(3)]
    posts = [await direct(api, alice, f"@{o.account.username} hi") for o in others]
    everything = await listed(api, alice)
    assert [c["last_status"]["id"] for c in everything] == [str(p.id) for p in reversed(posts)]

    first = await api.get("/api/v1/conversations?limit=2", as_=alice)
    assert [c["id"] for c in first.json()] == [c["id"] for c in everything[:2]]
    assert f'max_id={posts[1].id}>; rel="next"' in first.headers["link"]
    older = await listed(api, alice, f"?max_id={posts[1].id}")
    assert [c["id"] for c in older] == [everything[2]["id"]]
    newer = await listed(api, alice, f"?min_id={posts[0].id}&limit=1")
    assert [c["id"] for c in newer] == [everything[1]["id"]]

    # A new post moves its conversation to the top.
    again = await direct(api, alice, f"@{others[0].account.username} again")
    top = (await listed(api, alice))[0]
    assert top["id"] == everything[2]["id"]
    assert top["last_status"]["id"] == str(again.id)


async def test_read_and_delete(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await direct(api, alice, "@bob psst")
    [conversation] = await listed(api, bob)
    path = f"/api/v1/conversations/{conversation['id']}"

    # Only its owner sees it.
    assert (await api.post(f"{path}/read", as_=alice)).status_code == 404
    assert (await api.delete(path, as_=alice)).status_code == 404

    read = await api.post(f"{path}/read", as_=bob)
    assert read.status_code == 200
    assert read.json()["unread"] is False
    assert read.json()["id"] == conversation["id"]
    assert (await listed(api, bob))[0]["unread"] is False

    deleted = await api.delete(path, as_=bob)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert await listed(api, bob) == []
    assert len(await listed(api, alice)) == 1
    assert (await api.delete(path, as_=bob)).status_code == 404
    # The next direct post brings it back.
    await direct(api, alice, "@bob still there?")
    assert [c["unread"] for c in await listed(api, bob)] == [True]


async def test_a_deleted_last_post_is_not_shown(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    post = await direct(api, alice, "@bob oops")
    await statuses.delete(api.fed, alice.account, post)
    [conversation] = await listed(api, bob)
    assert conversation["last_status"] is None


async def test_authorization_and_bad_ids(api: Api) -> None:
    alice = await api.user("alice")
    assert (await api.get("/api/v1/conversations")).status_code == 401
    assert (await api.get("/api/v1/conversations", token="wrong")).status_code == 401
    writer = await api.token(alice.account, "write")
    assert (await api.get("/api/v1/conversations", token=writer)).status_code == 403
    reader = await api.token(alice.account, "read")
    assert (await api.delete("/api/v1/conversations/1", token=reader)).status_code == 403
    assert (await api.post("/api/v1/conversations/1/read", token=reader)).status_code == 403
    granular = await api.token(alice.account, "write:conversations")
    assert (await api.delete("/api/v1/conversations/1", token=granular)).status_code == 404
    assert (await api.post("/api/v1/conversations/abc/read", as_=alice)).status_code == 404


@pytest.fixture
async def inbox(api: Api, sink_http: SafeHttpClient) -> AsyncIterator[Local]:
    fed = Federation(api.ctx, sink_http)
    app = create_app(api.ctx.settings)
    app.state.fed = fed
    app.state.inbox = InboxReceiver(fed)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cop.test") as client:
        yield Local(app, fed, client, InboxWorker(fed))


async def test_a_direct_post_from_another_server(api: Api, inbox: Local, sink: Sink) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    peer = Peer(sink, "remote.sink.test", "carol")
    note = {
        "id": f"{peer.uri}/statuses/1",
        "type": "Note",
        "attributedTo": peer.uri,
        "content": "<p>@alice @bob a private word</p>",
        "published": "2024-03-05T10:00:00Z",
        "to": [alice.account.uri, bob.account.uri],
        "cc": [],
        "tag": [
            {"type": "Mention", "href": alice.account.uri, "name": "@alice"},
            {"type": "Mention", "href": bob.account.uri, "name": "@bob"},
        ],
    }
    activity = peer.activity("Create", note, to=note["to"])
    response = await inbox.post("/inbox", activity, peer=peer)
    assert response.status_code == 202
    await inbox.worker.run_once()
    item = await InboxItem.get(activity_id=activity["id"])
    assert item.state is InboxState.DONE, item.error

    status = await Status.get(uri=note["id"])
    for user, other in ((alice, bob), (bob, alice)):
        [conversation] = await listed(api, user)
        assert conversation["unread"] is True
        assert conversation["last_status"]["id"] == str(status.id)
        accts = sorted(a["acct"] for a in conversation["accounts"])
        assert accts == sorted([other.account.username, f"carol@{sink.domain('remote.sink.test')}"])
