"""Instance-wide commands: init, migrate, domain blocks, invites, registrations, stats."""

from __future__ import annotations

import asyncio

import pytest

from fediverse_cop import db
from fediverse_cop.models import Account, AccountStats
from fediverse_cop.services import invites
from fediverse_cop.settings import load_settings
from tests.conftest import Cli


def test_init_is_safe_to_run_twice(cli: Cli) -> None:
    first = cli.ok("init", "--admin", "alice", "--email", "alice@uni-a.edu")
    assert "initialized cop.test" in first.stdout
    assert "created owner alice; password: " in first.stdout
    second = cli.ok("init", "--admin", "alice", "--email", "alice@uni-a.edu")
    assert "cop.test was already initialized; nothing to do" in second.stdout
    assert "owner alice exists; left unchanged" in second.stdout
    users = cli.ok("user", "list", "--json").json()
    assert [(u["username"], u["role"]) for u in users] == [("alice", "owner")]


def test_init_refuses_another_domain(cli: Cli) -> None:
    cli.ok("init")
    other = cli("init", "--domain", "other.example")
    assert other.code == 1
    assert other.stderr.strip() == (
        "error: this database belongs to cop.test, but the domain setting is other.example; "
        "set COP_DOMAIN=cop.test"
    )
    bad = cli("init", "--domain", "a@b")
    assert bad.code == 1
    assert bad.stderr.startswith("error: invalid domain:")


def test_domain_block_normalizes_and_lists(cli: Cli) -> None:
    assert (
        "blocked xn--bcher-kva.example (suspend)"
        in cli.ok(
            "domain", "block", "Bücher.Example.", "--severity", "suspend", "--reason", "spam waves"
        ).stdout
    )
    cli.ok("domain", "block", "media.example", "--severity", "reject-media")
    assert (
        "updated the block of media.example (silence)"
        in cli.ok("domain", "block", "MEDIA.example", "--severity", "silence").stdout
    )
    blocks = cli.ok("domain", "list", "--json").json()
    assert [(b["domain"], b["severity"], b["private_comment"]) for b in blocks] == [
        ("media.example", "silence", ""),
        ("xn--bcher-kva.example", "suspend", "spam waves"),
    ]
    cli.ok("domain", "unblock", "media.example.")
    missing = cli("domain", "unblock", "media.example")
    assert (missing.code, missing.stderr.strip()) == (1, "error: media.example is not blocked")


@pytest.mark.parametrize(
    "domain", ["evil.example/x", "a@b", "two words.example", "", "bad-.example"]
)
def test_invalid_domains_are_refused(cli: Cli, domain: str) -> None:
    result = cli("domain", "block", domain, "--severity", "suspend")
    assert result.code == 1
    assert result.stderr.startswith("error: invalid domain:")
    assert cli.ok("domain", "list", "--json").json() == []


def test_invites(cli: Cli) -> None:
    invite = cli.ok("invite", "create", "--max-uses", "3", "--expires-in", "7d", "--json").json()
    assert isinstance(invite, dict)
    assert (invite["max_uses"], invite["uses"], invite["usable"]) == (3, 0, True)
    second = cli.ok("invite", "create").stdout
    assert second.startswith("invite code: ")
    assert len(cli.ok("invite", "list", "--json").json()) == 2
    cli.ok("invite", "revoke", invite["code"])
    active = cli.ok("invite", "list", "--json").json()
    assert [i["code"] for i in active] == [second.split(": ")[1].strip()]
    everything = cli.ok("invite", "list", "--all", "--json").json()
    assert {i["code"]: i["revoked"] for i in everything}[invite["code"]] is True
    assert cli("invite", "revoke", "nope").stderr.strip() == "error: no invite 'nope'"
    assert cli("invite", "create", "--expires-in", "soon").code == 2
    assert (
        cli("invite", "create", "--max-uses", "0").stderr.strip()
        == "error: --max-uses must be at least 1"
    )


def test_invite_codes_are_letters_and_digits_only() -> None:
    # A code is passed to `invite revoke`: one starting with "-" would read as an option.
    codes = {invites.new_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(len(code) == 16 and set(code) <= set(invites.CODE_ALPHABET) for code in codes)
    assert not set(invites.CODE_ALPHABET) & set("-_0O1lI")


def test_registrations_mode(cli: Cli) -> None:
    assert "registrations are now invite" in cli.ok("registrations", "invite").stdout
    assert cli("registrations", "sometimes").code == 2


def test_stats_counts(cli: Cli) -> None:
    cli.ok("user", "create", "alice", "--email", "a@uni-a.edu")
    cli.ok("user", "create", "bob", "--email", "b@uni-a.edu")
    cli.ok("community", "create", "garden", "--owner", "alice")
    stats = cli.ok("stats", "--json").json()
    assert stats == {
        "local_users": 2,
        "communities": 1,
        "posts": 0,
        "remote_accounts": 0,
        "known_instances": 0,
    }


def test_migrate_reports_up_to_date(cli: Cli) -> None:
    assert "the database is up to date" in cli.ok("migrate").stdout


def test_console_script_is_installed_and_exits_as_documented(console_script: Cli) -> None:
    cli = console_script
    assert cli.ok("--version").stdout.strip() == "fediverse-cop 0.1.0"
    assert "community" in cli.ok("--help").stdout
    created = cli.ok("user", "create", "zoe", "--email", "z@uni-a.edu", "--json").json()
    assert created["username"] == "zoe"
    taken = cli("user", "create", "zoe", "--email", "z2@uni-a.edu")
    assert (taken.code, taken.stderr) == (1, "error: the handle 'zoe' is already taken\n")
    bare = cli()
    assert bare.code == 2
    assert "Usage" in bare.stdout + bare.stderr


def test_recount_repairs_counts_written_with_triggers_off(cli: Cli) -> None:
    cli.ok("user", "create", "alice", "--email", "a@uni-a.edu")
    cli.ok("user", "create", "bob", "--email", "b@uni-a.edu")
    assert "0 had wrong counts" in cli.ok("recount").stdout

    async def damage() -> None:
        # As a restore with triggers off would leave them.
        async with db.database(load_settings(environ=cli.env)):
            bob = await Account.get(username="bob")
            await AccountStats.update_or_create(
                {"statuses_count": 12, "followers_count": 3}, account_id=bob.id
            )
            await AccountStats.create(account_id=bob.id + 1, statuses_count=1)  # no account

    asyncio.run(damage())
    assert "2 had wrong counts" in cli.ok("recount").stdout
    assert "0 had wrong counts" in cli.ok("recount").stdout
