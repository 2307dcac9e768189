"""Local communities (``Group`` actors): creation, policy, archiving and roles."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from fediverse_cop.models import (
    Account,
    ActorType,
    Community,
    CommunityRole,
    CommunityRoleKind,
    ContentVisibility,
    JoinPolicy,
    PostingPolicy,
    acct_key,
)
from fediverse_cop.services.accounts import create_local_actor, get_local_user, validate_handle
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.errors import Invalid, NotFound

# Roles the CLI grants and takes away; owner is given at creation, member by joining.
ASSIGNABLE_ROLES = (CommunityRoleKind.MODERATOR, CommunityRoleKind.TRAINER)


@dataclass(frozen=True, slots=True)
class CommunityPolicy:
    join: JoinPolicy = JoinPolicy.OPEN
    posting: PostingPolicy = PostingPolicy.MEMBERS
    visibility: ContentVisibility = ContentVisibility.PUBLIC

    def check(self) -> None:
        # Members-only content needs approval to join, as Lemmy's private communities.
        if self.visibility is ContentVisibility.MEMBERS and self.join is JoinPolicy.OPEN:
            raise Invalid("a members-only community must use --join approval")


async def create_community(
    ctx: ServerContext,
    handle: str,
    *,
    name: str,
    description: str = "",
    policy: CommunityPolicy = CommunityPolicy(),
    owner: str,
) -> Community:
    validate_handle(handle)
    policy.check()
    owner_account = await get_local_user(owner)
    async with in_transaction():
        account = await create_local_actor(
            ctx,
            handle,
            ActorType.GROUP,
            display_name=name or handle,
            note=description,
            manually_approves_followers=policy.join is JoinPolicy.APPROVAL,
        )
        community = await Community.create(
            account=account,
            join_policy=policy.join,
            posting_policy=policy.posting,
            visibility=policy.visibility,
        )
        await CommunityRole.create(
            community=community, account=owner_account, role=CommunityRoleKind.OWNER
        )
    return community


async def get_local_community(handle: str) -> Community:
    community = (
        await Community.filter(account__acct_key=acct_key(handle, None), account__local=True)
        .select_related("account")
        .first()
    )
    if community is None:
        raise NotFound(f"no local community {handle!r}")
    return community


async def list_communities(*, include_archived: bool = True) -> list[Community]:
    query = Community.filter(account__local=True).select_related("account")
    if not include_archived:
        query = query.filter(archived_at__isnull=True)
    return await query.order_by("id")


async def update_community(
    handle: str,
    *,
    name: str | None = None,
    description: str | None = None,
    join: JoinPolicy | None = None,
    posting: PostingPolicy | None = None,
    visibility: ContentVisibility | None = None,
) -> Community:
    community = await get_local_community(handle)
    account: Account = community.account
    policy = CommunityPolicy(
        join=join or community.join_policy,
        posting=posting or community.posting_policy,
        visibility=visibility or community.visibility,
    )
    policy.check()
    community.join_policy = policy.join
    community.posting_policy = policy.posting
    community.visibility = policy.visibility
    if name is not None:
        account.display_name = name
    if description is not None:
        account.note = description
    account.manually_approves_followers = policy.join is JoinPolicy.APPROVAL
    async with in_transaction():
        await account.save()
        await community.save()
    return community


async def archive_community(handle: str) -> Community:
    community = await get_local_community(handle)
    if community.archived_at is None:
        community.archived_at = utcnow()
        await community.save(update_fields=["archived_at", "updated_at"])
    return community


async def community_roles(community: Community) -> list[CommunityRole]:
    return await CommunityRole.filter(community=community).select_related("account").order_by("id")


async def add_role(handle: str, username: str, role: CommunityRoleKind) -> CommunityRole:
    if role not in ASSIGNABLE_ROLES:
        raise Invalid(f"role must be moderator or trainer, not {role.value}")
    community = await get_local_community(handle)
    account = await get_local_user(username)
    existing = await CommunityRole.get_or_none(community=community, account=account)
    if existing is not None:
        if existing.role is CommunityRoleKind.OWNER:
            raise Invalid(f"{username} owns {handle}; the owner's role cannot be changed")
        if existing.role is CommunityRoleKind.BANNED:
            raise Invalid(f"{username} is banned from {handle}; lift the ban first")
        existing.role = role
        await existing.save(update_fields=["role"])
        return existing
    return await CommunityRole.create(community=community, account=account, role=role)


async def remove_role(handle: str, username: str, role: CommunityRoleKind) -> None:
    if role not in ASSIGNABLE_ROLES:
        raise Invalid(f"role must be moderator or trainer, not {role.value}")
    community = await get_local_community(handle)
    account = await get_local_user(username)
    deleted = await CommunityRole.filter(community=community, account=account, role=role).delete()
    if not deleted:
        raise NotFound(f"{username} is not a {role.value} of {handle}")
