"""Members-only communities: Lemmy's private communities (RFC 0005), for our ``Group`` actors.

A community with ``visibility = members``:

* needs a moderator's approval to join (:class:`~fediverse_cop.services.communities.CommunityPolicy`
  refuses ``members`` with open joining);
* never addresses its content to Public. A local member's post into it is
  addressed ``to`` the community and its followers collection (as Lemmy
  addresses posts in a private community), stored as ``direct`` (the client API
  has no members-only visibility, and ``direct`` is never delivered to the
  author's followers), and only mentioned members stay addressed. A remote
  post into it that is public or unlisted is refused with a ``Reject`` (Lemmy
  rejects public content in a private community: the author's server has
  published it already, so narrowing it here would hide nothing). The group's
  ``Announce`` goes to its followers collection only;
* serves its posts, outbox, featured and resources collections only to a signed
  GET from a server where it has an accepted member (the server's own admins can
  then read everything, which is why moderators are warned); anyone else gets
  the same 404 as for something that does not exist;
* warns its moderators when the first member from another server is approved:
  a log line at WARNING, a notification to the owner and moderators, and the
  ``new instance`` flag in ``fediverse-cop community members`` and ``requests``.

Who may read a non-public post of a community (local or remote) is in
:mod:`fediverse_cop.services.visibility`: its accepted members and staff, when the
post names the community as its ``audience``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from activitypub.vocab import ASObject
from fediverse_cop.models import (
    Account,
    ActorType,
    Community,
    CommunityRole,
    CommunityRoleKind,
    ContentVisibility,
    Follow,
    FollowState,
    NotificationType,
    Status,
    acct_key,
)
from fediverse_cop.services import notifications
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import NotFound
from fediverse_cop.services.visibility import is_public_address

log = logging.getLogger(__name__)

# A server whose first member joined less than this long ago is flagged as new.
NEW_INSTANCE_WINDOW: Final = timedelta(days=14)
# Roles that read and post in a community without following it.
_STAFF: Final = (CommunityRoleKind.OWNER, CommunityRoleKind.MODERATOR, CommunityRoleKind.TRAINER)
_MODERATORS: Final = (CommunityRoleKind.OWNER, CommunityRoleKind.MODERATOR)
LOCAL_INSTANCE: Final = "local"


# -- which communities ---------------------------------------------------------------------------


def is_members_only(community: Community | None) -> bool:
    return community is not None and community.visibility is ContentVisibility.MEMBERS


async def members_only_community(group: Account | None) -> Community | None:
    """The local community of ``group`` when its content is for members only."""
    if group is None or not group.local or group.actor_type is not ActorType.GROUP:
        return None
    community = await Community.get_or_none(
        account_id=group.id, visibility=ContentVisibility.MEMBERS
    )
    if community is not None:
        community.account = group
    return community


async def members_only_community_of(status: Status) -> Community | None:
    """The local members-only community ``status`` belongs to: the one named as its
    ``audience``, or the one that wrote or boosted it (resources, announcements)."""
    query = Community.filter(
        visibility=ContentVisibility.MEMBERS,
        account__local=True,
        account__actor_type=ActorType.GROUP,
    )
    author_id: int = status.account_id  # type: ignore[attr-defined]
    if status.audience:
        found = await query.filter(account__uri=status.audience).select_related("account").first()
        if found is not None:
            return found
    return await query.filter(account_id=author_id).select_related("account").first()


# -- addressing ------------------------------------------------------------------------------------


def post_addressing(group: Account, members: Iterable[Account]) -> tuple[list[str], list[str]]:
    """``(to, cc)`` of a local post into a members-only community: the community and its
    followers collection (Lemmy's ``generate_to`` for private communities), and the
    mentioned members in ``cc``. Never Public, never the author's followers."""
    to = [uri for uri in (group.uri, group.followers_uri) if uri]
    cc = [m.uri for m in members if m.uri not in to]
    return to, list(dict.fromkeys(cc))


def announce_addressing(group: Account) -> tuple[list[str], list[str]] | None:
    """The group's ``Announce`` in a members-only community: its followers only."""
    if not group.followers_uri:
        return None
    return [group.followers_uri], []


async def members_among(community: Community, accounts: Iterable[Account]) -> list[Account]:
    """Which of ``accounts`` may read the community: the group itself, accepted members and
    staff. Mentions of anyone else are not addressed in a members-only post."""
    kept: list[Account] = []
    for account in accounts:
        if account.id == community.account.id or await is_member_account(community, account):
            kept.append(account)
    return kept


def names_public(activity: ASObject, obj: ASObject) -> bool:
    """Whether a received ``Create`` addresses Public (public or unlisted), anywhere."""
    return any(is_public_address(uri) for uri in (*obj.to, *obj.cc, *activity.to, *activity.cc))


def refusal_of_public(community: Community, activity: ASObject, obj: ASObject) -> str | None:
    """Why a members-only community refuses a received post (None: it does not)."""
    if is_members_only(community) and names_public(activity, obj):
        return "the community is members-only: public and unlisted posts are refused"
    return None


# -- who may read ----------------------------------------------------------------------------------


async def is_member_account(community: Community, account: Account) -> bool:
    """An accepted follower of the group, or its owner, a moderator or a trainer."""
    if await CommunityRole.exists(
        community_id=community.id, account_id=account.id, role__in=_STAFF
    ):
        return True
    return await Follow.exists(
        account_id=account.id, target_id=community.account.id, state=FollowState.ACCEPTED
    )


async def server_has_member(group: Account, domain: str | None) -> bool:
    """Whether someone on the server ``domain`` is an accepted member of ``group``."""
    if domain is None:
        return False
    return await Follow.exists(
        target_id=group.id, state=FollowState.ACCEPTED, account__domain=domain
    )


async def server_may_read(community: Community, requester: Account | None) -> bool:
    """What a members-only community serves (posts, outbox, collections) goes only to a
    signed request from a server with an accepted member."""
    if requester is None or requester.local or requester.is_suspended:
        return False
    return await server_has_member(community.account, requester.domain)


# -- new servers -----------------------------------------------------------------------------------


def instance_of(account: Account) -> str:
    return account.domain or LOCAL_INSTANCE


async def is_new_instance(community: Community, member: Account) -> bool:
    """No one from ``member``'s server is a member yet (Lemmy's ``is_new_instance``).
    Our own server never counts as new."""
    if member.local:
        return False
    return not await server_has_member(community.account, member.domain)


async def warn_new_instance(community: Community, member: Account) -> None:
    """The first member from another server was just approved into a members-only
    community: that server's admins can now read all of its content. Logged at WARNING,
    and the owner and moderators are notified (``admin.sign_up``: a new reader signed up
    to the community; the client API has no closer type)."""
    if not is_members_only(community):
        return
    group = community.account
    log.warning(
        "%s: approved the first member from %s (%s); that server can now read all of the "
        "community's members-only content",
        group.handle,
        instance_of(member),
        member.handle,
    )
    moderators = await CommunityRole.filter(
        community_id=community.id, role__in=_MODERATORS
    ).select_related("account")
    for role in moderators:
        await notifications.notify(role.account, member, NotificationType.ADMIN_SIGN_UP)


# -- listing members and requests ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRow:
    account: Account
    instance: str
    role: str
    # When the follow was accepted (or the role given, for staff who do not follow).
    since: datetime
    # The member's server has had members here for less than NEW_INSTANCE_WINDOW
    # (for a request: it has none yet).
    new_instance: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account.handle,
            "actor": self.account.uri,
            "instance": self.instance,
            "role": self.role,
            "since": self.since,
            "new_instance": self.new_instance,
        }


