"""Which statuses a viewer may see, and the timelines built from them, as SQL filters.

Every list of statuses (timelines, an account's posts, a thread, bookmarks) is one
query: the visibility policy of :func:`fediverse_cop.services.visibility.can_view`
written as a filter, so a page costs the same whatever it holds. The filters:

- deleted posts, boosts of deleted posts and posts of suspended accounts: nobody;
- public and unlisted posts: everyone;
- followers-only posts: their author, accepted followers and mentioned accounts;
- direct posts: their author and mentioned accounts.

Timelines narrow that down further: ``home`` (what the viewer follows, joined
communities, what is addressed to them), ``public``, ``tag`` and an account's
statuses (for a community: the posts in it and its boosts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from fediverse_cop.models import (
    Account,
    AccountBlock,
    ActorType,
    Follow,
    FollowState,
    MediaAttachment,
    Status,
    StatusMention,
    StatusPin,
    StatusTag,
    Visibility,
)

OPEN = (Visibility.PUBLIC, Visibility.UNLISTED)
# Bounds of a thread (GET /api/v1/statuses/:id/context).
MAX_ANCESTORS = 40
MAX_DESCENDANTS = 200
MAX_DESCENDANT_DEPTH = 20


def _followed(viewer: Account) -> Subquery:
    return Subquery(
        Follow.filter(account_id=viewer.id, state=FollowState.ACCEPTED).values("target_id")
    )


def _mentioning(viewer: Account) -> Subquery:
    return Subquery(StatusMention.filter(account_id=viewer.id).values("status_id"))


def alive() -> Q:
    """Not deleted, not a boost of a deleted post, not by a suspended account."""
    return (
        Q(deleted_at=None)
        & (Q(reblog_of_id=None) | Q(reblog_of__deleted_at=None))
        & ~Q(account_id__in=Subquery(Account.filter(suspended_at__not_isnull=True).values("id")))
    )


def visible_to(viewer: Account | None) -> Q:
    """The statuses ``viewer`` (None: anonymous) may see."""
    if viewer is None:
        return alive() & Q(visibility__in=OPEN)
    return alive() & (
        Q(visibility__in=OPEN)
        | Q(account_id=viewer.id)
        | Q(id__in=_mentioning(viewer))
        | Q(visibility=Visibility.PRIVATE, account_id__in=_followed(viewer))
    )


def not_blocked(viewer: Account | None) -> Q:
    """Leaves out the posts of accounts the viewer blocks (nothing for anonymous)."""
    if viewer is None:
        return Q()
    blocked = AccountBlock.filter(account_id=viewer.id).values("target_id")
    return ~Q(account_id__in=Subquery(blocked))


def with_media() -> Q:
    """Posts with attachments (local uploads are mirrored in ``Status.attachments``)."""
    return ~Q(attachments=[]) | Q(
        id__in=Subquery(MediaAttachment.filter(status_id__not_isnull=True).values("status_id"))
    )


def visible(viewer: Account | None) -> QuerySet[Status]:
    return Status.filter(visible_to(viewer))


def home(viewer: Account) -> QuerySet[Status]:
    """The viewer's own posts and boosts, those of accounts they follow, posts addressed to
    them, and posts in the communities they joined.

    A joined community's boost of a public post in it is left out: the post itself is
    there already. Its boosts of other posts, and of posts only members see, stay.
    """
    joined = Subquery(
        Account.filter(id__in=_followed(viewer), actor_type=ActorType.GROUP).values("uri")
    )
    return Status.filter(
        visible_to(viewer),
        not_blocked(viewer),
        Q(account_id=viewer.id)
        | Q(account_id__in=_followed(viewer))
        | Q(id__in=_mentioning(viewer))
        | Q(audience__in=joined),
        Q(reblog_of_id=None)
        | Q(reblog_of__audience=None)
        | ~Q(reblog_of__audience__in=joined, reblog_of__visibility__in=OPEN),
    )


@dataclass(frozen=True, slots=True)
class PublicFilter:
    local: bool = False
    remote: bool = False
    only_media: bool = False


def _public(viewer: Account | None, options: PublicFilter) -> QuerySet[Status]:
    query = Status.filter(
        alive(), not_blocked(viewer), visibility=Visibility.PUBLIC, reblog_of_id=None
    )
    if options.local:
        query = query.filter(local=True)
    elif options.remote:
        query = query.filter(local=False)
    if options.only_media:
        query = query.filter(with_media())
    return query


def public(viewer: Account | None, options: PublicFilter) -> QuerySet[Status]:
    """Public posts (no boosts), local or remote or both."""
    return _public(viewer, options)


def tagged(
    viewer: Account | None,
    options: PublicFilter,
    *,
    any_of: Sequence[str],
    all_of: Sequence[str] = (),
    none_of: Sequence[str] = (),
) -> QuerySet[Status]:
    """Public posts with any of ``any_of``, all of ``all_of`` and none of ``none_of``."""
    query = _public(viewer, options).filter(id__in=_with_tags(any_of))
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
    rows = {s.id: s for s in await visible(viewer).filter(id__in=chain)}
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
    rows_by_id = {s.id: s for s in await visible(viewer).filter(id__in=order)}
    return [rows_by_id[i] for i in order if i in rows_by_id]
