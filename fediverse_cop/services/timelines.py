"""Which statuses a viewer may see, and the timelines built from them, as SQL filters.

Every list of statuses (timelines, an account's posts, a thread, bookmarks) is one
query: the visibility policy of :func:`fediverse_cop.services.visibility.can_view`
written as a filter, so a page costs the same whatever it holds. The filters:

- deleted posts, boosts of deleted posts and posts of suspended accounts: nobody;
- posts removed by a community moderator (``removed_at``) and boosts of them: nobody;
- public and unlisted posts: everyone;
- followers-only posts: their author, accepted followers and mentioned accounts;
- direct posts: their author and mentioned accounts;
- followers-only and direct posts in a community (``audience``): also its members
  (accepted followers of the group, and the staff of a local community).

Timelines narrow that down further: ``home`` (what the viewer follows, joined
communities, what is addressed to them), ``public``, ``tag`` and an account's
statuses (for a community: the posts in it and its boosts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.queryset import QuerySet

from fediverse_cop import rawsql
from fediverse_cop.models import (
    Account,
    AccountBlock,
    ActorType,
    CommunityRole,
    Filter,
    Follow,
    FollowState,
    ListAccount,
    MediaAttachment,
    Mute,
    Status,
    StatusMention,
    StatusPin,
    StatusTag,
    TagFollow,
    UserDomainBlock,
    Visibility,
)
from fediverse_cop.models import List as UserList
from fediverse_cop.services import filters, mutes
from fediverse_cop.services.visibility import COMMUNITY_STAFF

OPEN = (Visibility.PUBLIC, Visibility.UNLISTED)
# Bounds of a thread (GET /api/v1/statuses/:id/context).
MAX_ANCESTORS = 40
MAX_DESCENDANTS = 200
MAX_DESCENDANT_DEPTH = 20


@dataclass(frozen=True, slots=True)
class ViewerFacts:
    """Which of the viewer's own settings can change a timeline (all, when unknown).

    Most people block, mute and list nobody: leaving out the conditions that cannot
    apply makes the timeline query smaller to build, plan and run.
    """

    blocks: bool = True
    mutes: bool = True
    # Mutes with an end: the query then compares with the clock.
    timed_mutes: bool = True
    domain_blocks: bool = True
    exclusive_lists: bool = True
    followed_tags: bool = True
    staff_roles: bool = True
    filters: bool = True


EVERYTHING = ViewerFacts()

_FACT_TABLES = {
    "blocks": (AccountBlock, ""),
    "mutes": (Mute, ""),
    "timed_mutes": (Mute, ' AND x."expires_at" IS NOT NULL'),
    "domain_blocks": (UserDomainBlock, ""),
    "exclusive_lists": (UserList, ' AND x."exclusive"'),
    "followed_tags": (TagFollow, ""),
    "staff_roles": (CommunityRole, ""),
    "filters": (Filter, ""),
}


async def viewer_facts(viewer: Account | None) -> ViewerFacts:
    """The viewer's :class:`ViewerFacts`, in one query."""
    if viewer is None:
        return EVERYTHING
    columns = ", ".join(
        f'EXISTS (SELECT 1 FROM "{model._meta.db_table}" x'  # noqa: S608 (names, ours)
        f' WHERE x."account_id" = :viewer{condition}) AS {name}'
        for name, (model, condition) in _FACT_TABLES.items()
    )
    rows = await rawsql.fetch(f"SELECT {columns}", viewer=viewer.id)
    return ViewerFacts(**{name: rawsql.truth(value) for name, value in rows[0].items()})


def _followed(viewer: Account) -> Subquery:
    return Subquery(
        Follow.filter(account_id=viewer.id, state=FollowState.ACCEPTED).values("target_id")
    )


def _mentioning(viewer: Account) -> Subquery:
    return Subquery(StatusMention.filter(account_id=viewer.id).values("status_id"))


def _member_of(viewer: Account, facts: ViewerFacts) -> Subquery:
    """The URIs of the groups ``viewer`` is a member of: followed (accepted), or a local
    community where they are owner, moderator or trainer."""
    groups = Q(id__in=_followed(viewer))
    if facts.staff_roles:
        staff = CommunityRole.filter(account_id=viewer.id, role__in=COMMUNITY_STAFF)
        groups = groups | Q(id__in=Subquery(staff.values("community__account_id")))
    return Subquery(Account.filter(groups, actor_type=ActorType.GROUP).values("uri"))


