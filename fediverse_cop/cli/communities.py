"""``fediverse-cop community …``: local communities and their roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from fediverse_cop.cli.common import (
    confirm,
    emit,
    emit_one,
    run,
    say,
    server_context,
    stderr,
    with_federation,
)
from fediverse_cop.cli.users import JsonOption, YesOption
from fediverse_cop.models import (
    Account,
    ActorType,
    Community,
    CommunityRole,
    CommunityRoleKind,
    ContentVisibility,
    JoinPolicy,
    PostingPolicy,
    Resource,
    Status,
    acct_key,
)
from fediverse_cop.services import communities, groups, private_groups, resources
from fediverse_cop.services.accounts import get_local_user
from fediverse_cop.services.communities import CommunityPolicy
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.resources import ResourceDraft

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
    join: Annotated[
        JoinPolicy | None,
        typer.Option(help="Who may join (default: open; approval for members-only)."),
    ] = None,
    posting: Annotated[PostingPolicy, typer.Option(help="Who may post.")] = PostingPolicy.MEMBERS,
    visibility: Annotated[
        ContentVisibility, typer.Option(help="Who may read.")
    ] = ContentVisibility.PUBLIC,
    as_json: JsonOption = False,
) -> None:
    """Create a community (an ActivityPub Group) owned by a local user."""
    ctx = server_context()
    join = join or _default_join(visibility)
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


def _default_join(visibility: ContentVisibility) -> JoinPolicy:
    """Members-only communities need approval to join, as Lemmy's private communities."""
    return JoinPolicy.APPROVAL if visibility is ContentVisibility.MEMBERS else JoinPolicy.OPEN


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
    if visibility is ContentVisibility.MEMBERS and join is None:
        join = JoinPolicy.APPROVAL  # members-only content needs approval to join
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
    _send_update(community)
    if as_json:
        emit_one(community_row(community), as_json=True)
        return
    say(f"updated {community.account.username}")


def _send_update(community: Community) -> None:
    """Members' servers hear of the change: ``Update{Group}`` from the community."""
    from fediverse_cop.services import moderation_groups

    ctx = server_context()
    run(lambda: moderation_groups.send_group_update(ctx, community))


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


RoleUserArgument = Annotated[
    str,
    typer.Argument(
        help="A local user; for the moderator role also user@domain or an actor URL.",
        show_default=False,
    ),
]


@app.command("add-role")
def add_role(community: str, user: RoleUserArgument, role: RoleArgument) -> None:
    """Make a user a moderator or trainer of a community.

    A moderator joins the community's moderators collection: members' servers get
    the Add, announced by the community (as Lemmy does)."""
    from fediverse_cop.services import moderation_groups

    async def action(fed: Federation, found: Community, by: Account | None) -> None:
        if role is AssignableRole.MODERATOR:
            account = await moderation_groups.find_account(user)
            await moderation_groups.set_moderator(fed, found, account, moderator=True)
            return
        account = await get_local_user(user)
        if await CommunityRole.exists(
            community_id=found.id, account_id=account.id, role=CommunityRoleKind.MODERATOR
        ):
            # A moderator who becomes a trainer leaves the moderators collection.
            await moderation_groups.set_moderator(fed, found, account, moderator=False)
        await communities.add_role(community, user, role.kind)

    _moderate(community, None, action)
    say(f"{user} is now {role.value} of {community}")


@app.command("remove-role")
def remove_role(community: str, user: RoleUserArgument, role: RoleArgument) -> None:
    """Take a moderator or trainer role away (a moderator's removal is announced)."""
    from fediverse_cop.services import moderation_groups

    async def action(fed: Federation, found: Community, by: Account | None) -> None:
        if role is AssignableRole.MODERATOR:
            account = await moderation_groups.find_account(user)
            await moderation_groups.set_moderator(fed, found, account, moderator=False)
            return
        await communities.remove_role(community, user, role.kind)

    _moderate(community, None, action)
    say(f"{user} is no longer {role.value} of {community}")


