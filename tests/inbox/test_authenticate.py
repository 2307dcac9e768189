"""Authentication: how often a failing signature makes us fetch the signer's actor again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from activitypub.keys import generate_rsa_keypair
from fediverse_cop.models import Account, InboxItem
from fediverse_cop.services.context import utcnow
from inbox.authenticate import REFETCH_AFTER
from tests.inbox.conftest import Local, Peer
from tests.sink import Sink


async def _window_passes(peer: Peer) -> None:
    """As if the actor had last been fetched just over ``REFETCH_AFTER`` ago."""
    await Account.filter(uri=peer.uri).update(
        last_fetched_at=utcnow() - REFETCH_AFTER - timedelta(seconds=1)
    )


def _actor_fetches(sink: Sink, peer: Peer) -> int:
    return sum(1 for hit in sink.gets(peer.host) if hit.path == f"/users/{peer.name}")


async def test_a_flood_of_bad_signatures_refetches_the_actor_once_per_window(
    local: Local, peer: Peer, alice: Account, sink: Sink
) -> None:
    assert (await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)).is_success
    await _window_passes(peer)
    forger_private, _ = generate_rsa_keypair()  # signs with bob's keyId, not with bob's key

    async def forged() -> httpx.Response:
        activity = peer.activity("Like", alice.uri)
        return await local.post("/inbox", activity, peer=peer, private_pem=forger_private)

    # Ten at once, then five more one after the other: one refetch in all.
    before = _actor_fetches(sink, peer)
    flood = list(await asyncio.gather(*(forged() for _ in range(10))))
    flood += [await forged() for _ in range(5)]
    assert {response.status_code for response in flood} == {401}
    assert _actor_fetches(sink, peer) == before + 1

    # The actor's own signatures still pass, with the cached key and no fetch.
    assert (await local.post("/inbox", peer.activity("Like", alice.uri), peer=peer)).is_success
    assert _actor_fetches(sink, peer) == before + 1

    # Once the window has passed, a failing signature may refetch once more.
    await _window_passes(peer)
    assert [(await forged()).status_code for _ in range(3)] == [401] * 3
    assert _actor_fetches(sink, peer) == before + 2
    assert await InboxItem.all().count() == 2  # the Follow and bob's own Like


async def test_a_refetch_that_fails_counts_too(
    local: Local, peer: Peer, alice: Account, sink: Sink
) -> None:
    """A server that cannot answer is not asked again for every bad signature."""
    assert (await local.post("/inbox", peer.activity("Follow", alice.uri), peer=peer)).is_success
    await _window_passes(peer)
    sink.documents.pop((peer.host, f"/users/{peer.name}"))  # the actor now answers 404
    forger_private, _ = generate_rsa_keypair()
    before = _actor_fetches(sink, peer)
    for _ in range(3):
        activity = peer.activity("Like", alice.uri)
        response = await local.post("/inbox", activity, peer=peer, private_pem=forger_private)
        assert response.status_code == 401
    assert _actor_fetches(sink, peer) == before + 1
    assert (await Account.get(uri=peer.uri)).public_key_pem == peer.public_pem
