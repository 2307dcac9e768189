"""Local actors get URIs and an RSA-2048 key pair; the instance row guards its domain."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

from fediverse_cop.models import Account, ActorType, Instance
from fediverse_cop.services import accounts, communities, instance
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import Conflict
from fediverse_cop.services.instance import DomainMismatch


def _check_keypair(account: Account) -> None:
    assert account.private_key_pem is not None
    private = serialization.load_pem_private_key(account.private_key_pem.encode(), password=None)
    public = serialization.load_pem_public_key(account.public_key_pem.encode())
    assert isinstance(private, rsa.RSAPrivateKey)
    assert isinstance(public, rsa.RSAPublicKey)
    assert private.key_size == 2048
    signature = private.sign(b"probe", padding.PKCS1v15(), SHA256())
    public.verify(signature, b"probe", padding.PKCS1v15(), SHA256())


async def test_every_local_actor_gets_uris_and_a_key_pair(database: ServerContext) -> None:
    ctx = database
    row, created = await instance.ensure_instance(ctx)
    assert created
    await row.fetch_related("actor")
    actor = row.actor
    assert actor is not None
    assert (actor.actor_type, actor.uri, actor.public_key_id) == (
        ActorType.APPLICATION,
        "http://cop.test/actor",
        "http://cop.test/actor#main-key",
    )
    user = await accounts.create_user(ctx, "Alice", email="alice@uni-a.edu", password="long enough")
    assert (user.uri, user.inbox_uri, user.shared_inbox_uri, user.followers_uri) == (
        "http://cop.test/users/Alice",
        "http://cop.test/users/Alice/inbox",
        "http://cop.test/inbox",
        "http://cop.test/users/Alice/followers",
    )
    group = await communities.create_community(ctx, "garden", name="Garden", owner="alice")
    assert group.account.uri == "http://cop.test/c/garden"
    assert group.account.public_key_id == "http://cop.test/c/garden#main-key"
    keys = set()
    for account in (actor, user, group.account):
        _check_keypair(account)
        keys.add(account.public_key_pem)
    assert len(keys) == 3


async def test_ensure_instance_is_idempotent_and_keeps_its_domain(database: ServerContext) -> None:
    first, created = await instance.ensure_instance(database)
    again, created_again = await instance.ensure_instance(database)
    assert (created, created_again) == (True, False)
    assert first.id == again.id
    assert await Instance.all().count() == 1
    assert await Account.filter(actor_type=ActorType.APPLICATION).count() == 1
    moved = ServerContext(dataclasses.replace(database.settings, domain="elsewhere.example"))
    with pytest.raises(DomainMismatch):
        await instance.ensure_instance(moved)


async def test_handle_race_is_decided_by_the_unique_key(database: ServerContext) -> None:
    await accounts.create_user(database, "sam", email="s1@uni-a.edu", password="long enough")
    with pytest.raises(Conflict):
        await accounts.create_local_actor(database, "SAM", ActorType.GROUP)
    assert await Account.filter(acct_key="sam").count() == 1