# -- membership ----------------------------------------------------------------------------------

MEMBER_COLUMNS = ("account", "instance", "role", "since", "new_instance")
NEW_INSTANCE_WARNING = (
    "warning: {instance} is a new server here ({count} member(s), the first since {since}); "
    "its admins can read all of {community}'s content"
)


@app.command("members")
def members(community: str, as_json: JsonOption = False) -> None:
    """List members (accepted follows and staff) with their server, role and joining date.

    Servers whose first member joined in the last 14 days are flagged as new: in a
    members-only community, each such server can read everything posted there."""

    async def load() -> tuple[Community, list[private_groups.MemberRow]]:
        found = await communities.get_local_community(community)
        return found, await private_groups.members(found)

    found, rows = run(load)
    emit([row.to_json() for row in rows], MEMBER_COLUMNS, as_json=as_json)
    if as_json or not private_groups.is_members_only(found):
        return
    counts = private_groups.instances(rows)
    first: dict[str, private_groups.MemberRow] = {}
    for row in rows:
        first.setdefault(row.instance, row)
    for instance, row in first.items():
        if row.new_instance:
            warning = NEW_INSTANCE_WARNING.format(
                instance=instance,
                count=counts[instance],
                since=row.since.date().isoformat(),
                community=community,
            )
            stderr.print(warning, markup=False, highlight=False)


@app.command("requests")
def requests(community: str, as_json: JsonOption = False) -> None:
    """List pending join requests, oldest first; ``new_instance`` marks a server with no
    member yet (approving lets it read a members-only community's content)."""

    async def load() -> list[private_groups.MemberRow]:
        found = await communities.get_local_community(community)
        return await private_groups.requests(found, await groups.pending_members(found))

    rows = run(load)
    emit([row.to_json() for row in rows], MEMBER_COLUMNS, as_json=as_json)


def _answer(community: str, account: str, *, accept: bool) -> tuple[Account, bool, bool]:
    """Approve or refuse a join request as the operator; (member, members-only, new server)."""

    async def body(fed: Federation) -> tuple[Account, bool, bool]:
        found = await communities.get_local_community(community)
        member = await private_groups.find_known_account(account)
        new_server = await private_groups.is_new_instance(found, member)
        if accept:
            await groups.approve_member(fed, found, member)
        else:
            await groups.reject_member(fed, found, member)
        return member, private_groups.is_members_only(found), new_server

    return with_federation(body)


@app.command("approve")
def approve(community: str, account: str) -> None:
    """Approve a join request (sends Accept). ACCOUNT is user@domain or an actor URL."""
    member, members_only, new_server = _answer(community, account, accept=True)
    say(f"approved {member.handle} into {community}")
    if members_only and new_server:
        stderr.print(
            f"warning: {member.handle} is the first member from {member.domain}; "
            f"its admins can now read all of {community}'s content",
            markup=False,
            highlight=False,
        )


@app.command("reject")
def reject(community: str, account: str) -> None:
    """Refuse a join request (sends Reject; the request is removed)."""
    member, _, _ = _answer(community, account, accept=False)
    say(f"rejected {member.handle}'s request to join {community}")


# -- moderation ----------------------------------------------------------------------------------

AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Local moderator to act as (default: the community's owner)."),
]
REPORT_COLUMNS = ("id", "reporter", "target", "posts", "comment", "created_at", "resolved_at")


def _moderate(
    community: str,
    moderator: str | None,
    action: Callable[[Federation, Community, Account | None], Awaitable[dict[str, Any] | None]],
) -> dict[str, Any] | None:
    """Run a moderation action as ``moderator`` (or the owner) with the database open."""
    from fediverse_cop.services.accounts import get_local_user

    async def body(fed: Federation) -> dict[str, Any] | None:
        found = await communities.get_local_community(community)
        by = await get_local_user(moderator) if moderator is not None else None
        return await action(fed, found, by)

    return with_federation(body)