def alive() -> Q:
    """Not deleted, not a boost of a deleted post, not by a suspended account; not removed
    by a community moderator, nor a boost of a removed post."""
    return (
        Q(deleted_at=None, removed_at=None)
        & (Q(reblog_of_id=None) | Q(reblog_of__deleted_at=None, reblog_of__removed_at=None))
        & ~Q(account_id__in=Subquery(Account.filter(suspended_at__not_isnull=True).values("id")))
    )


def visible_to(viewer: Account | None, facts: ViewerFacts = EVERYTHING) -> Q:
    """The statuses ``viewer`` (None: anonymous) may see."""
    if viewer is None:
        return alive() & Q(visibility__in=OPEN)
    return alive() & (
        Q(visibility__in=OPEN)
        | Q(account_id=viewer.id)
        | Q(id__in=_mentioning(viewer))
        | Q(visibility=Visibility.PRIVATE, account_id__in=_followed(viewer))
        | Q(
            visibility__in=(Visibility.PRIVATE, Visibility.DIRECT),
            audience__in=_member_of(viewer, facts),
        )
    )


def not_blocked(viewer: Account | None, facts: ViewerFacts = EVERYTHING) -> Q:
    """Leaves out the posts of accounts the viewer blocks (nothing for anonymous)."""
    if viewer is None or not facts.blocks:
        return Q()
    blocked = AccountBlock.filter(account_id=viewer.id).values("target_id")
    return ~Q(account_id__in=Subquery(blocked))


def not_muted(viewer: Account | None, facts: ViewerFacts = EVERYTHING) -> Q:
    """Leaves out the posts and boosts of accounts the viewer mutes, and boosts of their posts."""
    if viewer is None or not facts.mutes:
        return Q()
    muted = mutes.muted_ids(viewer.id, timed=facts.timed_mutes)
    return ~Q(account_id__in=muted) & (
        Q(reblog_of_id=None)
        | ~Q(reblog_of_id__in=Subquery(Status.filter(account_id__in=muted).values("id")))
    )


def not_domain_blocked(
    viewer: Account | None, *, keep_followed: bool = False, facts: ViewerFacts = EVERYTHING
) -> Q:
    """Leaves out posts from the domains the viewer blocks, and boosts of them; with
    ``keep_followed``, not those of accounts the viewer still follows there.

    The author's domain is looked up among the viewer's blocked domains (an index
    lookup per row), rather than the accounts of those domains gathered first: asked
    for many viewers at once (the streams), that would scan the accounts per viewer.
    """
    if viewer is None or not facts.domain_blocks:
        return Q()
    blocked = Subquery(UserDomainBlock.filter(account_id=viewer.id).values("domain"))
    own = Q(account__domain=None) | ~Q(account__domain__in=blocked)
    boosted = (
        Q(reblog_of_id=None)
        | Q(reblog_of__account__domain=None)
        | ~Q(reblog_of__account__domain__in=blocked)
    )
    if keep_followed:
        own = own | Q(account_id__in=_followed(viewer))
        boosted = boosted | Q(
            reblog_of_id__in=Subquery(Status.filter(account_id__in=_followed(viewer)).values("id"))
        )
    return own & boosted


def unwanted_left_out(
    viewer: Account | None, *, keep_followed: bool = False, facts: ViewerFacts = EVERYTHING
) -> Q:
    """Blocked and muted accounts and blocked domains left out."""
    return (
        not_blocked(viewer, facts)
        & not_muted(viewer, facts)
        & not_domain_blocked(viewer, keep_followed=keep_followed, facts=facts)
    )


def with_media() -> Q:
    """Posts with attachments (local uploads are mirrored in ``Status.attachments``)."""
    return ~Q(attachments=[]) | Q(
        id__in=Subquery(MediaAttachment.filter(status_id__not_isnull=True).values("status_id"))
    )


def visible(viewer: Account | None) -> QuerySet[Status]:
    return Status.filter(visible_to(viewer))


