"""``fediverse-cop user …``: local people."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from fediverse_cop.cli.common import (
    confirm,
    emit,
    emit_one,
    fail,
    run,
    say,
    server_context,
    with_federation,
)
from fediverse_cop.models import Account, InstanceRole
from fediverse_cop.services import accounts
from fediverse_cop.services.passwords import generate_password

app = typer.Typer(help="Manage local user accounts.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def user_row(account: Account) -> dict[str, Any]:
    return {
        "id": str(account.id),
        "username": account.username,
        "email": account.email,
        "role": account.role,
        "suspended": account.is_suspended,
        "suspension_reason": account.suspension_reason or None,
        "actor": account.uri,
        "created_at": account.created_at,
    }


USER_COLUMNS = ("id", "username", "email", "role", "suspended", "created_at")


def read_password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
    """The password to set and whether it was generated (and so must be shown)."""
    if password_stdin and generate:
        fail("choose one of --password-stdin and --generate-password")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input")
        return password, False
    return generate_password(), True


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The handle, e.g. alice.")],
    email: Annotated[str, typer.Option(help="E-mail address.")],
    role: Annotated[InstanceRole, typer.Option(help="Instance role.")] = InstanceRole.USER,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    generate_password_: Annotated[
        bool,
        typer.Option("--generate-password", help="Generate a password and print it (default)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a local user with an RSA key pair."""
    password, generated = read_password(password_stdin, generate_password_)
    ctx = server_context()
    account = run(
        lambda: accounts.create_user(ctx, name, email=email, password=password, role=role)
    )
    row = user_row(account)
    if generated:
        row["password"] = password
    if as_json:
        emit_one(row, as_json=True)
        return
    say(f"created user {account.username} ({account.role.value}), actor {account.uri}")
    if generated:
        say(f"password: {password}")


@app.command("list")
def list_(
    role: Annotated[InstanceRole | None, typer.Option(help="Only this role.")] = None,
    suspended: Annotated[
        bool | None, typer.Option("--suspended/--active", help="Only suspended or active.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List local users."""
    users = run(lambda: accounts.list_users(role=role, suspended=suspended))
    emit([user_row(u) for u in users], USER_COLUMNS, as_json=as_json)


@app.command("show")
def show(name: str, as_json: JsonOption = False) -> None:
    """Show one user."""
    account = run(lambda: accounts.get_local_user(name))
    emit_one(user_row(account), as_json=as_json)


@app.command("set-role")
def set_role(name: str, role: InstanceRole) -> None:
    """Change a user's instance role."""
    account = run(lambda: accounts.set_role(name, role))
    say(f"{account.username} is now {account.role.value}")


@app.command("suspend")
def suspend(
    name: str,
    reason: Annotated[str, typer.Option(help="Why (kept private).")] = "",
) -> None:
    """Suspend a user: they can no longer log in or federate."""
    account = run(lambda: accounts.suspend(name, reason))
    say(f"suspended {account.username}")


@app.command("unsuspend")
def unsuspend(name: str) -> None:
    """Lift a suspension."""
    account = run(lambda: accounts.unsuspend(name))
    say(f"unsuspended {account.username}")


@app.command("reset-password")
def reset_password(
    name: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Set a new password (generated unless --password-stdin) and revoke the user's sessions."""
    password, generated = read_password(password_stdin, False)
    account = run(lambda: accounts.reset_password(name, password))
    if as_json:
        emit_one(
            {"username": account.username, "password": password if generated else None},
            as_json=True,
        )
        return
    say(f"password of {account.username} reset")
    if generated:
        say(f"password: {password}")


@app.command("delete")
def delete(name: str, yes: YesOption = False) -> None:
    """Close a local account: data and posts go, other servers are told, the name stays taken."""
    confirm(f"Delete {name} permanently?", yes)
    run(lambda: accounts.delete_user(name))
    say(f"deleted {name}; other servers are told, and the name stays reserved")


@app.command("move")
def move(
    name: str,
    target: Annotated[str, typer.Argument(help="The new account: @user@host or its URL.")],
    as_json: JsonOption = False,
) -> None:
    """Move a user to their new account on another server: their followers there follow
    the new one. The new account must first list this one as an alias (alsoKnownAs)."""
    from fediverse_cop.services import moves

    async def body(fed: Any) -> dict[str, Any]:
        account = await accounts.get_local_user(name)
        return await moves.move_account(fed, account, target)

    sent = with_federation(body)
    if as_json:
        emit_one(sent, as_json=True)
        return
    say(f"{name} moved to {sent['target']}; their followers' servers are told")


@app.command("add-alias")
def add_alias(
    name: str,
    old: Annotated[str, typer.Argument(help="The former account: @user@host or its URL.")],
) -> None:
    """List a user's former account on another server (alsoKnownAs), so that they can
    move from it to this one: their old server then sends the Move."""
    from fediverse_cop.services import moves

    async def body(fed: Any) -> str:
        account = await accounts.get_local_user(name)
        return (await moves.add_alias(fed, account, old)).uri

    say(f"{name} is also known as {with_federation(body)}")


@app.command("remove-alias")
def remove_alias(
    name: str,
    old: Annotated[str, typer.Argument(help="The former account, as added.")],
) -> None:
    """Forget a former account of a user."""
    from fediverse_cop.services import moves

    async def body(fed: Any) -> None:
        await moves.remove_alias(fed, await accounts.get_local_user(name), old)

    with_federation(body)
    say(f"{old} is no longer an alias of {name}")
