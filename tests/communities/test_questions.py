"""Questions to trainers: the accepted answer chosen, undone, sent as PieFed's ChooseAnswer,
and received from PieFed, from a remote group, and refused from anyone else."""

from __future__ import annotations

from typing import Any

import pytest

from fediverse_cop.models import (
    Account,
    Community,
    CommunityRoleKind,
    FanoutJob,
    Follow,
    FollowState,
    InboxState,
    Status,
)
from fediverse_cop.services import communities, follows, questions, statuses
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.statuses import Draft
from outbox.fanout import followers_of_kind
from tests.communities.test_groups import (
    fixture,
    groups_account,
    jobs,
    join,
    local_user,
    make_community,
    serve_nodeinfo,
)
from tests.inbox.conftest import AS2, Local, Peer
from tests.inbox.test_statuses import PUBLIC, deliver, note, refused
from tests.sink import Sink


@pytest.fixture
def masto(sink: Sink) -> Peer:
    peer = Peer(sink, "masto.sink.test", "mastodon")
    serve_nodeinfo(peer, "mastodon")
    return peer


@pytest.fixture
def lemmy(sink: Sink) -> Peer:
    peer = Peer(sink, "lemmy.sink.test", "picard")
    serve_nodeinfo(peer, "lemmy")
    return peer


@pytest.fixture
def piefed(sink: Sink) -> Peer:
    peer = Peer(sink, "piefed.sink.test", "asker")
    serve_nodeinfo(peer, "piefed")
    return peer


async def reply_from(local: Local, peer: Peer, parent: str, n: int) -> Status:
    reply = note(peer, n, inReplyTo=parent)
    item = await deliver(local, peer, peer.activity("Create", reply))
    assert item.state is InboxState.DONE, item.error
    return await Status.get(uri=reply["id"])


async def local_question(local: Local, physics: Community, name: str = "bob") -> Status:
    asker = await local_user(local, name)
    await follows.follow(local.fed, asker, physics.account)
    return await statuses.post(
        local.fed,
        asker,
        Draft("How do I balance this equation? #question", community=physics.account),
    )


async def all_jobs() -> list[tuple[str, Any]]:
    return [(j.activity["type"], j.id) for j in await FanoutJob.all().order_by("id")]


# -- chosen here ------------------------------------------------------------------------------


