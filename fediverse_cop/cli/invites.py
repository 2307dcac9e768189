"""``fediverse-cop invite …``: invitations to register."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fediverse_cop.cli.common import emit, emit_one, parse_duration, run, say
from fediverse_cop.cli.users import JsonOption
from fediverse_cop.models import Invite
from fediverse_cop.services import invites

app = typer.Typer(help="Invitations to register.", no_args_is_help=True)


def invite_row(invite: Invite) -> dict[str, Any]:
    return {
        "code": invite.code,
        "uses": invite.uses,
        "max_uses": invite.max_uses,
        "expires_at": invite.expires_at,
        "revoked": invite.revoked_at is not None,
        "usable": invites.invite_is_usable(invite),
        "created_at": invite.created_at,
    }


@app.command("create")
def create(
    max_uses: Annotated[int | None, typer.Option(help="How many people may use it.")] = None,
    expires_in: Annotated[
        str | None, typer.Option(help="Lifetime such as 30m, 12h, 7d or 2w.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an invite code."""
    lifetime = parse_duration(expires_in) if expires_in is not None else None
    invite = run(lambda: invites.create_invite(max_uses=max_uses, expires_in=lifetime))
    if as_json:
        emit_one(invite_row(invite), as_json=True)
        return
    say(f"invite code: {invite.code}")


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include used-up, expired, revoked.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List invites (usable ones unless --all)."""
    rows = run(lambda: invites.list_invites(include_inactive=all_))
    emit(
        [invite_row(i) for i in rows],
        ("code", "uses", "max_uses", "expires_at", "revoked", "usable"),
        as_json=as_json,
    )


@app.command("revoke")
def revoke(code: str) -> None:
    """Revoke an invite code."""
    run(lambda: invites.revoke_invite(code))
    say(f"revoked {code}")
