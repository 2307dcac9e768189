"""A local user moves to an account on another server: the alias is checked on the new
account's own document, ``movedTo`` is published and the followers' servers get ``Move``.
(Receiving a ``Move`` is tested in test_receive.py.)"""

from __future__ import annotations

import orjson
import pytest

from fediverse_cop.models import Account, FanoutJob, Follow, FollowState
from fediverse_cop.services import accounts, moves
from fediverse_cop.services.errors import Invalid
from outbox.worker import DeliveryWorker
from tests.conftest import Clock
from tests.inbox.conftest import AS2, Local, Peer
from tests.inbox.test_statuses import deliver
from tests.sink import Sink


async def test_a_user_moves_to_an_account_that_lists_them(
    local: Local, alice: Account, sink: Sink, clock: Clock
) -> None:
    fan = Peer(sink, "masto.sink.test", "fan")
    item = await deliver(local, fan, fan.activity("Follow", alice.uri))
    assert not item.error, item.error
    assert await Follow.exists(account__uri=fan.uri, target=alice, state=FollowState.ACCEPTED)
    new = Peer(sink, "uni-b.sink.test", "alice", extra={"alsoKnownAs": [alice.uri]})

    sink.keys[alice.public_key_id or ""] = alice.public_key_pem  # fan's server knows alice's key

    sent = await moves.move_account(local.fed, alice, new.uri)

    assert (sent["type"], sent["actor"], sent["object"], sent["target"]) == (
        "Move",
        alice.uri,
        alice.uri,
        new.uri,
    )
    moved = await Account.get(id=alice.id).select_related("moved_to")
    assert moved.moved_to is not None
    assert moved.moved_to.uri == new.uri
    worker = DeliveryWorker(local.fed.http, local_domain=local.fed.ctx.domain, clock=clock)
    await worker.run_once()
    arrived = [r for r in sink.posts(fan.host) if orjson.loads(r.body)["type"] == "Move"]
    assert [orjson.loads(r.body)["id"] for r in arrived] == [sent["id"]]
    assert arrived[0].signature.verified
    # Other servers (and apps) see where the account went.
    document = (await local.client.get("/users/alice", headers={"Accept": AS2})).json()
    assert document["movedTo"] == new.uri


async def test_a_move_is_refused_without_the_alias_or_to_this_server(
    local: Local, alice: Account, sink: Sink
) -> None:
    stranger = Peer(sink, "uni-b.sink.test", "alice")  # does not list alice
    before = await FanoutJob.all().count()
    with pytest.raises(Invalid, match="alsoKnownAs"):
        await moves.move_account(local.fed, alice, stranger.uri)
    bob = await accounts.create_user(
        local.fed.ctx, "bob", email="bob@uni-a.edu", password="long enough"
    )
    with pytest.raises(Invalid, match="another server"):
        await moves.move_account(local.fed, alice, bob.uri)
    assert (await Account.get(id=alice.id)).moved_to_id is None  # type: ignore[attr-defined]
    assert await FanoutJob.all().count() == before
    document = (await local.client.get("/users/alice", headers={"Accept": AS2})).json()
    assert "movedTo" not in document


async def test_someone_moves_here_once_the_local_account_lists_the_old_one(
    local: Local, alice: Account, sink: Sink
) -> None:
    old = Peer(sink, "uni-b.sink.test", "alice")
    bob = await accounts.create_user(
        local.fed.ctx, "bob", email="bob@uni-a.edu", password="long enough"
    )
    former = await moves.add_alias(local.fed, alice, f"@alice@{old.host}:{sink.port}")
    await Follow.create(account=bob, target=former, state=FollowState.ACCEPTED, uri="urn:x:1")
    document = (await local.client.get("/users/alice", headers={"Accept": AS2})).json()
    assert document["alsoKnownAs"] == [old.uri]

    item = await deliver(local, old, old.activity("Move", old.uri, target=alice.uri))
    assert not item.error, item.error
    assert (await Account.get(id=former.id)).moved_to_id == alice.id  # type: ignore[attr-defined]
    assert await Follow.exists(account=bob, target=alice)
    assert not await Follow.exists(account=bob, target=former)

    # Without the alias, a Move here is refused.
    await moves.remove_alias(local.fed, alice, old.uri)
    assert (
        "alsoKnownAs"
        not in (await local.client.get("/users/alice", headers={"Accept": AS2})).json()
    )
    other = Peer(sink, "uni-c.sink.test", "alice")
    item = await deliver(local, other, other.activity("Move", other.uri, target=alice.uri))
    assert "alsoKnownAs" in (item.error or "")