def home(viewer: Account, facts: ViewerFacts = EVERYTHING) -> QuerySet[Status]:
    """The viewer's own posts and boosts, those of accounts they follow, posts addressed to
    them, posts in the communities they joined, and public posts with the hashtags they
    follow.

    A joined community's boost of a public post in it is left out: the post itself is
    there already. Its boosts of other posts, and of posts only members see, stay.
    Muted accounts and blocked domains (but for accounts still followed there) are left
    out, and so are the members of the viewer's exclusive lists (their posts are in the
    list), unless a post is addressed to the viewer.
    """
    joined = Subquery(
        Account.filter(id__in=_followed(viewer), actor_type=ActorType.GROUP).values("uri")
    )
    wanted = (
        Q(account_id=viewer.id)
        | Q(account_id__in=_followed(viewer))
        | Q(id__in=_mentioning(viewer))
        | Q(audience__in=joined)
    )
    if facts.followed_tags:
        followed_tags = Subquery(TagFollow.filter(account_id=viewer.id).values("tag_id"))
        wanted = wanted | Q(
            visibility=Visibility.PUBLIC,
            reblog_of_id=None,
            id__in=Subquery(StatusTag.filter(tag_id__in=followed_tags).values("status_id")),
        )
    query = Status.filter(
        visible_to(viewer, facts),
        unwanted_left_out(viewer, keep_followed=True, facts=facts),
        wanted,
        Q(reblog_of_id=None)
        | Q(reblog_of__audience=None)
        | ~Q(reblog_of__audience__in=joined, reblog_of__visibility__in=OPEN),
    )
    if facts.exclusive_lists:
        exclusive_lists = UserList.filter(account_id=viewer.id, exclusive=True).values("id")
        exclusive = Subquery(
            ListAccount.filter(user_list_id__in=Subquery(exclusive_lists)).values("account_id")
        )
        query = query.filter(~Q(account_id__in=exclusive) | Q(id__in=_mentioning(viewer)))
    return query


def list_timeline(viewer: Account, user_list: UserList) -> QuerySet[Status]:
    """The posts and boosts of a list's members the viewer still follows, with replies as
    the list's ``replies_policy`` says: to the viewer and self-replies always; to list
    members (``list``), to any account the viewer follows (``followed``), or no others
    (``none``)."""
    members = Subquery(
        ListAccount.filter(user_list_id=user_list.id, account_id__in=_followed(viewer)).values(
            "account_id"
        )
    )
    # A self-reply: the parent's author is the row's own (the outer table by its name).
    replies = Q(in_reply_to_uri=None) | Q(
        in_reply_to__account_id=RawSQL(f'"{Status._meta.db_table}"."account_id"')
    )
    answered: Subquery | None = None
    if user_list.replies_policy == "list":
        answered = members
    elif user_list.replies_policy == "followed":
        answered = _followed(viewer)
    parents = Q(account_id=viewer.id)
    if answered is not None:
        parents = parents | Q(account_id__in=answered)
    replies = replies | Q(in_reply_to_id__in=Subquery(Status.filter(parents).values("id")))
    return Status.filter(
        visible_to(viewer),
        unwanted_left_out(viewer, keep_followed=True),
        replies,
        account_id__in=members,
    )


def community_timeline(viewer: Account, community: Account) -> QuerySet[Status]:
    """A joined community as a list: its statuses (:func:`of_account`) less muted and
    blocked accounts and blocked domains."""
    return of_account(viewer, community, AccountFilter()).filter(unwanted_left_out(viewer))


@dataclass(frozen=True, slots=True)
class PublicFilter:
    local: bool = False
    remote: bool = False
    only_media: bool = False


def _public(viewer: Account | None, options: PublicFilter, facts: ViewerFacts) -> QuerySet[Status]:
    query = Status.filter(
        alive(),
        unwanted_left_out(viewer, facts=facts),
        visibility=Visibility.PUBLIC,
        reblog_of_id=None,
    )
    if options.local:
        query = query.filter(local=True)
    elif options.remote:
        query = query.filter(local=False)
    if options.only_media:
        query = query.filter(with_media())
    return query


def public(
    viewer: Account | None, options: PublicFilter, facts: ViewerFacts = EVERYTHING
) -> QuerySet[Status]:
    """Public posts (no boosts), local or remote or both."""
    return _public(viewer, options, facts)


def tagged(
    viewer: Account | None,
    options: PublicFilter,
    *,
    any_of: Sequence[str],
    all_of: Sequence[str] = (),
    none_of: Sequence[str] = (),
    facts: ViewerFacts = EVERYTHING,
) -> QuerySet[Status]:
    """Public posts with any of ``any_of``, all of ``all_of`` and none of ``none_of``."""
    query = _public(viewer, options, facts).filter(id__in=_with_tags(any_of))
    for name in all_of:
        query = query.filter(id__in=_with_tags([name]))
    if none_of:
        query = query.filter(~Q(id__in=_with_tags(none_of)))
    return query


