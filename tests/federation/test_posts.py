"""Posts between real instances: who receives what, replies, edits, deletes, boosts, likes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fediverse_cop.models import (
    Account,
    Delivery,
    DeliveryState,
    DomainBlockSeverity,
    FanoutJob,
    Favourite,
    InboxItem,
    JobState,
    Status,
    StatusEdit,
    Visibility,
)
from fediverse_cop.services import domains, statuses
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import Draft
from fediverse_cop.services.visibility import can_view
from tests.federation.conftest import Instance, eventually


def status_arrived(uri: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await Status.exists(uri=uri)

    return check


async def _no_pending_jobs() -> bool:
    return not await FanoutJob.exists(state=JobState.PENDING)


async def local(name: str) -> Account:
    return await Account.get(acct_key=name, local=True)


def test_posts_reach_exactly_the_right_people(instances: Callable[[int], list[Instance]]) -> None:
    a, b = instances(2)
    a.cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    for name in ("bob", "carol", "dan"):
        b.cli.ok("user", "create", name, "--email", f"{name}@uni-b.edu")

    b.follow("bob", a, "alice")
    posted: dict[Visibility, str] = {}

    async def alice_posts(fed: Federation) -> None:
        alice = await local("alice")
        for visibility in Visibility:
            text = f"{visibility.value} post"
            if visibility is Visibility.DIRECT:
                text = f"@{b.handle('dan')} just for you"
            status = await statuses.post(fed, alice, Draft(text, visibility=visibility))
            posted[visibility] = status.uri

    a.call(alice_posts)

    async def check_on_b(fed: Federation) -> None:
        for uri in posted.values():
            await eventually(status_arrived(uri))
        bob, carol, dan = await local("bob"), await local("carol"), await local("dan")
        stored = {v: await Status.get(uri=uri) for v, uri in posted.items()}
        assert {v: s.visibility for v, s in stored.items()} == {v: v for v in Visibility}
        assert await can_view(stored[Visibility.PUBLIC], None)
        assert await can_view(stored[Visibility.PRIVATE], bob)
        assert not await can_view(stored[Visibility.PRIVATE], carol)
        assert not await can_view(stored[Visibility.PRIVATE], None)
        assert await can_view(stored[Visibility.DIRECT], dan)
        assert not await can_view(stored[Visibility.DIRECT], bob)

    b.call(check_on_b)

    reply_uri = ""

    async def bob_replies_boosts_and_likes(fed: Federation) -> None:
        nonlocal reply_uri
        bob = await local("bob")
        original = await Status.get(uri=posted[Visibility.PUBLIC])
        reply = await statuses.post(fed, bob, Draft("an answer", in_reply_to=original))
        reply_uri = reply.uri
        await statuses.reblog(fed, bob, original)
        await statuses.favourite(fed, bob, original)

    b.call(bob_replies_boosts_and_likes)

    async def check_on_a(fed: Federation) -> None:
        await eventually(status_arrived(reply_uri))
        reply = await Status.get(uri=reply_uri).select_related("in_reply_to")
        assert reply.in_reply_to is not None
        assert reply.in_reply_to.uri == posted[Visibility.PUBLIC]

        async def boosted_and_liked() -> bool:
            original = await Status.get(uri=posted[Visibility.PUBLIC])
            boosted = await Status.exists(reblog_of=original, account__uri=b.actor("bob"))
            liked = await Favourite.exists(status=original, account__uri=b.actor("bob"))
            return boosted and liked

        await eventually(boosted_and_liked)

    a.call(check_on_a)

    async def alice_edits_and_deletes(fed: Federation) -> None:
        alice = await local("alice")
        public = await Status.get(uri=posted[Visibility.PUBLIC])
        await statuses.edit(fed, alice, public, "public post, edited")
        await statuses.delete(fed, alice, await Status.get(uri=posted[Visibility.UNLISTED]))

    a.call(alice_edits_and_deletes)

    async def edits_and_deletes_on_b(fed: Federation) -> None:
        async def applied() -> bool:
            public = await Status.get(uri=posted[Visibility.PUBLIC])
            unlisted = await Status.get(uri=posted[Visibility.UNLISTED])
            return public.edited_at is not None and unlisted.deleted_at is not None

        await eventually(applied)
        public = await Status.get(uri=posted[Visibility.PUBLIC])
        assert public.content == "<p>public post, edited</p>"
        assert [e.content for e in await StatusEdit.filter(status=public)] == ["<p>public post</p>"]

    b.call(edits_and_deletes_on_b)


def test_a_blocked_domain_gets_nothing_and_is_heard_from_no_more(
    instances: Callable[[int], list[Instance]],
) -> None:
    a, b = instances(2)
    a.cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    b.cli.ok("user", "create", "bob", "--email", "bob@uni-b.edu")

    b.follow("bob", a, "alice")

    async def a_blocks_b_and_posts(fed: Federation) -> tuple[int, int]:
        await domains.block_domain(b.host, DomainBlockSeverity.SUSPEND)
        counts = (await InboxItem.all().count(), await Delivery.filter(domain=b.domain).count())
        await statuses.post(fed, await local("alice"), Draft("not for b"))
        return counts

    items_before, deliveries_before = a.call(a_blocks_b_and_posts)

    async def bob_posts_and_is_refused(fed: Federation) -> None:
        await statuses.post(fed, await local("bob"), Draft(f"hello @{a.handle('alice')}"))

        async def refused() -> bool:
            return await Delivery.exists(last_status=403, state=DeliveryState.FAILED)

        await eventually(refused)

    b.call(bob_posts_and_is_refused)

    async def nothing_from_b_on_a(fed: Federation) -> None:
        assert await InboxItem.all().count() == items_before
        assert not await Status.exists(account__uri=b.actor("bob"))
        # a skips b when delivering: alice's post never left for b.
        await eventually(_no_pending_jobs)
        assert await Delivery.filter(domain=b.domain).count() == deliveries_before

    a.call(nothing_from_b_on_a)

    async def nothing_on_b(fed: Federation) -> None:
        assert not await Status.exists(account__uri=a.actor("alice"))

    b.call(nothing_on_b)


def test_lookup_resolves_a_public_post_url_and_nothing_else(
    instances: Callable[[int], list[Instance]],
) -> None:
    a, b = instances(2)
    a.cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")

    async def alice_posts(fed: Federation) -> tuple[str, str]:
        alice = await local("alice")
        public = await statuses.post(fed, alice, Draft("look me up"))
        private = await statuses.post(fed, alice, Draft("not you", visibility=Visibility.PRIVATE))
        return public.uri, private.uri

    public_uri, private_uri = a.call(alice_posts)
    found = b.cli.ok("federation", "lookup", public_uri, "--json").json()
    assert (found["uri"], found["author"], found["content"], found["visibility"]) == (
        public_uri,
        a.actor("alice"),
        "<p>look me up</p>",
        "public",
    )
    hidden = b.cli("federation", "lookup", private_uri)
    assert hidden.code == 1
    assert hidden.stderr.startswith(f"error: cannot resolve {private_uri}")
    actor = b.cli.ok("federation", "lookup", a.actor("alice"), "--json").json()
    assert actor["handle"] == a.handle("alice")
