"""POST /inbox: what is accepted, what is refused, and that a refusal leaves nothing behind."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from tortoise.expressions import Q

from fediverse_cop.models import (
    Account,
    AccountBlock,
    DomainBlockSeverity,
    FanoutJob,
    Follow,
    FollowState,
    InboxItem,
    InboxState,
    Report,
)
from fediverse_cop.models.claims import claim
from fediverse_cop.services import domains, follows, statuses
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.remote import fetch_actor
from fediverse_cop.services.statuses import Draft
from inbox.authenticate import REFETCH_AFTER
from inbox.worker import InboxStats
from tests.conftest import Clock
from tests.inbox.conftest import Local, Peer
from tests.sink import Sink


async def nothing_stored() -> bool:
    return (
        await InboxItem.all().count() == 0
        and await Follow.all().count() == 0
        and await FanoutJob.all().count() == 0
    )


async def test_a_signed_follow_is_stored_then_accepted(
    local: Local, peer: Peer, alice: Account, sink: Sink
) -> None:
    follow = peer.activity("Follow", alice.uri)
    response = await local.post("/users/alice/inbox", follow, peer=peer)
    assert response.status_code == 202
    item = await InboxItem.get()
    assert (item.activity_id, item.state) == (follow["id"], InboxState.PENDING)
    assert await Follow.all().count() == 0  # nothing is processed in the request

    stats = await local.worker.run_once()
    assert stats.processed == 1
    row = await Follow.get().select_related("account", "target")
    assert (row.account.uri, row.target.uri, row.state) == (
        peer.uri,
        alice.uri,
        FollowState.ACCEPTED,
    )
    assert row.account.username == "bob"
    assert row.account.domain == f"remote.sink.test:{sink.port}"
    job = await FanoutJob.get()
    assert job.activity["type"] == "Accept"
    assert job.activity["object"]["id"] == follow["id"]
    assert job.recipients == [peer.uri]
    assert (await InboxItem.get()).state is InboxState.DONE


async def test_a_locked_account_gets_a_follow_request(
    local: Local, peer: Peer, alice: Account
) -> None:
    alice.manually_approves_followers = True
    await alice.save()
    assert (
        await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)
    ).status_code == 202
    await local.worker.run_once()
    assert (await Follow.get()).state is FollowState.PENDING
    assert await FanoutJob.all().count() == 0


async def test_a_replayed_activity_is_a_no_op(local: Local, peer: Peer, alice: Account) -> None:
    follow = peer.activity("Follow", alice.uri)
    for _ in range(3):
        assert (await local.post("/inbox", follow, peer=peer)).status_code == 202
    await local.worker.run_once()
    assert await InboxItem.all().count() == 1
    assert await Follow.all().count() == 1
    assert await FanoutJob.all().count() == 1


async def test_undo_follow_by_the_follower_removes_it(
    local: Local, peer: Peer, alice: Account
) -> None:
    follow = peer.activity("Follow", alice.uri)
    await local.post("/inbox", follow, peer=peer)
    await local.post("/inbox", peer.activity("Undo", follow), peer=peer)
    await local.worker.run_once()
    assert await Follow.all().count() == 0


async def test_unknown_activities_are_recorded_as_unhandled(local: Local, peer: Peer) -> None:
    await local.post(
        "/inbox", peer.activity("Wave", {"type": "Gesture", "id": peer.uri + "/g/1"}), peer=peer
    )
    stats = await local.worker.run_once()
    assert dict(stats.unhandled) == {"Wave/Gesture": 1}
    item = await InboxItem.get()
    assert (item.state, item.handled_as) == (InboxState.UNHANDLED, "Wave/Gesture")


async def test_a_rotated_key_is_refetched_once(
    local: Local, peer: Peer, alice: Account, sink: Sink
) -> None:
    await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)
    # The key rotates after the refetch window (inbox.authenticate.REFETCH_AFTER) has passed.
    await Account.filter(uri=peer.uri).update(
        last_fetched_at=utcnow() - REFETCH_AFTER - timedelta(seconds=1)
    )
    old_private = peer.rotate_key()
    fresh = await local.post("/inbox", peer.activity("Like", alice.uri), peer=peer)
    assert fresh.status_code == 202
    fetches = len(sink.gets(peer.host))
    stale = await local.post(
        "/inbox", peer.activity("Like", alice.uri), peer=peer, private_pem=old_private
    )
    assert stale.status_code == 401
    assert len(sink.gets(peer.host)) == fetches  # just refetched: not again
    assert await InboxItem.all().count() == 2


# -- refusals: each leaves no row, no job, no dedupe key -------------------------------------


async def test_unsigned_is_401_and_fetches_nothing(
    local: Local, peer: Peer, alice: Account, sink: Sink
) -> None:
    response = await local.post("/inbox", peer.activity("Follow", alice.uri))
    assert response.status_code == 401
    assert response.json() == {"error": "a valid HTTP signature is required"}
    assert await nothing_stored()
    assert sink.hits() == []


async def test_tc06_a_key_of_another_actor_is_refused_before_anything(
    local: Local, peer: Peer, alice: Account, sink: Sink
) -> None:
    mallory = Peer(sink, "evil.sink.test", "mallory")
    forged = peer.activity("Follow", alice.uri)  # actor: bob on remote.sink.test
    response = await local.post("/inbox", forged, peer=mallory)
    assert response.status_code == 401
    assert response.json() == {"error": "the activity's actor does not own the signing key"}
    assert await nothing_stored()
    # Only the signing key's actor was fetched; nothing of the claimed actor.
    assert {(r.host, r.path) for r in sink.gets()} <= {
        ("evil.sink.test", "/users/mallory"),
        ("evil.sink.test", "/.well-known/webfinger"),
    }
    assert sink.gets("remote.sink.test") == []


async def test_tc18_a_suspended_domain_is_refused_without_any_fetch(
    local: Local, peer: Peer, alice: Account, sink: Sink
) -> None:
    await domains.block_domain("sink.test", DomainBlockSeverity.SUSPEND)
    response = await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)
    assert response.status_code == 403
    assert await nothing_stored()
    assert sink.hits() == []


async def test_a_body_modified_after_signing_is_refused(
    local: Local, peer: Peer, alice: Account
) -> None:
    follow = peer.activity("Follow", alice.uri)
    tampered = orjson.dumps({**follow, "object": peer.uri})

    import httpx

    from activitypub.keys import load_private_key_pem
    from activitypub.signatures import HttpSignatureAuth

    request = local.client.build_request(
        "POST",
        "/inbox",
        content=orjson.dumps(follow),
        headers={"Content-Type": "application/activity+json"},
    )
    flow = HttpSignatureAuth(peer.key_id, load_private_key_pem(peer.private_pem)).auth_flow(request)
    signed = next(flow)
    response = await local.client.send(
        httpx.Request(
            "POST",
            signed.url,
            headers={**signed.headers, "content-length": str(len(tampered))},
            content=tampered,
        )
    )
    assert response.status_code == 401
    assert await nothing_stored()


async def test_an_activity_id_on_another_origin_is_refused(
    local: Local, peer: Peer, alice: Account
) -> None:
    activity = {
        **peer.activity("Follow", alice.uri),
        "id": "http://elsewhere.sink.test/activities/1",
    }
    response = await local.post("/inbox", activity, peer=peer)
    assert response.status_code == 403
    assert await nothing_stored()


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/activity+json", 400),
        (b"[" * 10_000 + b"]" * 10_000, "application/activity+json", 400),
        (b"[1, 2]", "application/activity+json", 400),
        (b'{"type": "Follow"}', "application/activity+json", 400),
        (b'{"id": "x", "actor": "y"}', "application/activity+json", 400),
        (b"{}", "text/html", 415),
    ],
)
async def test_malformed_bodies(
    local: Local, peer: Peer, body: bytes, content_type: str, status: int
) -> None:
    response = await local.post("/inbox", None, peer=peer, body=body, content_type=content_type)
    assert response.status_code == status
    assert await nothing_stored()


async def test_a_body_over_the_limit_is_413(local: Local, peer: Peer) -> None:
    response = await local.post("/inbox", None, peer=peer, body=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert await nothing_stored()


async def test_an_unknown_local_inbox_is_404(local: Local, peer: Peer) -> None:
    response = await local.post("/users/nobody/inbox", peer.activity("Follow", "x"), peer=peer)
    assert response.status_code == 404
    assert await nothing_stored()


async def test_an_actor_update_refetches_the_profile_from_its_origin(
    local: Local, peer: Peer, alice: Account
) -> None:
    await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)
    await local.worker.run_once()
    peer.extra = {"name": "Robert", "summary": "<p>new bio</p><script>x</script>"}
    peer.publish()
    # The embedded copy claims something else: it is not trusted.
    forged = {**peer.document(), "name": "Mallory"}
    await local.post("/inbox", peer.activity("Update", forged), peer=peer)
    stats = await local.worker.run_once()
    assert stats.processed == 1
    bob = await Account.get(uri=peer.uri)
    assert (bob.display_name, bob.note) == ("Robert", "<p>new bio</p>")


async def test_an_actor_cannot_update_another(local: Local, peer: Peer, sink: Sink) -> None:
    other = Peer(sink, "remote.sink.test", "carol")
    await local.post("/inbox", peer.activity("Update", other.document()), peer=peer)
    stats = await local.worker.run_once()
    assert stats.failed == 1
    assert (await InboxItem.get()).error == "an actor can only update itself"


async def test_a_block_ends_follows_and_refuses_new_ones(
    local: Local, peer: Peer, alice: Account
) -> None:
    await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)
    await local.worker.run_once()
    bob = await Account.get(uri=peer.uri)
    await Follow.create(account=alice, target=bob, state=FollowState.ACCEPTED)
    block = peer.activity("Block", alice.uri)
    await local.post("/inbox", block, peer=peer)
    assert (await local.worker.run_once()).processed == 1
    assert await Follow.all().count() == 0
    assert await AccountBlock.filter(account=bob, target=alice, uri=block["id"]).exists()
    with pytest.raises(Invalid):
        await follows.follow(local.fed, alice, bob)
    await local.post("/inbox", peer.activity("Undo", block), peer=peer)
    await local.worker.run_once()
    assert not await AccountBlock.exists()


async def test_a_flag_becomes_a_report_for_local_moderators(
    local: Local, peer: Peer, alice: Account
) -> None:
    post = await statuses.post(local.fed, alice, Draft("reported"))
    flag = peer.activity("Flag", [alice.uri, post.uri], content="<p>spam &amp; abuse</p>")
    await local.post("/inbox", flag, peer=peer)
    assert (await local.worker.run_once()).processed == 1
    report = await Report.get().select_related("reporter", "target")
    assert (report.reporter.uri, report.target.uri, report.status_uris, report.comment) == (
        peer.uri,
        alice.uri,
        [post.uri],
        "spam & abuse",
    )


async def test_a_flag_about_nothing_of_ours_is_refused(local: Local, peer: Peer) -> None:
    await local.post("/inbox", peer.activity("Flag", [peer.uri]), peer=peer)
    stats = await local.worker.run_once()
    assert stats.failed == 1
    assert await Report.all().count() == 0


async def test_a_verified_move_carries_local_followers_to_the_new_account(
    local: Local, peer: Peer, alice: Account, sink: Sink
) -> None:
    bob = await fetch_actor(local.fed, peer.uri)
    await Follow.create(account=alice, target=bob, state=FollowState.ACCEPTED)
    new = Peer(sink, "new.sink.test", "bob", extra={"alsoKnownAs": [peer.uri]})
    await local.post("/inbox", peer.activity("Move", peer.uri, target=new.uri), peer=peer)
    assert (await local.worker.run_once()).processed == 1
    moved = await Account.get(uri=peer.uri).select_related("moved_to")
    assert moved.moved_to is not None
    assert moved.moved_to.uri == new.uri
    follow = await Follow.get(account=alice).select_related("target")
    assert (follow.target.uri, follow.state) == (new.uri, FollowState.PENDING)
    job = await FanoutJob.get()
    assert (job.activity["type"], job.activity["object"], job.recipients) == (
        "Follow",
        new.uri,
        [new.uri],
    )


async def test_a_move_to_an_account_that_does_not_claim_the_old_one_is_refused(
    local: Local, peer: Peer, alice: Account, sink: Sink
) -> None:
    bob = await fetch_actor(local.fed, peer.uri)
    await Follow.create(account=alice, target=bob, state=FollowState.ACCEPTED)
    impostor = Peer(sink, "new.sink.test", "mallory")
    await local.post("/inbox", peer.activity("Move", peer.uri, target=impostor.uri), peer=peer)
    assert (await local.worker.run_once()).failed == 1
    assert (
        await InboxItem.get()
    ).error == "the new account does not list the old one in alsoKnownAs"
    assert (await Follow.get(account=alice).select_related("target")).target.uri == peer.uri


async def test_an_actor_deleting_itself_ends_its_follows(
    local: Local, peer: Peer, alice: Account
) -> None:
    await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)
    await local.worker.run_once()
    assert await Follow.all().count() == 1
    await local.post("/inbox", peer.activity("Delete", peer.uri), peer=peer)
    assert (await local.worker.run_once()).processed == 1
    assert await Follow.all().count() == 0
    await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)
    assert (await local.worker.run_once()).failed == 1
    assert await Follow.all().count() == 0


async def test_an_item_whose_lease_ran_out_is_left_to_the_worker_that_took_it_over(
    local: Local, peer: Peer, alice: Account, clock: Clock
) -> None:
    await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)
    [stale] = await claim(
        InboxItem, Q(state=InboxState.PENDING), now=clock(), lease=local.worker.lease, limit=1
    )
    clock.advance(minutes=6)  # the first worker stalled past its lease
    assert (await local.worker.run_once()).processed == 1  # a second worker takes over
    await local.worker._process(stale, InboxStats())  # the first one wakes up: nothing happens
    item = await InboxItem.get()
    assert (item.state, item.attempts) == (InboxState.DONE, 2)
    assert await Follow.all().count() == 1
