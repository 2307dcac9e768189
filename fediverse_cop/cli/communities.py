"""``fediverse-cop community …``: local communities and their roles."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from fediverse_cop.cli.common import confirm, emit, emit_one, run, say, server_context
from fediverse_cop.cli.users import JsonOption, YesOption
from fediverse_cop.models import (
    Community,
    CommunityRole,
    CommunityRoleKind,
    ContentVisibility,
    JoinPolicy,
    PostingPolicy,
)
from fediverse_cop.services import communities
from fediverse_cop.services.communities import CommunityPolicy

app = typer.Typer(help="Manage local communities.", no_args_is_help=True)


def community_row(community: Community, roles: list[CommunityRole] | None = None) -> dict[str, Any]:
    account = community.account
    row: dict[str, Any] = {
        "id": str(account.id),
        "handle": account.username,
        "name": account.display_name,
        "description": account.note,
        "join": community.join_policy,
        "posting": community.posting_policy,
        "visibility": community.visibility,
        "archived": community.archived_at is not None,
        "actor": account.uri,
        "created_at": community.created_at,
    }
    if roles is not None:
        row["roles"] = [{"user": r.account.username, "role": r.role.value} for r in roles]
    return row


COMMUNITY_COLUMNS = ("id", "handle", "name", "join", "posting", "visibility", "archived")


@app.command("create")
def create(
    handle: Annotated[str, typer.Argument(help="The handle, e.g. chemistry101.")],
    owner: Annotated[str, typer.Option(help="Local user who owns the community.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    description: Annotated[str, typer.Option(help="What the community is about.")] = "",
    join: Annotated[JoinPolicy, typer.Option(help="Who may join.")] = JoinPolicy.OPEN,
    posting: Annotated[PostingPolicy, typer.Option(help="Who may post.")] = PostingPolicy.MEMBERS,
    visibility: Annotated[
        ContentVisibility, typer.Option(help="Who may read.")
    ] = ContentVisibility.PUBLIC,
    as_json: JsonOption = False,
) -> None:
    """Create a community (an ActivityPub Group) owned by a local user."""
    ctx = server_context()
    policy = CommunityPolicy(join=join, posting=posting, visibility=visibility)
    community = run(
        lambda: communities.create_community(
            ctx, handle, name=name, description=description, policy=policy, owner=owner
        )
    )
    if as_json:
        emit_one(community_row(community), as_json=True)
        return
    say(f"created community {community.account.username}, actor {community.account.uri}")


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """List local communities."""
    rows = run(communities.list_communities)
    emit([community_row(c) for c in rows], COMMUNITY_COLUMNS, as_json=as_json)


@app.command("show")
def show(handle: str, as_json: JsonOption = False) -> None:
    """Show a community with its owner, moderators and trainers."""

    async def load() -> dict[str, Any]:
        community = await communities.get_local_community(handle)
        return community_row(community, await communities.community_roles(community))

    emit_one(run(load), as_json=as_json)


@app.command("update")
def update(
    handle: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    description: Annotated[str | None, typer.Option(help="Description.")] = None,
    join: Annotated[JoinPolicy | None, typer.Option(help="Who may join.")] = None,
    posting: Annotated[PostingPolicy | None, typer.Option(help="Who may post.")] = None,
    visibility: Annotated[ContentVisibility | None, typer.Option(help="Who may read.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a community's name, description or policy."""
    community = run(
        lambda: communities.update_community(
            handle,
            name=name,
            description=description,
            join=join,
            posting=posting,
            visibility=visibility,
        )
    )
    if as_json:
        emit_one(community_row(community), as_json=True)
        return
    say(f"updated {community.account.username}")


@app.command("archive")
def archive(handle: str, yes: YesOption = False) -> None:
    """Archive a community: it stays readable but takes no new members or posts."""
    confirm(f"Archive {handle}?", yes)
    community = run(lambda: communities.archive_community(handle))
    say(f"archived {community.account.username}")


class AssignableRole(StrEnum):
    MODERATOR = "moderator"
    TRAINER = "trainer"

    @property
    def kind(self) -> CommunityRoleKind:
        return CommunityRoleKind(self.value)


RoleArgument = Annotated[AssignableRole, typer.Argument(help="moderator or trainer")]


@app.command("add-role")
def add_role(community: str, user: str, role: RoleArgument) -> None:
    """Make a local user a moderator or trainer of a community."""
    granted = run(lambda: communities.add_role(community, user, role.kind))
    say(f"{user} is now {granted.role.value} of {community}")


@app.command("remove-role")
def remove_role(community: str, user: str, role: RoleArgument) -> None:
    """Take a moderator or trainer role away."""
    run(lambda: communities.remove_role(community, user, role.kind))
    say(f"{user} is no longer {role.value} of {community}")