async def test_the_asker_chooses_an_answer_announced_per_kind_of_server(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    question = await local_question(local, physics)
    answer = await reply_from(local, lemmy, question.uri, 1)
    assert answer.audience == physics.account.uri
    asker = await Account.get(id=question.account_id)  # type: ignore[attr-defined]
    assert [q.id for q in await questions.open_questions(physics.account)] == [question.id]
    before = await FanoutJob.filter(sender=physics.account).count()

    await questions.choose_answer(local.fed, asker, question, answer)

    assert (await Status.get(id=question.id)).accepted_answer_id == answer.id  # type: ignore[attr-defined]
    assert await questions.open_questions(physics.account) == []
    group = physics.account
    new = (await FanoutJob.filter(sender=group).order_by("id"))[before:]
    announced, boost = new
    choice = announced.activity["object"]
    assert choice["type"] == "ChooseAnswer"
    assert (choice["actor"], choice["object"], choice["audience"]) == (
        asker.uri,
        answer.uri,
        group.uri,
    )
    assert announced.recipients == [followers_of_kind(group.followers_uri or "", "group-aware")]
    # Microblog servers understand no ChooseAnswer: the group boosts the answer.
    assert boost.activity["type"] == "Announce"
    assert boost.activity["object"] == answer.uri
    assert boost.recipients == [followers_of_kind(group.followers_uri or "", "microblog")]
    assert await Status.exists(account=group, reblog_of=answer)


async def test_a_trainer_may_choose_but_another_member_may_not(
    local: Local, alice: Account, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, lemmy, physics)
    question = await local_question(local, physics)
    answer = await reply_from(local, lemmy, question.uri, 1)
    carol = await local_user(local, "carol")
    await follows.follow(local.fed, carol, physics.account)
    before = await all_jobs()

    with pytest.raises(Invalid, match="only the asker or a trainer"):
        await questions.choose_answer(local.fed, carol, question, answer)
    assert (await Status.get(id=question.id)).accepted_answer_id is None  # type: ignore[attr-defined]
    assert await all_jobs() == before

    await communities.add_role("physics", "carol", CommunityRoleKind.TRAINER)
    await questions.choose_answer(local.fed, carol, question, answer)
    assert (await Status.get(id=question.id)).accepted_answer_id == answer.id  # type: ignore[attr-defined]


async def test_only_a_reply_in_the_thread_is_an_answer(
    local: Local, alice: Account, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, lemmy, physics)
    question = await local_question(local, physics)
    other = await statuses.post(local.fed, alice, Draft("unrelated"))
    asker = await Account.get(id=question.account_id)  # type: ignore[attr-defined]
    with pytest.raises(Invalid, match="reply in the question's thread"):
        await questions.choose_answer(local.fed, asker, question, other)
    assert (await Status.get(id=question.id)).accepted_answer_id is None  # type: ignore[attr-defined]


async def test_undoing_the_choice_is_announced_and_the_boost_withdrawn(
    local: Local, alice: Account, masto: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    await join(local, masto, physics)
    await join(local, lemmy, physics)
    question = await local_question(local, physics)
    answer = await reply_from(local, lemmy, question.uri, 1)
    asker = await Account.get(id=question.account_id)  # type: ignore[attr-defined]
    await questions.choose_answer(local.fed, asker, question, answer)

    await questions.undo_answer(local.fed, asker, question)

    assert (await Status.get(id=question.id)).accepted_answer_id is None  # type: ignore[attr-defined]
    group = physics.account
    announced = [j.activity["object"] for j in await jobs(group, "Announce")]
    undo = announced[-1]
    assert (undo["type"], undo["object"]["type"], undo["object"]["object"]) == (
        "Undo",
        "ChooseAnswer",
        answer.uri,
    )
    (withdrawn,) = await jobs(group, "Undo")
    assert withdrawn.activity["object"]["object"] == answer.uri
    assert not await Status.exists(account=group, reblog_of=answer)
    with pytest.raises(Exception, match="no accepted answer"):
        await questions.undo_answer(local.fed, asker, question)


# -- received ---------------------------------------------------------------------------------


async def piefed_thread(
    local: Local, physics: Community, piefed: Peer, lemmy: Peer
) -> tuple[Status, Status, dict[str, Any]]:
    """A PieFed member's question in our community, a Lemmy member's reply, and the
    PieFed ChooseAnswer of that reply."""
    await join(local, piefed, physics)
    await join(local, lemmy, physics)
    asked = note(piefed, 1, cc=[physics.account.uri], audience=physics.account.uri)
    item = await deliver(local, piefed, piefed.activity("Create", asked))
    assert item.state is InboxState.DONE, item.error
    question = await Status.get(uri=asked["id"])
    answer = await reply_from(local, lemmy, question.uri, 2)
    choice = fixture(
        "piefed_choose_answer.json",
        {
            "https://piefed.example/u/asker": piefed.uri,
            "https://piefed.example": piefed.base,
            "https://lemmy.example/comment/42": answer.uri,
            "https://cop.example/c/physics": physics.account.uri,
        },
    )
    return question, answer, choice


async def test_a_piefed_choose_answer_from_the_asker_is_honoured(
    local: Local, alice: Account, piefed: Peer, lemmy: Peer
) -> None:
    physics = await make_community(local)
    question, answer, choice = await piefed_thread(local, physics, piefed, lemmy)

    item = await deliver(local, piefed, choice)

    assert (item.state, item.handled_as) == (InboxState.DONE, "ChooseAnswer/Object"), item.error
    assert (await Status.get(id=question.id)).accepted_answer_id == answer.id  # type: ignore[attr-defined]
    (announced,) = [
        j
        for j in await jobs(physics.account, "Announce")
        if isinstance(j.activity["object"], dict) and j.activity["object"]["type"] == "ChooseAnswer"
    ]
    assert announced.activity["object"] == choice

    undo = piefed.activity("Undo", {k: v for k, v in choice.items() if k != "@context"})
    item = await deliver(local, piefed, undo)
    assert item.state is InboxState.DONE, item.error
    assert (await Status.get(id=question.id)).accepted_answer_id is None  # type: ignore[attr-defined]


async def test_a_choose_answer_from_a_stranger_is_refused_with_no_side_effects(
    local: Local, alice: Account, piefed: Peer, lemmy: Peer, masto: Peer
) -> None:
    physics = await make_community(local)
    question, answer, choice = await piefed_thread(local, physics, piefed, lemmy)
    await join(local, masto, physics)
    before = await all_jobs()

    forged = masto.activity("ChooseAnswer", answer.uri, audience=physics.account.uri, to=[PUBLIC])
    item = await deliver(local, masto, forged)

    assert refused(item, "neither the asker nor a trainer")
    assert (await Status.get(id=question.id)).accepted_answer_id is None  # type: ignore[attr-defined]
    assert await all_jobs() == before

    # Nor can a stranger undo the asker's choice.
    await deliver(local, piefed, choice)
    chosen = await all_jobs()
    undo = masto.activity("Undo", {**forged, "object": answer.uri})
    item = await deliver(local, masto, undo)
    assert refused(item, "neither the asker nor a trainer")
    assert (await Status.get(id=question.id)).accepted_answer_id == answer.id  # type: ignore[attr-defined]
    assert await all_jobs() == chosen


# -- remote communities -----------------------------------------------------------------------


async def remote_thread(
    local: Local, alice: Account, sink: Sink
) -> tuple[Peer, Peer, Peer, Status, Status]:
    group = Peer(sink, "forum.sink.test", "forum", extra={"type": "Group"})
    group.extra["attributedTo"] = f"{group.uri}/moderators"
    group.publish()
    asker = Peer(sink, "forum.sink.test", "asker")
    helper = Peer(sink, "helper.sink.test", "helper")
    sink.serve(
        group.host,
        "/users/forum/moderators",
        {"id": f"{group.uri}/moderators", "type": "OrderedCollection", "orderedItems": []},
        content_type=AS2,
    )
    account = await groups_account(local, group)
    await Follow.create(account=alice, target=account, state=FollowState.ACCEPTED, uri="urn:x:1")
    asked = note(asker, 1, cc=[group.uri], audience=group.uri)
    create = {"id": f"{asker.uri}/c/1", "type": "Create", "actor": asker.uri, "object": asked}
    item = await deliver(local, group, group.activity("Announce", create))
    assert item.state is InboxState.DONE, item.error
    question = await Status.get(uri=asked["id"])
    answer = await reply_from(local, helper, question.uri, 2)
    return group, asker, helper, question, answer


async def test_a_remote_group_announcing_the_askers_choice_is_honoured(
    local: Local, alice: Account, sink: Sink
) -> None:
    group, asker, helper, question, answer = await remote_thread(local, alice, sink)
    choice = {
        "id": f"{asker.uri}/choices/1",
        "type": "ChooseAnswer",
        "actor": asker.uri,
        "object": answer.uri,
        "audience": group.uri,
    }

    # Straight from the asker, not through the group: not for a remote community.
    direct = await deliver(local, asker, {**choice, "id": f"{asker.uri}/choices/0"})
    assert refused(direct, "counts only when the group announces it")
    # Announced by the group but chosen by someone who neither asked nor moderates.
    stranger = await deliver(
        local,
        group,
        group.activity("Announce", {**choice, "id": f"{helper.uri}/c/9", "actor": helper.uri}),
    )
    assert refused(stranger, "neither the asker nor a moderator")
    assert (await Status.get(id=question.id)).accepted_answer_id is None  # type: ignore[attr-defined]

    item = await deliver(local, group, group.activity("Announce", choice))
    assert (item.state, item.handled_as) == (InboxState.DONE, "Announce/ChooseAnswer"), item.error
    assert (await Status.get(id=question.id)).accepted_answer_id == answer.id  # type: ignore[attr-defined]
    assert await FanoutJob.all().count() == 0  # nothing of a remote group's is sent again


async def test_a_local_asker_in_a_remote_community_sends_the_choice_to_the_group(
    local: Local, alice: Account, sink: Sink
) -> None:
    group = Peer(sink, "forum.sink.test", "forum", extra={"type": "Group"})
    helper = Peer(sink, "helper.sink.test", "helper")
    account = await groups_account(local, group)
    await Follow.create(account=alice, target=account, state=FollowState.ACCEPTED, uri="urn:x:1")
    question = await statuses.post(local.fed, alice, Draft("Which book?", community=account))
    answer = await reply_from(local, helper, question.uri, 1)
    answer.audience = group.uri
    await answer.save(update_fields=["audience"])

    await questions.choose_answer(local.fed, alice, question, answer)

    (sent,) = await jobs(alice, "ChooseAnswer")
    assert sent.recipients == [group.uri]
    assert (sent.activity["object"], sent.activity["audience"]) == (answer.uri, group.uri)
    await questions.undo_answer(local.fed, alice, question)
    (undone,) = await jobs(alice, "Undo")
    assert undone.recipients == [group.uri]
    assert undone.activity["object"]["type"] == "ChooseAnswer"
