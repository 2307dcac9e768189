"""``fediverse-cop community …`` through the console script."""

from __future__ import annotations

import pytest

from tests.conftest import Cli


@pytest.fixture
def people(cli: Cli) -> Cli:
    cli.ok("user", "create", "alice", "--email", "a@uni-a.edu", "--role", "admin")
    cli.ok("user", "create", "bob", "--email", "b@uni-a.edu")
    return cli


def test_create_and_show_with_roles(people: Cli) -> None:
    cli = people
    created = cli.ok(
        "community",
        "create",
        "chem101",
        "--name",
        "Chemistry 101",
        "--description",
        "Lab notes",
        "--join",
        "approval",
        "--posting",
        "moderators",
        "--visibility",
        "members",
        "--owner",
        "alice",
        "--json",
    ).json()
    assert isinstance(created, dict)
    assert created["actor"] == "http://cop.test/c/chem101"
    assert (created["join"], created["posting"], created["visibility"]) == (
        "approval",
        "moderators",
        "members",
    )
    assert (
        "bob is now trainer of chem101"
        in cli.ok("community", "add-role", "chem101", "bob", "trainer").stdout
    )
    shown = cli.ok("community", "show", "chem101", "--json").json()
    assert isinstance(shown, dict)
    assert shown["name"] == "Chemistry 101"
    assert shown["roles"] == [
        {"user": "alice", "role": "owner"},
        {"user": "bob", "role": "trainer"},
    ]


def test_list_update_archive(people: Cli) -> None:
    cli = people
    cli.ok("community", "create", "physics", "--owner", "alice")
    cli.ok("community", "create", "maths", "--owner", "bob", "--name", "Maths")
    listed = cli.ok("community", "list", "--json").json()
    assert [(c["handle"], c["name"], c["join"]) for c in listed] == [
        ("physics", "physics", "open"),
        ("maths", "Maths", "open"),
    ]
    updated = cli.ok(
        "community", "update", "physics", "--name", "Physics", "--join", "approval", "--json"
    ).json()
    assert (updated["name"], updated["join"]) == ("Physics", "approval")
    assert cli("community", "archive", "maths").code == 1  # needs --yes without a terminal
    cli.ok("community", "archive", "maths", "--yes")
    shown = cli.ok("community", "show", "maths", "--json").json()
    assert shown["archived"] is True


def test_handles_are_one_namespace_with_users(people: Cli) -> None:
    result = people("community", "create", "bob", "--owner", "alice")
    assert (result.code, result.stderr.strip()) == (1, "error: the handle 'bob' is already taken")
    people.ok("community", "create", "history", "--owner", "alice")
    taken = people("user", "create", "History", "--email", "h@uni-a.edu")
    assert (taken.code, taken.stderr.strip()) == (1, "error: the handle 'History' is already taken")


def test_remove_role(people: Cli) -> None:
    cli = people
    cli.ok("community", "create", "bio", "--owner", "alice")
    cli.ok("community", "add-role", "bio", "bob", "moderator")
    cli.ok("community", "remove-role", "bio", "bob", "moderator")
    assert cli.ok("community", "show", "bio", "--json").json()["roles"] == [
        {"user": "alice", "role": "owner"}
    ]
    again = cli("community", "remove-role", "bio", "bob", "moderator")
    assert (again.code, again.stderr.strip()) == (1, "error: bob is not a moderator of bio")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("community", "create", "x1", "--owner", "nobody"), "error: no local user 'nobody'"),
        (("community", "show", "nothing"), "error: no local community 'nothing'"),
        (
            ("community", "create", "bad-handle", "--owner", "alice"),
            "error: invalid handle 'bad-handle': use 1 to 30 letters, digits or underscores",
        ),
        (
            (
                "community",
                "create",
                "secret",
                "--owner",
                "alice",
                "--visibility",
                "members",
                "--join",
                "open",
            ),
            "error: a members-only community must use --join approval",
        ),
        (
            ("community", "add-role", "nothing", "bob", "trainer"),
            "error: no local community 'nothing'",
        ),
    ],
)
def test_community_errors(people: Cli, args: tuple[str, ...], message: str) -> None:
    result = people(*args)
    assert (result.code, result.stderr.strip()) == (1, message)


def test_owner_role_cannot_be_changed_or_granted(people: Cli) -> None:
    people.ok("community", "create", "art", "--owner", "alice")
    owner = people("community", "add-role", "art", "alice", "trainer")
    assert (owner.code, owner.stderr.strip()) == (
        1,
        "error: alice owns art; the owner's role cannot be changed",
    )
    assert people("community", "add-role", "art", "bob", "owner").code == 2
