"""Lists: a user's own lists of accounts they follow, and their joined communities as lists.

A user's lists (``models.List``) hold accounts the user follows; the list's
timeline is those accounts' posts and boosts, with replies as ``replies_policy``
says (``list``: to list members, ``followed``: to accounts the user follows,
``none``: no replies but to the user and self-replies). An ``exclusive`` list's
members are left out of the home timeline.

Every community the user has joined (an accepted follow of a group, or a staff
role in a local community) is offered as a read-only list too, so every app gets
a per-community timeline. Its id is the community's account id. List ids and
account ids come from the same time-ordered id generator; a new list never takes
an id that is an account's (:func:`create_list` checks), so the two cannot be
confused. A community list cannot be renamed, deleted or given members.

:class:`ListTimelines` answers the streaming hub's questions about lists (its
``ListSource``): whose list an id is, and whether a post belongs to a list's
timeline, decided by the timeline's own query (:func:`timeline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from fediverse_cop.ids import new_id
from fediverse_cop.models import (
    Account,
    ActorType,
    CommunityRole,
    Follow,
    FollowState,
    List,
    ListAccount,
    Status,
)
from fediverse_cop.services import timelines
from fediverse_cop.services.errors import Invalid, NotFound, ServiceError
from fediverse_cop.services.visibility import COMMUNITY_STAFF

REPLIES_POLICIES: Final = ("followed", "list", "none")
MAX_TITLE: Final = 255
MAX_LISTS: Final = 50
MAX_MEMBERS: Final = 500
RECORD_NOT_FOUND: Final = "Record not found"
COMMUNITY_LIST: Final = "this list is a community and cannot be changed"


class ReadOnlyList(ServiceError):
    status = 403


@dataclass(frozen=True, slots=True)
class ListView:
    """A list as the API shows it: a user's own list, or a joined community."""

    id: int
    title: str
    replies_policy: str
    exclusive: bool
    row: List | None = None
    community: Account | None = None

    @classmethod
    def of(cls, row: List) -> ListView:
        return cls(row.id, row.title, row.replies_policy, row.exclusive, row=row)

    @classmethod
    def of_community(cls, group: Account) -> ListView:
        return cls(group.id, group.display_name or group.username, "list", False, community=group)

    def own(self) -> List:
        """The user's own list row; a community list cannot be changed."""
        if self.row is None:
            raise ReadOnlyList(COMMUNITY_LIST)
        return self.row


def joined_communities_filter(account: Account) -> Q:
    """The groups ``account`` has joined: followed (accepted), or staff of a local community."""
    followed = Follow.filter(account_id=account.id, state=FollowState.ACCEPTED).values("target_id")
    staff = CommunityRole.filter(account_id=account.id, role__in=COMMUNITY_STAFF)
    return Q(actor_type=ActorType.GROUP, suspended_at=None, deleted_at=None) & (
        Q(id__in=Subquery(followed)) | Q(id__in=Subquery(staff.values("community__account_id")))
    )


async def all_lists(account: Account) -> list[ListView]:
    """The user's own lists (oldest first), then their communities (by name)."""
    own = [ListView.of(row) for row in await List.filter(account_id=account.id).order_by("id")]
    groups = await Account.filter(joined_communities_filter(account)).order_by("username", "id")
    communities = sorted(
        (ListView.of_community(g) for g in groups), key=lambda v: (v.title.lower(), v.id)
    )
    return own + communities


async def find(account: Account, list_id: int | None) -> ListView:
    """The user's list with this id, or the joined community with this account id."""
    if list_id is None:
        raise NotFound(RECORD_NOT_FOUND)
    row = await List.get_or_none(id=list_id, account_id=account.id)
    if row is not None:
        return ListView.of(row)
    group = await Account.get_or_none(joined_communities_filter(account), id=list_id)
    if group is not None:
        return ListView.of_community(group)
    raise NotFound(RECORD_NOT_FOUND)


def check_title(title: str) -> str:
    cleaned = title.strip()
    if not cleaned:
        raise Invalid("Validation failed: Title can't be blank")
    if len(cleaned) > MAX_TITLE:
        raise Invalid(f"Validation failed: Title is longer than {MAX_TITLE} characters")
    return cleaned


def check_policy(policy: str) -> str:
    if policy not in REPLIES_POLICIES:
        raise Invalid("Validation failed: replies_policy must be followed, list or none")
    return policy