async def members(community: Community, *, now: datetime | None = None) -> list[MemberRow]:
    """Accepted members and staff, oldest first, with their server and role; a server whose
    first member joined less than :data:`NEW_INSTANCE_WINDOW` ago is flagged as new."""
    now = now or utcnow()
    roles = {
        int(role.account_id): role  # type: ignore[attr-defined]
        for role in await CommunityRole.filter(community_id=community.id).select_related("account")
    }
    joined: dict[int, tuple[Account, datetime]] = {}
    accepted = await Follow.filter(
        target_id=community.account.id, state=FollowState.ACCEPTED
    ).select_related("account")
    for row in accepted:
        joined[row.account.id] = (row.account, row.updated_at)
    for account_id, role in roles.items():
        if role.role in _STAFF and account_id not in joined:
            joined[account_id] = (role.account, role.created_at)
    first_seen: dict[str, datetime] = {}
    for account, since in joined.values():
        key = instance_of(account)
        first_seen[key] = min(since, first_seen.get(key, since))
    rows = [
        MemberRow(
            account=account,
            instance=instance_of(account),
            role=_role_name(roles.get(account.id)),
            since=since,
            new_instance=not account.local
            and now - first_seen[instance_of(account)] < NEW_INSTANCE_WINDOW,
        )
        for account, since in joined.values()
    ]
    rows.sort(key=lambda row: (row.since, row.account.id))
    return rows


def _role_name(role: CommunityRole | None) -> str:
    if role is None or role.role is CommunityRoleKind.BANNED:
        return CommunityRoleKind.MEMBER.value
    return role.role.value


async def requests(community: Community, pending: Iterable[Follow]) -> list[MemberRow]:
    """Join requests (from :func:`groups.pending_members`), flagged when approving one
    would let a new server in."""
    rows: list[MemberRow] = []
    new_by_instance: dict[str, bool] = {}
    for follow in pending:
        account = follow.account
        key = instance_of(account)
        if key not in new_by_instance:
            new_by_instance[key] = await is_new_instance(community, account)
        rows.append(
            MemberRow(
                account=account,
                instance=key,
                role="requested",
                since=follow.created_at,
                new_instance=new_by_instance[key],
            )
        )
    return rows


def instances(rows: Iterable[MemberRow]) -> Mapping[str, int]:
    """How many members each server has, in order of first appearance."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.instance] = counts.get(row.instance, 0) + 1
    return counts


async def find_known_account(text: str) -> Account:
    """A stored account by ``user@domain`` (``@`` optional), a local user name, or actor URI.

    Nothing is fetched: someone who asked to join is known already."""
    text = text.strip()
    if text.startswith(("https://", "http://")):
        found = await Account.get_or_none(uri=text)
    else:
        user, _, domain = text.lstrip("@").partition("@")
        found = await Account.get_or_none(acct_key=acct_key(user, domain or None))
    if found is None:
        raise NotFound(f"no known account {text!r}")
    return found
