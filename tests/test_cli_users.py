"""``fediverse-cop user …`` through the installed console script, against a real database."""

from __future__ import annotations

import pytest

from tests.conftest import Cli


def test_create_with_generated_password_prints_it_once(cli: Cli) -> None:
    result = cli.ok("user", "create", "alice", "--email", "Alice@Uni-A.edu", "--json")
    data = result.json()
    assert isinstance(data, dict)
    assert data["username"] == "alice"
    assert data["email"] == "alice@uni-a.edu"
    assert data["role"] == "user"
    assert data["actor"] == "http://cop.test/users/alice"
    assert len(data["password"]) >= 16
    assert data["id"].isdigit()


def test_create_with_password_on_stdin_and_role(cli: Cli) -> None:
    result = cli.ok(
        "user",
        "create",
        "root_admin",
        "--email",
        "ra@uni-a.edu",
        "--role",
        "admin",
        "--password-stdin",
        input="correct horse battery\n",
    )
    assert "created user root_admin (admin)" in result.stdout
    assert "password:" not in result.stdout
    shown = cli.ok("user", "show", "root_admin", "--json").json()
    assert isinstance(shown, dict)
    assert shown["role"] == "admin"


def test_list_filters_by_role_and_suspension(cli: Cli) -> None:
    cli.ok("user", "create", "alice", "--email", "a@uni-a.edu", "--role", "admin")
    cli.ok("user", "create", "bob", "--email", "b@uni-a.edu")
    cli.ok("user", "suspend", "bob", "--reason", "spam")

    everyone = cli.ok("user", "list", "--json").json()
    assert [u["username"] for u in everyone] == ["alice", "bob"]
    admins = cli.ok("user", "list", "--role", "admin", "--json").json()
    assert [u["username"] for u in admins] == ["alice"]
    suspended = cli.ok("user", "list", "--suspended", "--json").json()
    assert [(u["username"], u["suspension_reason"]) for u in suspended] == [("bob", "spam")]
    table = cli.ok("user", "list").stdout
    assert "alice" in table
    assert "bob" in table


def test_set_role_suspend_unsuspend(cli: Cli) -> None:
    cli.ok("user", "create", "carol", "--email", "c@uni-a.edu")
    assert "carol is now moderator" in cli.ok("user", "set-role", "carol", "moderator").stdout
    cli.ok("user", "suspend", "carol")
    assert cli.ok("user", "show", "carol", "--json").json()["suspended"] is True
    cli.ok("user", "unsuspend", "carol")
    shown = cli.ok("user", "show", "carol", "--json").json()
    assert shown["suspended"] is False
    assert shown["role"] == "moderator"


def test_reset_password_generates_a_new_one(cli: Cli) -> None:
    cli.ok(
        "user", "create", "dave", "--email", "d@uni-a.edu", "--password-stdin", input="first-pass\n"
    )
    result = cli.ok("user", "reset-password", "dave", "--json").json()
    assert isinstance(result, dict)
    assert result["username"] == "dave"
    assert len(result["password"]) >= 16
    short = cli("user", "reset-password", "dave", "--password-stdin", input="short\n")
    assert short.code == 1
    assert short.stderr.strip() == "error: a password must have 8 to 1024 characters"


def test_delete_needs_confirmation(cli: Cli) -> None:
    cli.ok("user", "create", "erin", "--email", "e@uni-a.edu")
    refused = cli("user", "delete", "erin")
    assert refused.code == 1
    assert "--yes" in refused.stderr
    assert cli.ok("user", "show", "erin", "--json").json()["username"] == "erin"
    cli.ok("user", "delete", "erin", "--yes")
    gone = cli("user", "show", "erin")
    assert gone.code == 1
    assert gone.stderr.strip() == "error: no local user 'erin'"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("user", "show", "nobody"), "error: no local user 'nobody'"),
        (
            ("user", "create", "bad name", "--email", "x@uni-a.edu"),
            "error: invalid handle 'bad name': use 1 to 30 letters, digits or underscores",
        ),
        (
            ("user", "create", "root", "--email", "x@uni-a.edu"),
            "error: the handle 'root' is reserved",
        ),
        (
            ("user", "create", "frank", "--email", "not-an-email"),
            "error: invalid e-mail address 'not-an-email'",
        ),
        (
            ("user", "create", "frank", "--email", "f@evil.example/x"),
            "error: invalid e-mail address 'f@evil.example/x'",
        ),
        (("user", "set-role", "nobody", "admin"), "error: no local user 'nobody'"),
        (("user", "suspend", "nobody"), "error: no local user 'nobody'"),
    ],
)
def test_user_errors_exit_1_with_one_line(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli(*args)
    assert result.code == 1
    assert result.stderr.strip() == message


def test_taken_handle_and_email_are_refused(cli: Cli) -> None:
    cli.ok("user", "create", "grace", "--email", "g@uni-a.edu")
    same_name = cli("user", "create", "Grace", "--email", "other@uni-a.edu")
    assert (same_name.code, same_name.stderr.strip()) == (
        1,
        "error: the handle 'Grace' is already taken",
    )
    same_mail = cli("user", "create", "grace2", "--email", "G@UNI-A.edu")
    assert (same_mail.code, same_mail.stderr.strip()) == (
        1,
        "error: the e-mail address g@uni-a.edu is already in use",
    )


@pytest.mark.parametrize(
    "args",
    [
        ("user", "create", "x"),  # missing --email
        ("user", "create", "x", "--email", "x@y.z", "--role", "emperor"),
        ("user", "frobnicate"),
        ("user", "list", "--bogus"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: tuple[str, ...]) -> None:
    assert cli(*args).code == 2


def test_move_needs_an_account_on_another_server(cli: Cli) -> None:
    cli.ok("user", "create", "alice", "--email", "alice@uni-a.edu")
    cli.ok("user", "create", "bob", "--email", "bob@uni-a.edu")
    result = cli("user", "move", "alice", "@bob@cop.test")
    assert result.code == 1
    assert result.stderr.strip() == "error: the new account must be on another server"
    assert cli("user", "move", "nobody", "@bob@cop.test").code == 1
