"""``fediverse-cop community members / requests / approve / reject`` through the CLI."""

from __future__ import annotations

import asyncio

import pytest

from fediverse_cop import db
from fediverse_cop.models import Account, FanoutJob, Follow, FollowState, acct_key
from fediverse_cop.settings import Settings
from tests.conftest import Cli

REMOTE = "uni-b.example"


def seed_requests(settings: Settings, community: str, *names: str) -> None:
    """Remote people on one server ask to join (as an incoming Follow stores them)."""

    async def body() -> None:
        async with db.database(settings):
            group = await Account.get(acct_key=acct_key(community, None))
            for name in names:
                uri = f"https://{REMOTE}/users/{name}"
                person = await Account.create(
                    username=name,
                    domain=REMOTE,
                    acct_key=acct_key(name, REMOTE),
                    uri=uri,
                    inbox_uri=f"{uri}/inbox",
                )
                await Follow.create(
                    account=person, target=group, state=FollowState.PENDING, uri=f"{uri}#follow"
                )

    asyncio.run(body())


def queued(settings: Settings, kind: str) -> list[FanoutJob]:
    async def body() -> list[FanoutJob]:
        async with db.database(settings):
            return [j for j in await FanoutJob.all().order_by("id") if j.activity["type"] == kind]

    return asyncio.run(body())


@pytest.fixture
def circle(cli: Cli, settings: Settings) -> Cli:
    cli.ok("user", "create", "alice", "--email", "a@uni-a.edu")
    created = cli.ok(
        "community", "create", "circle", "--owner", "alice", "--visibility", "members", "--json"
    ).json()
    # Members-only implies approval to join.
    assert (created["join"], created["visibility"]) == ("approval", "members")
    seed_requests(settings, "circle", "bob", "carol")
    return cli


def test_requests_flag_a_new_server(circle: Cli) -> None:
    rows = circle.ok("community", "requests", "circle", "--json").json()
    assert [(r["account"], r["instance"], r["role"], r["new_instance"]) for r in rows] == [
        (f"bob@{REMOTE}", REMOTE, "requested", True),
        (f"carol@{REMOTE}", REMOTE, "requested", True),
    ]
    table = circle.ok("community", "requests", "circle").stdout
    assert f"bob@{REMOTE}" in table


def test_approve_warns_lists_members_and_reject_removes_the_request(
    circle: Cli, settings: Settings
) -> None:
    approved = circle.ok("community", "approve", "circle", f"@bob@{REMOTE}")
    assert f"approved bob@{REMOTE} into circle" in approved.stdout
    assert f"first member from {REMOTE}" in approved.stderr
    (accept,) = queued(settings, "Accept")
    assert accept.recipients == [f"https://{REMOTE}/users/bob"]

    members = circle.ok("community", "members", "circle", "--json").json()
    assert [(m["account"], m["instance"], m["role"], m["new_instance"]) for m in members] == [
        ("alice", "local", "owner", False),
        (f"bob@{REMOTE}", REMOTE, "member", True),
    ]
    shown = circle.ok("community", "members", "circle")
    assert f"warning: {REMOTE} is a new server here" in shown.stderr

    # The server has a member now: carol's request no longer lets a new server in.
    (carol,) = circle.ok("community", "requests", "circle", "--json").json()
    assert carol["new_instance"] is False
    rejected = circle.ok("community", "reject", "circle", f"https://{REMOTE}/users/carol")
    assert f"rejected carol@{REMOTE}'s request" in rejected.stdout
    assert circle.ok("community", "requests", "circle", "--json").json() == []
    (reject,) = queued(settings, "Reject")
    assert reject.recipients == [f"https://{REMOTE}/users/carol"]


def test_unknown_accounts_and_missing_requests_are_user_errors(circle: Cli) -> None:
    unknown = circle("community", "approve", "circle", "nobody@nowhere.example")
    assert unknown.code == 1
    assert "no known account" in unknown.stderr
    circle.ok("community", "approve", "circle", f"bob@{REMOTE}")
    again = circle("community", "approve", "circle", f"bob@{REMOTE}")
    assert again.code == 1
    assert "no follow request" in again.stderr
    assert circle("community", "members", "nosuch").code == 1
