"""``fediverse-cop federation …``: what this server resolves on the fediverse."""

from __future__ import annotations

from typing import Any

import typer

from fediverse_cop.cli.common import emit_one, with_federation
from fediverse_cop.cli.users import JsonOption
from fediverse_cop.models import Account, Status

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


def status_row(status: Status) -> dict[str, Any]:
    return {
        "uri": status.uri,
        "author": status.account.uri,
        "type": status.object_type,
        "visibility": status.visibility,
        "published_at": status.published_at,
        "in_reply_to": status.in_reply_to_uri,
        "summary": status.summary,
        "content": status.content,
    }


@app.command("lookup")
def lookup(
    query: str = typer.Argument(..., help="@user@host, user@host, an actor URL or a post URL."),
    as_json: JsonOption = False,
) -> None:
    """Resolve a handle or URL (WebFinger, signed fetches) and show what this server sees."""
    from fediverse_cop.services import lookup as lookups

    async def body(fed: Any) -> dict[str, Any]:
        found = await lookups.lookup(fed, query)
        if isinstance(found, Status):
            await found.fetch_related("account")
            return status_row(found)
        return remote_row(found)

    emit_one(with_federation(body), as_json=as_json)
