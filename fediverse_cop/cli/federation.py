"""``fediverse-cop federation …``: what this server resolves on the fediverse."""

from __future__ import annotations

from typing import Any

import typer

from fediverse_cop.cli.common import emit_one, run, server_context
from fediverse_cop.cli.users import JsonOption
from fediverse_cop.models import Account

app = typer.Typer(help="Look at the fediverse as this server sees it.", no_args_is_help=True)


def remote_row(account: Account) -> dict[str, Any]:
    return {
        "handle": account.handle,
        "uri": account.uri,
        "type": account.actor_type,
        "local": account.local,
        "display_name": account.display_name,
        "inbox": account.inbox_uri,
        "shared_inbox": account.shared_inbox_uri,
        "followers": account.followers_uri,
        "locked": account.manually_approves_followers,
        "key_id": account.public_key_id,
        "last_fetched_at": account.last_fetched_at,
    }


@app.command("lookup")
def lookup(
    query: str = typer.Argument(..., help="@user@host, user@host or an actor URL."),
    as_json: JsonOption = False,
) -> None:
    """Resolve a handle or actor URL (WebFinger, then the signed actor fetch) and show it."""
    from fediverse_cop.runtime import make_http_client
    from fediverse_cop.services.remote import federation_for, resolve

    ctx = server_context()

    async def body() -> Account:
        async with make_http_client(ctx.settings) as http:
            fed = await federation_for(ctx, http)
            return await resolve(fed, query)

    emit_one(remote_row(run(body)), as_json=as_json)