def _sent(activity: dict[str, Any] | None, message: str, *, as_json: bool) -> None:
    if as_json:
        emit_one({"activity": activity}, as_json=True)
        return
    say(message)


@app.command("ban")
def ban(
    community: str,
    account: Annotated[str, typer.Argument(help="user, user@domain or an actor URL.")],
    reason: Annotated[str, typer.Option(help="Why (sent with the ban).")] = "",
    expires_in: Annotated[
        str | None, typer.Option(help="Lift the ban after 30m, 12h, 7d, 2w…; default: never.")
    ] = None,
    remove_data: Annotated[
        bool, typer.Option("--remove-data", help="Also remove every post of theirs in it.")
    ] = False,
    moderator: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ban an account: its membership ends, it cannot rejoin or post (sends Block)."""
    from fediverse_cop.cli.common import parse_duration
    from fediverse_cop.services import moderation_groups
    from fediverse_cop.services.context import utcnow

    duration = parse_duration(expires_in) if expires_in is not None else None

    async def action(fed: Federation, found: Community, by: Account | None) -> dict[str, Any]:
        member = await moderation_groups.find_account(account)
        expires_at = utcnow() + duration if duration is not None else None
        return await moderation_groups.ban(
            fed,
            found,
            member,
            reason=reason,
            expires_at=expires_at,
            remove_data=remove_data,
            by=by,
        )

    activity = _moderate(community, moderator, action)
    _sent(activity, f"banned {account} from {community}", as_json=as_json)


@app.command("unban")
def unban(
    community: str,
    account: Annotated[str, typer.Argument(help="user, user@domain or an actor URL.")],
    moderator: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lift a ban (sends Undo of the Block); the account may join again."""
    from fediverse_cop.services import moderation_groups

    async def action(fed: Federation, found: Community, by: Account | None) -> dict[str, Any]:
        member = await moderation_groups.find_account(account)
        return await moderation_groups.unban(fed, found, member, by=by)

    activity = _moderate(community, moderator, action)
    _sent(activity, f"lifted the ban of {account} from {community}", as_json=as_json)


@app.command("remove-post")
def remove_post(
    community: str,
    post: Annotated[str, typer.Argument(help="The post's id, URI or URL.")],
    reason: Annotated[str, typer.Option(help="Why (sent with the removal).")] = "",
    restore: Annotated[bool, typer.Option("--restore", help="Restore a removed post.")] = False,
    moderator: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a post or comment from a community (sends Delete), or restore it."""
    from fediverse_cop.services import moderation_groups

    async def action(fed: Federation, found: Community, by: Account | None) -> dict[str, Any]:
        status = await moderation_groups.find_post(post)
        if restore:
            return await moderation_groups.restore_post(fed, found, status, by=by)
        return await moderation_groups.remove_post(fed, found, status, reason=reason, by=by)

    activity = _moderate(community, moderator, action)
    done = "restored" if restore else "removed"
    _sent(activity, f"{done} {post} in {community}", as_json=as_json)


PostArgument = Annotated[str, typer.Argument(help="The thread's first post: id, URI or URL.")]


def _thread_action(
    community: str,
    post: str,
    moderator: str | None,
    change: Callable[[Federation, Community, Status, Account | None], Awaitable[dict[str, Any]]],
) -> dict[str, Any] | None:
    """Run ``change`` on a post of ``community`` as a moderator (see :func:`_moderate`)."""
    from fediverse_cop.services import moderation_groups

    async def action(fed: Federation, found: Community, by: Account | None) -> dict[str, Any]:
        return await change(fed, found, await moderation_groups.find_post(post), by)

    return _moderate(community, moderator, action)


@app.command("lock")
def lock(
    community: str,
    post: PostArgument,
    reason: Annotated[str, typer.Option(help="Why (sent with the lock).")] = "",
    moderator: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lock a thread: no new replies, here or from other servers (sends Lock)."""
    from fediverse_cop.services import moderation_groups

    activity = _thread_action(
        community,
        post,
        moderator,
        lambda fed, found, status, by: moderation_groups.lock(
            fed, found, status, locked=True, reason=reason, by=by
        ),
    )
    _sent(activity, f"locked {post} in {community}", as_json=as_json)


@app.command("unlock")
def unlock(
    community: str,
    post: PostArgument,
    moderator: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reopen a locked thread (sends Undo of the Lock)."""
    from fediverse_cop.services import moderation_groups

    activity = _thread_action(
        community,
        post,
        moderator,
        lambda fed, found, status, by: moderation_groups.lock(
            fed, found, status, locked=False, by=by
        ),
    )
    _sent(activity, f"unlocked {post} in {community}", as_json=as_json)


@app.command("pin")
def pin(
    community: str,
    post: PostArgument,
    moderator: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pin a thread to the community (sends Add to its featured collection)."""
    from fediverse_cop.services import moderation_groups

    activity = _thread_action(
        community,
        post,
        moderator,
        lambda fed, found, status, by: moderation_groups.pin(
            fed, found, status, pinned=True, by=by
        ),
    )
    _sent(activity, f"pinned {post} in {community}", as_json=as_json)


@app.command("unpin")
def unpin(
    community: str,
    post: PostArgument,
    moderator: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Unpin a thread (sends Remove from the community's featured collection)."""
    from fediverse_cop.services import moderation_groups

    activity = _thread_action(
        community,
        post,
        moderator,
        lambda fed, found, status, by: moderation_groups.pin(
            fed, found, status, pinned=False, by=by
        ),
    )
    _sent(activity, f"unpinned {post} in {community}", as_json=as_json)


@app.command("reports")
def reports(
    community: str,
    include_resolved: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Reports to a community's moderators, oldest first (open ones unless --all)."""
    from fediverse_cop.services import moderation_groups

    async def load() -> list[dict[str, Any]]:
        found = await communities.get_local_community(community)
        rows = await moderation_groups.community_reports(found, include_resolved=include_resolved)
        return [
            {
                "id": str(report.id),
                "reporter": report.reporter.handle,
                "target": report.target.handle,
                "posts": list(report.status_uris),
                "comment": report.comment,
                "uri": report.uri,
                "created_at": report.created_at,
                "resolved_at": report.resolved_at,
                "resolved_by": report.resolved_by.handle if report.resolved_by else None,
            }
            for report in rows
        ]

    emit(run(load), REPORT_COLUMNS, as_json=as_json)


@app.command("resolve")
def resolve(
    report_id: Annotated[str, typer.Argument(help="The report's id (see `community reports`).")],
    moderator: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark a community report resolved (sends Resolve to the servers that moderate it)."""
    from fediverse_cop.models import Report
    from fediverse_cop.services import moderation_groups
    from fediverse_cop.services.errors import NotFound

    async def community_of_report() -> str:
        report = (
            await Report.get_or_none(id=int(report_id)).select_related("community")
            if report_id.isascii() and report_id.isdigit()
            else None
        )
        if report is None or report.community is None or not report.community.local:
            raise NotFound(f"no community report {report_id}")
        return report.community.username

    handle = run(community_of_report)

    async def action(
        fed: Federation, found: Community, by: Account | None
    ) -> dict[str, Any] | None:
        report = await Report.get(id=int(report_id))
        return await moderation_groups.resolve_report(fed, report, by=by)

    activity = _moderate(handle, moderator, action)
    _sent(activity, f"resolved report {report_id}", as_json=as_json)


# -- resources -----------------------------------------------------------------------------------

T = TypeVar("T")
RESOURCE_COLUMNS = ("id", "title", "files", "link", "licence", "tags", "added_by", "created_at")


def resource_row(resource: Resource) -> dict[str, Any]:
    status = resource.status
    added_by = resource.added_by.username if resource.added_by is not None else None
    return {
        "id": str(resource.id),
        "title": resource.title,
        "description": resource.description,
        "files": [str(item.get("url")) for item in status.attachments if item.get("url")],
        "link": resource.link,
        "licence": resource.licence,
        "tags": list(resource.tags),
        "added_by": added_by,
        "post": status.uri,
        "created_at": resource.created_at,
    }


async def _library_of(fed: Federation, community: str, *, refresh: bool) -> Account:
    """The Group account named: a local handle, or ``name@host`` of a remote community
    (resolved, and its library read, when unknown or with ``refresh``)."""
    from fediverse_cop.services import remote

    name, _, host = community.lstrip("@").partition("@")
    if not host or host.lower() == fed.ctx.domain.lower():
        return (await communities.get_local_community(name)).account
    known = await Account.get_or_none(acct_key=acct_key(name, host), actor_type=ActorType.GROUP)
    if known is not None and not refresh:
        return known
    group = await remote.resolve_handle(fed, f"{name}@{host}")
    if group.actor_type is not ActorType.GROUP:
        raise Invalid(f"{community} is not a community")
    await resources.fetch_remote_library(fed, group)
    return group


@app.command("resources")
def list_resources(
    community: Annotated[str, typer.Argument(help="A local handle, or name@host.")],
    refresh: Annotated[bool, typer.Option(help="Read a remote community's library again.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List a community's resources (a remote one's are fetched when first asked for)."""

    async def body(fed: Federation) -> list[dict[str, Any]]:
        group = await _library_of(fed, community, refresh=refresh)
        listed = await resources.list_resources(group)
        await Resource.fetch_for_list(listed, "added_by")
        return [resource_row(r) for r in listed]

    emit(with_federation(body), RESOURCE_COLUMNS, as_json=as_json)


@app.command("add-resource")
def add_resource(
    community: str,
    trainer: Annotated[
        str, typer.Option("--as", help="The local trainer or moderator who adds it.")
    ],
    title: Annotated[str, typer.Option(help="The resource's title.")],
    file: Annotated[
        list[Path] | None, typer.Option(help="A file to share (repeatable).", exists=True)
    ] = None,
    link: Annotated[str | None, typer.Option(help="A link (http or https URL).")] = None,
    description: Annotated[str, typer.Option(help="What it is and what it is for.")] = "",
    licence: Annotated[str, typer.Option(help="Its licence, e.g. CC BY-SA 4.0.")] = "",
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a resource to a community's library: a post by the community, pinned, announced."""
    draft = ResourceDraft(
        title=title,
        description=description,
        link=link,
        licence=licence,
        tags=tuple(tag or ()),
        files=tuple(file or ()),
    )

    async def body(fed: Federation) -> dict[str, Any]:
        found = await communities.get_local_community(community)
        by = await get_local_user(trainer)
        added = await resources.add_resource(fed, found, by, draft)
        await added.fetch_related("status", "added_by")
        return resource_row(added)

    row = with_federation(body)
    if as_json:
        emit_one(row, as_json=True)
        return
    say(f"added resource {row['id']} to {community}: {row['post']}")


@app.command("remove-resource")
def remove_resource(
    community: str,
    resource: Annotated[str, typer.Argument(help="The resource's id (see `resources`).")],
    by: Annotated[
        str | None,
        typer.Option("--as", help="Local trainer or moderator acting (default: the operator)."),
    ] = None,
    yes: YesOption = False,
) -> None:
    """Remove a resource: Remove from featured, and Delete of its post."""
    confirm(f"Remove resource {resource} from {community}?", yes)

    async def body(fed: Federation) -> str:
        found = await communities.get_local_community(community)
        actor = await get_local_user(by) if by is not None else None
        item = await resources.get_resource(found, resource)
        await resources.remove_resource(fed, found, actor, item)
        return item.title

    title = with_federation(body)
    say(f"removed {title!r} from {community}")