async def _free_id() -> int:
    """A new id that is no account's, so a list never shadows a community list."""
    while True:
        candidate = new_id()
        if not await Account.exists(id=candidate):
            return candidate


async def create_list(account: Account, title: str, policy: str, exclusive: bool) -> List:
    if await List.filter(account_id=account.id).count() >= MAX_LISTS:
        raise Invalid(f"Validation failed: at most {MAX_LISTS} lists")
    return await List.create(
        id=await _free_id(),
        account=account,
        title=check_title(title),
        replies_policy=check_policy(policy),
        exclusive=exclusive,
    )


async def update_list(
    row: List, title: str | None, policy: str | None, exclusive: bool | None
) -> List:
    if title is not None:
        row.title = check_title(title)
    if policy is not None:
        row.replies_policy = check_policy(policy)
    if exclusive is not None:
        row.exclusive = exclusive
    await row.save()
    return row


async def add_members(account: Account, row: List, ids: list[int]) -> None:
    """Add accounts the owner follows (404 for any other, 422 for one already there)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise Invalid("Validation failed: account_ids can't be blank")
    rows: list[Any] = await Follow.filter(
        account_id=account.id, target_id__in=wanted, state=FollowState.ACCEPTED
    ).values_list("target_id", flat=True)
    followed = {int(i) for i in rows}
    if any(i not in followed for i in wanted):
        raise NotFound(RECORD_NOT_FOUND)
    present = await ListAccount.exists(user_list_id=row.id, account_id__in=wanted)
    if present:
        raise Invalid("Validation failed: Account has already been taken")
    if await ListAccount.filter(user_list_id=row.id).count() + len(wanted) > MAX_MEMBERS:
        raise Invalid(f"Validation failed: a list has at most {MAX_MEMBERS} accounts")
    async with in_transaction():
        for target in wanted:
            await ListAccount.create(user_list_id=row.id, account_id=target)


async def remove_members(row: List, ids: list[int]) -> None:
    await ListAccount.filter(user_list_id=row.id, account_id__in=ids).delete()


async def lists_with(account: Account, target: Account) -> list[ListView]:
    """The viewer's lists ``target`` is in (and ``target`` itself if it is a joined community)."""
    rows = await List.filter(account_id=account.id, members__account_id=target.id).order_by("id")
    found = [ListView.of(row) for row in rows]
    if await Account.exists(joined_communities_filter(account), id=target.id):
        found.append(ListView.of_community(target))
    return found


def timeline(viewer: Account, view: ListView) -> QuerySet[Status]:
    """The list's timeline: a joined community's statuses, or the posts of a list's members."""
    if view.community is not None:
        return timelines.community_timeline(viewer, view.community)
    return timelines.list_timeline(viewer, view.own())


class ListTimelines:
    """Lists as the streaming hub sees them (``streaming.hub.ListSource``)."""

    async def owns(self, account_id: int, list_id: int) -> bool:
        """Whether ``list_id`` is one of the account's lists or joined communities."""
        return await self._view(account_id, list_id) is not None

    async def contains(self, account_id: int, list_id: int, status_id: int) -> bool:
        """Whether the list's timeline, as its owner sees it, holds the status: the
        timeline's query narrowed to that status (one query once the list is found)."""
        found = await self._view(account_id, list_id)
        if found is None:
            return False
        viewer, view = found
        return await timeline(viewer, view).filter(id=status_id).exists()

    async def candidates(self, status: Status, list_ids: set[int]) -> set[int]:
        """Those of ``list_ids`` whose timeline could hold ``status`` (each is then asked
        with :meth:`contains`): lists with its author as a member, and the communities it
        was posted in or by. At most two queries for any number of lists."""
        if not list_ids:
            return set()
        author: int = status.account_id  # type: ignore[attr-defined]
        wanted = list(list_ids)
        rows: list[Any] = await ListAccount.filter(
            user_list_id__in=wanted, account_id=author
        ).values_list("user_list_id", flat=True)
        found = {int(i) for i in rows} | ({author} & list_ids)
        if status.audience:
            groups: list[Any] = await Account.filter(
                id__in=wanted, uri=status.audience, actor_type=ActorType.GROUP
            ).values_list("id", flat=True)
            found |= {int(i) for i in groups}
        return found

    async def _view(self, account_id: int, list_id: int) -> tuple[Account, ListView] | None:
        viewer = await Account.get_or_none(id=account_id)
        if viewer is None:
            return None
        try:
            return viewer, await find(viewer, list_id)
        except NotFound:
            return None