def _with_tags(names: Sequence[str]) -> Subquery:
    wanted = [name.lower().lstrip("#") for name in names]
    return Subquery(StatusTag.filter(tag__name__in=wanted).values("status_id"))


@dataclass(frozen=True, slots=True)
class AccountFilter:
    pinned: bool = False
    only_media: bool = False
    exclude_replies: bool = False
    exclude_reblogs: bool = False
    tagged: str | None = None


def of_account(
    viewer: Account | None, account: Account, options: AccountFilter
) -> QuerySet[Status]:
    """An account's statuses as ``viewer`` may see them. A community's are the posts in it
    (``audience``) and its boosts of other posts."""
    if account.actor_type is ActorType.GROUP:
        # Its boosts of posts in it are left out: the posts are there already.
        in_community = Subquery(Status.filter(audience=account.uri, reblog_of_id=None).values("id"))
        own = (
            Q(audience=account.uri, reblog_of_id=None)
            | Q(account_id=account.id, reblog_of_id=None)
            | (
                Q(account_id=account.id)
                & Q(reblog_of_id__not_isnull=True)
                & ~Q(reblog_of_id__in=in_community)
            )
        )
    else:
        own = Q(account_id=account.id)
    query = Status.filter(visible_to(viewer), own)
    if options.pinned:
        query = query.filter(
            id__in=Subquery(StatusPin.filter(account_id=account.id).values("status_id"))
        )
    if options.only_media:
        query = query.filter(with_media())
    if options.exclude_reblogs:
        query = query.filter(reblog_of_id=None)
    if options.exclude_replies:
        # Replies to oneself (threads) stay, as on Mastodon.
        query = query.filter(
            Q(in_reply_to_uri=None)
            | Q(in_reply_to_id__in=Subquery(Status.filter(account_id=account.id).values("id")))
        )
    if options.tagged:
        query = query.filter(id__in=_with_tags([options.tagged]))
    return query


async def visible_ids(viewer: Account | None, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` the viewer may see (one query)."""
    if not ids:
        return set()
    found: list[Any] = await visible(viewer).filter(id__in=list(ids)).values_list("id", flat=True)
    return {int(value) for value in found}


async def get_visible(viewer: Account | None, status_id: int) -> Status | None:
    return await visible(viewer).filter(id=status_id).first()


async def ancestors(viewer: Account | None, status: Status) -> list[Status]:
    """The posts ``status`` replies to, oldest first, that the viewer may see (bounded)."""
    chain: list[int] = []
    parent = status.in_reply_to_id  # type: ignore[attr-defined]
    seen = {status.id}
    while parent is not None and parent not in seen and len(chain) < MAX_ANCESTORS:
        seen.add(parent)
        chain.append(int(parent))
        above = await Status.filter(id=parent).limit(1).values_list("in_reply_to_id", flat=True)
        parent = above[0] if above else None
    if not chain:
        return []
    found = await visible(viewer).filter(
        unwanted_left_out(viewer, keep_followed=True), id__in=chain
    )
    rows = {s.id: s for s in await filters.without_hidden(viewer, found, "thread")}
    return [rows[i] for i in reversed(chain) if i in rows]


async def descendants(viewer: Account | None, status: Status) -> list[Status]:
    """Replies to ``status`` and their replies the viewer may see, in thread order (bounded)."""
    children: dict[int, list[int]] = {}
    level = [status.id]
    found = 0
    seen = {status.id}
    for _ in range(MAX_DESCENDANT_DEPTH):
        if not level or found >= MAX_DESCENDANTS:
            break
        rows = await (
            Status.filter(in_reply_to_id__in=level)
            .order_by("id")
            .limit(MAX_DESCENDANTS - found)
            .values_list("id", "in_reply_to_id")
        )
        level = []
        for child, parent in rows:
            if child in seen:
                continue
            seen.add(child)
            children.setdefault(int(parent), []).append(int(child))
            level.append(int(child))
        found += len(level)
    order: list[int] = []

    def walk(node: int) -> None:
        for child in children.get(node, []):
            order.append(child)
            walk(child)

    walk(status.id)
    if not order:
        return []
    below = await visible(viewer).filter(
        unwanted_left_out(viewer, keep_followed=True), id__in=order
    )
    rows_by_id = {s.id: s for s in await filters.without_hidden(viewer, below, "thread")}
    return [rows_by_id[i] for i in order if i in rows_by_id]
