"""Authorized-fetch mode: ActivityPub GETs must be signed; browsers and discovery are exempt."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from activitypub.keys import load_private_key_pem
from activitypub.signatures import HttpSignatureAuth
from fediverse_cop.app import create_app
from fediverse_cop.models import Account, DomainBlockSeverity
from fediverse_cop.services import domains, instance, statuses
from fediverse_cop.services.statuses import Draft
from tests.inbox.conftest import Local, Peer

AS2 = "application/activity+json"


@pytest.fixture
async def strict(local: Local) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(local.fed.ctx.settings, authorized_fetch=True))
    app.state.fed = local.fed
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cop.test") as client:
        yield client


def _signed(peer: Peer) -> HttpSignatureAuth:
    return HttpSignatureAuth(peer.key_id, load_private_key_pem(peer.private_pem))


async def test_unsigned_activitypub_gets_are_refused(
    strict: httpx.AsyncClient, local: Local, alice: Account, peer: Peer
) -> None:
    post = await statuses.post(local.fed, alice, Draft("public, but signed fetches only"))
    paths = [
        "/users/alice",
        "/users/alice/outbox",
        "/users/alice/followers",
        post.uri[len("http://cop.test") :],
    ]
    for path in paths:
        unsigned = await strict.get(path, headers={"Accept": AS2})
        assert unsigned.status_code == 401, path
        assert unsigned.json() == {"error": "this server requires signed requests"}
        signed = await strict.get(path, headers={"Accept": AS2}, auth=_signed(peer))
        assert signed.status_code == 200, path


async def test_browsers_discovery_and_the_instance_actor_are_exempt(
    strict: httpx.AsyncClient, local: Local, alice: Account
) -> None:
    await instance.ensure_instance(local.fed.ctx)
    assert (await strict.get("/users/alice", headers={"Accept": "text/html"})).status_code == 200
    actor = await strict.get("/actor", headers={"Accept": AS2})
    assert (actor.status_code, actor.json()["type"]) == (200, "Application")
    webfinger = await strict.get(
        "/.well-known/webfinger", params={"resource": "acct:alice@cop.test"}
    )
    assert webfinger.status_code == 200


async def test_a_suspended_domain_cannot_fetch(
    strict: httpx.AsyncClient, alice: Account, peer: Peer
) -> None:
    await domains.block_domain("sink.test", DomainBlockSeverity.SUSPEND)
    response = await strict.get("/users/alice", headers={"Accept": AS2}, auth=_signed(peer))
    assert response.status_code == 401
