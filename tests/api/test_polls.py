"""Polls: reading and voting through the API, votes from and to other servers, results
federated as ``Update{Question}``, remote polls stored and updated, and the end of a poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from activitypub.http import SafeHttpClient
from fediverse_cop.app import create_app
from fediverse_cop.models import (
    Account,
    FanoutJob,
    InboxItem,
    InboxState,
    Notification,
    NotificationType,
    Poll,
    PollVote,
    Status,
    Visibility,
)
from fediverse_cop.services import polls, statuses
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft, PollDraft
from inbox.receive import InboxReceiver
from inbox.worker import InboxWorker
from tests.api.conftest import Api, User
from tests.inbox.conftest import Local, Peer
from tests.sink import Sink

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def poll_post(
    api: Api,
    user: User,
    options: tuple[str, ...] = ("tea", "coffee", "water"),
    *,
    multiple: bool = False,
    visibility: Visibility = Visibility.PUBLIC,
    hide_totals: bool = False,
) -> tuple[Status, Poll]:
    status = await statuses.post(
        api.fed,
        user.account,
        Draft(
            text="what do you drink?",
            visibility=visibility,
            poll=PollDraft(options, 3600, multiple=multiple, hide_totals=hide_totals),
        ),
    )
    return status, await Poll.get(status_id=status.id)


async def vote(api: Api, user: User, poll: Poll, choices: list[int]) -> httpx.Response:
    return await api.post(f"/api/v1/polls/{poll.id}/votes", as_=user, json={"choices": choices})


async def jobs(kind: str) -> list[FanoutJob]:
    return [j for j in await FanoutJob.all().order_by("id") if j.activity.get("type") == kind]


# -- reading ------------------------------------------------------------------------------------


async def test_a_poll_is_read_by_whoever_may_see_its_post(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    _, public = await poll_post(api, alice)
    anonymous = await api.get(f"/api/v1/polls/{public.id}")
    assert anonymous.status_code == 200
    body = anonymous.json()
    assert body["id"] == str(public.id)
    assert [o["title"] for o in body["options"]] == ["tea", "coffee", "water"]
    assert body["expired"] is False
    assert body["multiple"] is False
    assert "voted" not in body
    assert (await api.get(f"/api/v1/polls/{public.id}", as_=bob)).json()["voted"] is False

    _, private = await poll_post(api, alice, visibility=Visibility.PRIVATE)
    assert (await api.get(f"/api/v1/polls/{private.id}")).status_code == 404
    hidden = await api.get(f"/api/v1/polls/{private.id}", as_=bob)
    assert hidden.status_code == 404
    assert hidden.json() == {"error": "Record not found"}
    assert (await api.get(f"/api/v1/polls/{private.id}", as_=alice)).status_code == 200
    assert (await api.get("/api/v1/polls/12345")).status_code == 404
    assert (await api.get("/api/v1/polls/not-an-id")).status_code == 404
    bad = await api.get(f"/api/v1/polls/{public.id}", token="wrong")
    assert bad.status_code == 401


# -- voting ---------------------------------------------------------------------------------------


async def test_a_vote_is_counted_once_and_shown_as_own_votes(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    _, poll = await poll_post(api, alice)

    response = await vote(api, bob, poll, [1])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["voted"] is True
    assert body["own_votes"] == [1]
    assert [o["votes_count"] for o in body["options"]] == [0, 1, 0]
    assert body["votes_count"] == 1

    again = await vote(api, bob, poll, [2])
    assert again.status_code == 422
    assert again.json()["error"] == polls.ALREADY_VOTED

    # Form bodies work as well as JSON.
    form = await api.post(f"/api/v1/polls/{poll.id}/votes", as_=carol, data={"choices[]": "1"})
    assert form.status_code == 200
    seen = (await api.get(f"/api/v1/polls/{poll.id}", as_=alice)).json()
    assert [o["votes_count"] for o in seen["options"]] == [0, 2, 0]
    assert seen["voted"] is False
    stored = await Poll.get(id=poll.id)
    assert stored.voters_count == 2


async def test_single_and_multiple_choice(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    _, single = await poll_post(api, alice)
    two = await vote(api, bob, single, [0, 1])
    assert two.status_code == 422
    assert two.json()["error"] == polls.ONE_CHOICE

    _, multiple = await poll_post(api, alice, ("a", "b", "c"), multiple=True)
    response = await vote(api, bob, multiple, [0, 2, 2])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["own_votes"] == [0, 2]
    assert [o["votes_count"] for o in body["options"]] == [1, 0, 1]
    assert body["votes_count"] == 2
    assert body["voters_count"] == 1


async def test_bad_votes_are_refused(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    _, poll = await poll_post(api, alice)
    for choices in ([], [3], [-1]):
        response = await vote(api, bob, poll, choices)
        assert response.status_code == 422, (choices, response.text)
    words = await api.post(f"/api/v1/polls/{poll.id}/votes", as_=bob, json={"choices": ["first"]})
    assert words.status_code == 422
    own = await vote(api, alice, poll, [0])
    assert own.status_code == 422
    assert own.json()["error"] == polls.SELF_VOTE
    assert await PollVote.all().count() == 0


async def test_no_vote_after_the_end(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    _, poll = await poll_post(api, alice)
    await Poll.filter(id=poll.id).update(expires_at=utcnow() - timedelta(seconds=1))
    response = await vote(api, bob, poll, [0])
    assert response.status_code == 422
    assert response.json()["error"] == polls.EXPIRED
    assert (await api.get(f"/api/v1/polls/{poll.id}")).json()["expired"] is True


async def test_voting_needs_a_user_with_write_statuses_who_may_see_the_poll(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    _, poll = await poll_post(api, alice)
    path = f"/api/v1/polls/{poll.id}/votes"
    assert (await api.post(path, json={"choices": [0]})).status_code == 401
    reader = await api.token(bob.account, "read")
    assert (await api.post(path, token=reader, json={"choices": [0]})).status_code == 403
    app_only = await api.token(None, "write")
    assert (await api.post(path, token=app_only, json={"choices": [0]})).status_code == 401

    _, private = await poll_post(api, alice, visibility=Visibility.PRIVATE)
    hidden = await vote(api, bob, private, [0])
    assert hidden.status_code == 404
    assert await PollVote.all().count() == 0


async def test_concurrent_votes_are_all_counted(api: Api) -> None:
    alice = await api.user("alice")
    voters = [await api.user(f"voter{i}") for i in range(12)]
    _, poll = await poll_post(api, alice, ("a", "b", "c"), multiple=True)
    responses = await asyncio.gather(
        *(vote(api, v, poll, [0, 1 + i % 2]) for i, v in enumerate(voters))
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    stored = await Poll.get(id=poll.id)
    assert [o["votes_count"] for o in stored.options] == [12, 6, 6]
    assert stored.voters_count == 12


# -- results federate; the end of a poll ----------------------------------------------------------


async def test_results_federate_once_per_burst_of_votes(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    status, poll = await poll_post(api, alice)
    assert await polls.federate_results(api.fed) == 0  # no votes yet
    await vote(api, bob, poll, [0])
    await vote(api, carol, poll, [2])

    assert await polls.federate_results(api.fed) == 1
    [update] = await jobs("Update")
    question = update.activity["object"]
    assert question["type"] == "Question"
    assert question["id"] == status.uri
    assert [o["replies"]["totalItems"] for o in question["oneOf"]] == [1, 0, 1]
    assert question["votersCount"] == 2
    assert alice.account.followers_uri in update.recipients
    assert await polls.federate_results(api.fed) == 0  # nothing new since


async def test_the_end_of_a_poll_notifies_voters_and_the_author(api: Api) -> None:
    alice, bob, carol = await api.user("alice"), await api.user("bob"), await api.user("carol")
    status, poll = await poll_post(api, alice)
    await vote(api, bob, poll, [0])
    assert await polls.end_polls(api.fed) == 0  # still running

    await Poll.filter(id=poll.id).update(expires_at=utcnow())
    assert await polls.end_polls(api.fed) == 1
    for user in (alice, bob):
        found = await api.get("/api/v1/notifications", as_=user)
        [notification] = found.json()
        assert notification["type"] == "poll"
        assert notification["status"]["id"] == str(status.id)
        assert notification["status"]["poll"]["expired"] is True
    assert (await api.get("/api/v1/notifications", as_=carol)).json() == []
    [final] = await jobs("Update")
    assert final.activity["object"]["closed"]
    # Once only.
    assert await polls.end_polls(api.fed, utcnow() + timedelta(minutes=1)) == 0
    assert await Notification.filter(type=NotificationType.POLL).count() == 2


# -- federation -----------------------------------------------------------------------------------


@pytest.fixture
async def inbox(api: Api, sink_http: SafeHttpClient) -> AsyncIterator[Local]:
    fed = Federation(api.ctx, sink_http)
    app = create_app(api.ctx.settings)
    app.state.fed = fed
    app.state.inbox = InboxReceiver(fed)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cop.test") as client:
        yield Local(app, fed, client, InboxWorker(fed))


async def deliver(inbox: Local, peer: Peer, activity: dict[str, Any]) -> InboxItem:
    response = await inbox.post("/inbox", activity, peer=peer)
    assert response.status_code == 202, response.text
    await inbox.worker.run_once()
    return await InboxItem.get(activity_id=activity["id"])


def vote_note(peer: Peer, number: int, question: str, name: str, to: str) -> dict[str, Any]:
    return {
        "id": f"{peer.uri}#votes/{number}",
        "type": "Note",
        "name": name,
        "attributedTo": peer.uri,
        "to": to,
        "inReplyTo": question,
    }


async def test_votes_from_another_server_are_counted_not_stored(
    api: Api, inbox: Local, sink: Sink
) -> None:
    alice = await api.user("alice")
    peer = Peer(sink, "remote.sink.test", "carol")
    status, poll = await poll_post(api, alice, ("a", "b"), multiple=True)
    before = await Status.all().count()

    first = vote_note(peer, 1, status.uri, "b", alice.account.uri)
    item = await deliver(inbox, peer, peer.activity("Create", first, to=[alice.account.uri]))
    assert item.state is InboxState.DONE, item.error
    assert item.handled_as == "Create/Vote"
    stored = await Poll.get(id=poll.id)
    assert [o["votes_count"] for o in stored.options] == [0, 1]
    assert stored.voters_count == 1
    assert await Status.all().count() == before  # not a reply

    # The same vote again changes nothing; the same option by another activity is refused.
    again = await deliver(inbox, peer, peer.activity("Create", first, to=[alice.account.uri]))
    assert again.state is InboxState.DONE
    twice = vote_note(peer, 2, status.uri, "b", alice.account.uri)
    refused = await deliver(inbox, peer, peer.activity("Create", twice, to=[alice.account.uri]))
    assert refused.state is InboxState.FAILED
    assert "already voted" in refused.error
    # Another option of a multiple-choice poll counts; an unknown option does not.
    other = vote_note(peer, 3, status.uri, "a", alice.account.uri)
    assert (await deliver(inbox, peer, peer.activity("Create", other))).state is InboxState.DONE
    unknown = vote_note(peer, 4, status.uri, "z", alice.account.uri)
    bad = await deliver(inbox, peer, peer.activity("Create", unknown))
    assert bad.state is InboxState.FAILED
    stored = await Poll.get(id=poll.id)
    assert [o["votes_count"] for o in stored.options] == [1, 1]
    assert stored.voters_count == 1

    assert await polls.federate_results(api.fed) == 1
    [update] = await jobs("Update")
    assert peer.uri in update.recipients


async def test_remote_votes_need_a_running_poll_they_may_see(
    api: Api, inbox: Local, sink: Sink
) -> None:
    alice = await api.user("alice")
    peer = Peer(sink, "remote.sink.test", "carol")
    hidden, _hidden_poll = await poll_post(api, alice, visibility=Visibility.PRIVATE)
    note = vote_note(peer, 1, hidden.uri, "tea", alice.account.uri)
    refused = await deliver(inbox, peer, peer.activity("Create", note))
    assert refused.state is InboxState.FAILED
    assert "cannot see" in refused.error

    ended, ended_poll = await poll_post(api, alice)
    await Poll.filter(id=ended_poll.id).update(expires_at=utcnow() - timedelta(seconds=1))
    note = vote_note(peer, 2, ended.uri, "tea", alice.account.uri)
    late = await deliver(inbox, peer, peer.activity("Create", note))
    assert late.state is InboxState.FAILED
    assert "ended" in late.error
    assert await PollVote.all().count() == 0


def question(peer: Peer, counts: tuple[int, int], voters: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{peer.uri}/statuses/1",
        "type": "Question",
        "attributedTo": peer.uri,
        "content": "<p>cats or dogs?</p>",
        "published": "2024-03-05T10:00:00Z",
        "to": [PUBLIC],
        "cc": [f"{peer.uri}/followers"],
        "endTime": (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "votersCount": voters,
        "oneOf": [
            {
                "type": "Note",
                "name": "cats",
                "replies": {"type": "Collection", "totalItems": counts[0]},
            },
            {
                "type": "Note",
                "name": "dogs",
                "replies": {"type": "Collection", "totalItems": counts[1]},
            },
        ],
        **extra,
    }


async def test_a_remote_poll_is_stored_voted_on_and_updated(
    api: Api, inbox: Local, sink: Sink
) -> None:
    alice = await api.user("alice")
    peer = Peer(sink, "remote.sink.test", "carol")
    asked = question(peer, (3, 1), 4)
    item = await deliver(inbox, peer, peer.activity("Create", asked, to=[PUBLIC]))
    assert item.state is InboxState.DONE, item.error
    status = await Status.get(uri=asked["id"])
    shown = (await api.get(f"/api/v1/statuses/{status.id}", as_=alice)).json()
    poll_json = shown["poll"]
    assert [(o["title"], o["votes_count"]) for o in poll_json["options"]] == [
        ("cats", 3),
        ("dogs", 1),
    ]
    assert poll_json["multiple"] is False
    assert poll_json["expired"] is False

    # Alice votes: counted here at once, sent to the author as a Note named after the option.
    response = await api.post(
        f"/api/v1/polls/{poll_json['id']}/votes", as_=alice, json={"choices": [1]}
    )
    assert response.status_code == 200, response.text
    assert [o["votes_count"] for o in response.json()["options"]] == [3, 2]
    [create] = await jobs("Create")
    assert create.sender_id == alice.account.id  # type: ignore[attr-defined]
    assert create.recipients == [peer.uri]
    note = create.activity["object"]
    assert note["type"] == "Note"
    assert note["name"] == "dogs"
    assert note["inReplyTo"] == asked["id"]
    assert note["attributedTo"] == alice.account.uri
    assert note["to"] == [peer.uri]
    assert "content" not in note

    # Its server announces the new counts.
    updated = question(peer, (3, 5), 8)
    item = await deliver(inbox, peer, peer.activity("Update", updated, to=[PUBLIC]))
    assert item.state is InboxState.DONE, item.error
    seen = (await api.get(f"/api/v1/polls/{poll_json['id']}", as_=alice)).json()
    assert [o["votes_count"] for o in seen["options"]] == [3, 5]
    assert seen["own_votes"] == [1]
    assert (await Poll.get(id=int(poll_json["id"]))).voters_count == 8


async def test_a_reply_that_only_looks_like_a_vote_is_a_post(
    api: Api, inbox: Local, sink: Sink
) -> None:
    alice = await api.user("alice")
    peer = Peer(sink, "remote.sink.test", "carol")
    mine = await statuses.post(api.fed, alice.account, Draft(text="no poll here"))
    note = vote_note(peer, 1, mine.uri, "a title", PUBLIC)
    item = await deliver(inbox, peer, peer.activity("Create", note, to=[PUBLIC]))
    assert item.state is InboxState.DONE, item.error
    reply = await Status.get(uri=note["id"])
    assert reply.in_reply_to_id == mine.id  # type: ignore[attr-defined]


async def test_pleroma_answers_are_votes(api: Api, inbox: Local, sink: Sink) -> None:
    alice = await api.user("alice")
    peer = Peer(sink, "remote.sink.test", "carol")
    status, poll = await poll_post(api, alice)
    answer = {**vote_note(peer, 1, status.uri, "water", alice.account.uri), "type": "Answer"}
    item = await deliver(inbox, peer, peer.activity("Create", answer))
    assert item.state is InboxState.DONE, item.error
    stored = await Poll.get(id=poll.id)
    assert [o["votes_count"] for o in stored.options] == [0, 0, 1]
    voter = await Account.get(uri=peer.uri)
    assert await PollVote.filter(account_id=voter.id).count() == 1
