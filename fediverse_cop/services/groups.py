"""Communities as FEP-1b12 groups: membership, bans, posting into a community, redistribution.

The wire recipe is ``docs/communities.md`` and the group section of
``FEDERATION.md``. In short:

* **Joining** is following the group: ``Accept`` at once for open communities, a
  pending request for approval communities until a moderator answers
  (:func:`approve_member`, :func:`reject_member`). A ban (:func:`ban_member`)
  ends the membership with a ``Reject`` of the member's ``Follow`` (what
  Mastodon sends when it removes a follower) and refuses every later ``Follow``
  until it expires or is lifted (:func:`lift_ban`).
* **Posting**: a ``Create`` belongs to a local community when its ``audience``,
  ``to``, ``cc`` or a ``Mention`` names the community (or its followers), or when
  the post it replies to belongs to one (Mastodon does not address replies to the
  group). Bans, membership and ``postingRestrictedToMods`` are checked; a refused
  post is neither stored nor announced, and its author gets a ``Reject`` of the
  ``Create``.
* **Redistribution**: the group sends each kind of server (NodeInfo,
  ``activitypub.nodeinfo.peer_kind``) what it understands. Group-aware servers
  get ``Announce{activity}`` with the activity unchanged (creates, edits,
  deletes, likes); microblog servers get ``Announce{post id}`` for top-level
  public and unlisted posts only (and its ``Undo`` when the post is deleted).
  Only activities the author sent to the group are announced, never an
  ``Announce``, so two groups following each other cannot loop.
* **Receiving** from remote groups (:func:`receive_group_announce`): the
  announced activity is used as embedded only when it comes from the group's own
  origin; anything else is taken from its origin.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from tortoise.exceptions import IntegrityError

from activitypub import vocab
from activitypub.domains import InvalidDomain
from activitypub.errors import FetchError, HTTPStatusError
from activitypub.nodeinfo import fetch_nodeinfo
from activitypub.origins import OriginRefusal, check_object_origin, same_origin
from activitypub.uris import Kind
from activitypub.vocab import ASObject
from fediverse_cop.ids import new_id
from fediverse_cop.models import (
    Account,
    ActorType,
    Community,
    CommunityRole,
    CommunityRoleKind,
    Favourite,
    Follow,
    FollowState,
    PeerSoftware,
    PostingPolicy,
    Status,
    Visibility,
    acct_key,
)
from fediverse_cop.services import follows, incoming, private_groups
from fediverse_cop.services.context import utcnow
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.incoming import FetchBudget, NotAccepted
from fediverse_cop.services.remote import Federation, host_of, is_suspended_domain
from fediverse_cop.services.visibility import PUBLIC
from outbox.enqueue import enqueue
from outbox.fanout import domain_key, followers_of_kind

log = logging.getLogger(__name__)

# Who moderates (answers join requests, bans): the moderators collection.
MODERATOR_ROLES: Final = (CommunityRoleKind.OWNER, CommunityRoleKind.MODERATOR)
# Who may start threads where posting is restricted to moderators (announcement channels).
STAFF_ROLES: Final = (*MODERATOR_ROLES, CommunityRoleKind.TRAINER)
# What a group announces to group-aware servers; never an Announce.
ANNOUNCEABLE: Final = frozenset({"Create", "Update", "Delete", "Like"})
# NodeInfo of a member's server is asked again after this long.
PEER_FRESH: Final = timedelta(days=7)
# How far up a reply chain we look for the community post it answers.
MAX_THREAD_DEPTH: Final = 64
_SHOWN_TO_ALL: Final = (Visibility.PUBLIC, Visibility.UNLISTED)


# -- who is who -------------------------------------------------------------------------------


async def community_of_account(account: Account) -> Community | None:
    """The local community of a local ``Group`` account (None for anything else)."""
    if not account.local or account.actor_type is not ActorType.GROUP:
        return None
    community = await Community.get_or_none(account_id=account.id)
    if community is not None:
        community.account = account
    return community


async def _role(community: Community, account: Account, now: datetime) -> CommunityRole | None:
    """The account's role; an expired ban counts as none (and is cleaned up)."""
    role = await CommunityRole.get_or_none(community_id=community.id, account_id=account.id)
    if (
        role is not None
        and role.role is CommunityRoleKind.BANNED
        and role.expires_at is not None
        and role.expires_at <= now
    ):
        await role.delete()
        return None
    return role


async def is_banned(community: Community, account: Account) -> bool:
    role = await _role(community, account, utcnow())
    return role is not None and role.role is CommunityRoleKind.BANNED


async def is_moderator(community: Community, account: Account) -> bool:
    role = await _role(community, account, utcnow())
    return role is not None and role.role in MODERATOR_ROLES


async def is_member(community: Community, account: Account) -> bool:
    """An accepted follower of the group, or someone holding a staff role in it."""
    role = await _role(community, account, utcnow())
    if role is not None:
        if role.role is CommunityRoleKind.BANNED:
            return False
        if role.role in STAFF_ROLES:
            return True
    return await Follow.exists(
        account_id=account.id, target_id=community.account.id, state=FollowState.ACCEPTED
    )


async def refusal_to_post(community: Community, author: Account, *, top_level: bool) -> str | None:
    """Why ``author`` may not post into ``community`` (None: they may)."""
    if community.archived_at is not None:
        return "the community is archived"
    role = await _role(community, author, utcnow())
    kind = role.role if role is not None else None
    if kind is CommunityRoleKind.BANNED:
        return f"{author.handle} is banned from the community"
    staff = kind in STAFF_ROLES
    if top_level and community.posting_policy is PostingPolicy.MODERATORS and not staff:
        return "only moderators and trainers start threads in this community"
    if not staff and not await Follow.exists(
        account_id=author.id, target_id=community.account.id, state=FollowState.ACCEPTED
    ):
        return f"{author.handle} is not a member of the community"
    return None


async def locked_thread(status: Status | None) -> Status | None:
    """The locked post (Lemmy's ``Lock``) of the thread ``status`` is in: itself or one of
    the posts it replies to, up the stored chain. None when the thread is open."""
    seen = 0
    while status is not None and seen < MAX_THREAD_DEPTH:
        if status.locked_at is not None:
            return status
        parent_id: int | None = status.in_reply_to_id  # type: ignore[attr-defined]
        if parent_id is None:
            return None
        status = await Status.get_or_none(id=parent_id)
        seen += 1
    return None


async def thread_lock_refusal(in_reply_to: str | None) -> str | None:
    """Why a reply to ``in_reply_to`` is refused: its thread is locked (None: it is not)."""
    if in_reply_to is None:
        return None
    parent = await Status.get_or_none(uri=in_reply_to, reblog_of_id=None)
    if await locked_thread(parent) is not None:
        return "the thread is locked"
    return None


async def _require_moderator(community: Community, by: Account | None) -> None:
    """``by`` None is the operator (CLI); anyone else must moderate the community."""
    if by is not None and not await is_moderator(community, by):
        raise Invalid(f"{by.handle} does not moderate {community.account.handle}")


# -- joining ----------------------------------------------------------------------------------


async def pending_members(community: Community) -> list[Follow]:
    """Join requests waiting for a moderator, oldest first (with the accounts loaded)."""
    return (
        await Follow.filter(target_id=community.account.id, state=FollowState.PENDING)
        .select_related("account")
        .order_by("id")
    )


async def approve_member(
    fed: Federation, community: Community, member: Account, *, by: Account | None = None
) -> None:
    """A moderator (or the operator, ``by=None``) accepts a join request: ``Accept``."""
    await _require_moderator(community, by)
    if await is_banned(community, member):
        raise Invalid(f"{member.handle} is banned from {community.account.handle}")
    first_from_there = await private_groups.is_new_instance(community, member)
    await follows.answer_request(fed, community.account, member, accept=True)
    if first_from_there:
        await private_groups.warn_new_instance(community, member)


async def reject_member(
    fed: Federation, community: Community, member: Account, *, by: Account | None = None
) -> None:
    """A moderator (or the operator) refuses a join request: ``Reject``, the request goes."""
    await _require_moderator(community, by)
    await follows.answer_request(fed, community.account, member, accept=False)


async def refuse_join(fed: Federation, follower: Account, target: Account, follow_id: str) -> bool:
    """Answer a banned account's ``Follow`` of a local community with a ``Reject``.

    True when the follow was refused (nothing is stored), False when it may proceed.
    """
    community = await community_of_account(target)
    if community is None or not await is_banned(community, follower):
        return False
    await Follow.filter(account_id=follower.id, target_id=target.id).delete()
    if not follower.local:
        refusal = vocab.reject(
            id=follows.activity_uri(fed.ctx),
            actor=target.uri,
            object=vocab.follow(id=follow_id, actor=follower.uri, object=target.uri),
            to=[follower.uri],
        )
        await enqueue(refusal, target, [follower.uri], ordering_key=follow_id)
    return True


# -- bans -------------------------------------------------------------------------------------


async def ban_member(
    fed: Federation,
    community: Community,
    member: Account,
    *,
    reason: str = "",
    expires_at: datetime | None = None,
    by: Account | None = None,
) -> CommunityRole:
    """Ban ``member``: the membership (or the join request) ends and re-joining is refused.

    The member's server gets a ``Reject`` of the member's ``Follow``: Mastodon,
    Lemmy and this server all read it as "you no longer follow". (Lemmy's
    ``Block`` with the community as ``target`` is not sent: Mastodon would read a
    ``Block`` as a block between two accounts.)
    """
    await _require_moderator(community, by)
    if member.id == community.account.id:
        raise Invalid("a community cannot ban itself")
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise Invalid("a ban must expire in the future")
    role = await _role(community, member, now)
    if role is not None and role.role in STAFF_ROLES:
        raise Invalid(f"{member.handle} is a {role.role.value} here; remove the role first")
    if role is None:
        try:
            role = await CommunityRole.create(
                community=community,
                account=member,
                role=CommunityRoleKind.BANNED,
                expires_at=expires_at,
                reason=reason,
            )
        except IntegrityError:
            role = await CommunityRole.get(community_id=community.id, account_id=member.id)
    role.role = CommunityRoleKind.BANNED
    role.expires_at = expires_at
    role.reason = reason
    await role.save(update_fields=["role", "expires_at", "reason"])
    follow = await Follow.get_or_none(account_id=member.id, target_id=community.account.id)
    if follow is not None:
        await follow.delete()
        if not member.local:
            ended = vocab.reject(
                id=follows.activity_uri(fed.ctx),
                actor=community.account.uri,
                object=follows.follow_activity(follow, member, community.account),
                to=[member.uri],
            )
            await enqueue(ended, community.account, [member.uri], ordering_key=follow.uri or "")
    return role


async def lift_ban(community: Community, member: Account, *, by: Account | None = None) -> None:
    """Lift a ban (the member may ask to join again; nothing is sent)."""
    await _require_moderator(community, by)
    deleted = await CommunityRole.filter(
        community_id=community.id, account_id=member.id, role=CommunityRoleKind.BANNED
    ).delete()
    if not deleted:
        raise NotFound(f"{member.handle} is not banned from {community.account.handle}")


# -- what the members' servers understand -------------------------------------------------------


def _inbox_domain(account: Account) -> str | None:
    inbox = account.shared_inbox_uri or account.inbox_uri
    key = domain_key(inbox) if inbox else None
    return key[0] if key else None


async def learn_peer(fed: Federation, account: Account) -> PeerSoftware | None:
    """Record the software of ``account``'s server from its NodeInfo (kept for a week).

    A server whose NodeInfo cannot be read is not recorded, and is taken for a
    microblog server until it can be.
    """
    if account.local:
        return None
    domain = _inbox_domain(account)
    if domain is None:
        return None
    known = await PeerSoftware.get_or_none(domain=domain)
    now = utcnow()
    if known is not None and now - known.fetched_at < PEER_FRESH:
        return known
    inbox = account.shared_inbox_uri or account.inbox_uri
    scheme: Literal["https", "http"] = "http" if inbox.startswith("http:") else "https"
    try:
        info = await fetch_nodeinfo(fed.http, domain, scheme=scheme)
    except FetchError as exc:
        log.info("NodeInfo of %s is not available: %s", domain, exc)
        return known
    software, kind = info.software_name[:64], str(info.kind)
    if known is None:
        try:
            return await PeerSoftware.create(
                domain=domain, software=software, kind=kind, fetched_at=now
            )
        except IntegrityError:
            known = await PeerSoftware.get(domain=domain)
    known.software, known.kind, known.fetched_at = software, kind, now
    await known.save()
    return known


# -- posts and communities ----------------------------------------------------------------------


def _community_names(fed: Federation, uris: Iterable[str]) -> list[str]:
    """Names of our communities among ``uris`` (the group itself or its followers)."""
    names: dict[str, None] = {}
    for uri in uris:
        parsed = fed.ctx.uris.parse(uri)
        if parsed is not None and parsed.kind in (Kind.COMMUNITY, Kind.COMMUNITY_FOLLOWERS):
            names.setdefault(parsed.name.lower(), None)
    return list(names)


async def _communities_named(fed: Federation, uris: Iterable[str]) -> list[Community]:
    names = _community_names(fed, uris)
    if not names:
        return []
    found = (
        await Community.filter(
            account__acct_key__in=[acct_key(name, None) for name in names],
            account__local=True,
            account__suspended_at__isnull=True,
        )
        .select_related("account")
        .order_by("id")
    )
    return list(found)


def _named_uris(activity: ASObject, obj: ASObject) -> list[str]:
    """Everything a Create names: addressing and audience of both, and Mention tags."""
    mentions = [tag.href for tag in obj.mentions if tag.href]
    return [
        *obj.audience,
        *activity.audience,
        *obj.to,
        *obj.cc,
        *activity.to,
        *activity.cc,
        *mentions,
    ]


async def local_community_of(fed: Federation, status: Status) -> Community | None:
    """The local community a stored post belongs to (its ``audience``), if any."""
    if not status.audience:
        return None
    found = await _communities_named(fed, [status.audience])
    if not found or found[0].account.uri != status.audience:
        return None
    return found[0]


async def thread_community(status: Status | None) -> Account | None:
    """The group (local or remote) whose post a reply chain leads to."""
    seen = 0
    while status is not None and seen < MAX_THREAD_DEPTH:
        if status.audience:
            group = await Account.get_or_none(uri=status.audience, actor_type=ActorType.GROUP)
            if group is not None:
                return group
        parent_id: int | None = status.in_reply_to_id  # type: ignore[attr-defined]
        if parent_id is None:
            return None
        status = await Status.get_or_none(id=parent_id)
        seen += 1
    return None


async def _reject_post(
    fed: Federation, community: Community, author: Account, activity: ASObject, reason: str
) -> None:
    """Tell the author's server the community refused the post (FEP-1b12 allows a Reject)."""
    log.info("%s refused %s: %s", community.account.handle, activity.id, reason)
    if author.local:
        return
    summary: dict[str, Any] = {
        "id": activity.require_id(),
        "type": "Create",
        "actor": author.uri,
        "object": activity.object_id or "",
    }
    refusal = vocab.reject(
        id=follows.activity_uri(fed.ctx),
        actor=community.account.uri,
        object=summary,
        to=[author.uri],
    )
    refusal["summary"] = reason
    await enqueue(refusal, community.account, [author.uri], ordering_key=activity.object_id)


async def receive_create(fed: Federation, actor: Account, activity: ASObject) -> bool:
    """A remote ``Create`` that may be a post into one of our communities.

    False when it concerns no local community (the ordinary path stores it).
    True when it did: the post is stored and announced by the first community
    that accepts it; every community that refuses it sends the author a
    ``Reject``. When every community refuses, nothing is stored and
    :class:`NotAccepted` says why.
    """
    obj = activity.object
    if obj is None or obj.id is None or not obj.has_type(*incoming.POST_TYPES):
        return False
    budget = FetchBudget()
    communities = await _communities_named(fed, _named_uris(activity, obj))
    top_level = obj.in_reply_to is None
    if not communities and obj.in_reply_to is not None:
        parent = await incoming.resolve_parent(fed, obj.in_reply_to, budget, 1)
        group = await thread_community(parent)
        community = await community_of_account(group) if group is not None else None
        if community is not None:
            communities = [community]
    if not communities:
        return False
    # Only an authentic post by the sender is judged (and may earn a Reject).
    await incoming.ensure_actor_may_post(actor)
    origin = check_object_origin(obj.data, delivered_by_actor=actor.uri)
    if isinstance(origin, OriginRefusal):
        raise NotAccepted(origin.reason)
    if obj.attributed_to_ids != (actor.uri,):
        raise NotAccepted(f"{obj.id} is attributed to {obj.attributed_to!r}, not to {actor.uri}")
    if await Status.exists(uri=obj.id):
        return True  # known already: a repeated Create is never announced twice
    accepted: list[Community] = []
    refusals: list[str] = []
    locked = await thread_lock_refusal(obj.in_reply_to)
    for community in communities:
        reason = locked or await refusal_to_post(community, actor, top_level=top_level)
        if reason is None:
            reason = private_groups.refusal_of_public(community, activity, obj)
        if reason is None:
            accepted.append(community)
            continue
        refusals.append(f"{community.account.handle}: {reason}")
        await _reject_post(fed, community, actor, activity, reason)
    if not accepted:
        raise NotAccepted("refused by " + "; ".join(refusals))
    community = accepted[0]
    stored = _with_audience(activity, community.account.uri)
    status = await incoming.create_post(fed, actor, stored, budget=budget)
    if status is None:
        return True
    if status.audience != community.account.uri:
        status.audience = community.account.uri
        await status.save(update_fields=["audience"])
    await redistribute_post(fed, community, status, dict(activity.data))
    return True


def _with_audience(activity: ASObject, group_uri: str) -> ASObject:
    """The Create as stored: its post's ``audience`` is the community that accepted it, so
    the post is the community's from the moment it is stored (and streamed to members)."""
    obj = activity.object
    if obj is None or obj.audience == (group_uri,):
        return activity
    return ASObject({**activity.data, "object": {**obj.data, "audience": group_uri}})


# -- redistribution -----------------------------------------------------------------------------


def _announce_addressing(group: Account, status: Status) -> tuple[list[str], list[str]] | None:
    """The addressing of a group's Announce about ``status``: never wider than the post.

    Public posts go to Public and the group's followers, unlisted ones to the
    followers with Public in ``cc``; a followers-only or direct post only to the
    group's followers, and only when its author addressed them.
    """
    followers = group.followers_uri or ""
    if status.visibility is Visibility.PUBLIC:
        return [PUBLIC], [followers]
    if status.visibility is Visibility.UNLISTED:
        return [followers], [PUBLIC]
    if followers and followers in (*status.to, *status.cc):
        return [followers], []
    return None


async def _origin_blocked(status: Status) -> bool:
    """A suspended domain for the post's origin or its author: nothing is announced."""
    await status.fetch_related("account")
    for uri in (status.uri, status.account.uri):
        try:
            if await is_suspended_domain(host_of(uri)):
                return True
        except InvalidDomain:
            return True
    return status.account.is_suspended


async def announce_activity(
    fed: Federation, community: Community, status: Status, inner: Mapping[str, Any]
) -> None:
    """``Announce{inner}`` to the community's followers on group-aware servers.

    ``inner`` is the activity as its author sent it (it is not changed, so its
    proofs still verify).
    """
    group = community.account
    if inner.get("type") not in ANNOUNCEABLE or not group.followers_uri:
        return
    if await _origin_blocked(status):
        return
    addressing = _announce_addressing(group, status)
    if private_groups.is_members_only(community):
        # Members-only: to the followers collection, whatever the post says.
        addressing = private_groups.announce_addressing(group)
    if addressing is None:
        return
    to, cc = addressing
    announce = vocab.announce(
        id=follows.activity_uri(fed.ctx),
        actor=group.uri,
        object=dict(inner),
        to=to,
        cc=cc,
        audience=group.uri,
    )
    recipients = [followers_of_kind(group.followers_uri, "group-aware")]
    await enqueue(announce, group, recipients, ordering_key=status.uri)


async def boost_for_microblogs(fed: Federation, community: Community, status: Status) -> None:
    """The group boosts a top-level public or unlisted post: ``Announce{post id}``.

    The boost is a row of the group's (its outbox lists it, local members see it)
    and goes to the followers on microblog servers, which show nothing else.
    """
    group = community.account
    if status.in_reply_to_uri is not None or status.visibility not in _SHOWN_TO_ALL:
        return
    if private_groups.is_members_only(community):
        return  # a boost is public by nature: Mastodon members see no members-only posts
    if not group.followers_uri or await _origin_blocked(status):
        return
    if await Status.exists(account_id=group.id, reblog_of_id=status.id):
        return
    boost_id = new_id()
    if status.visibility is Visibility.PUBLIC:
        to, cc = [PUBLIC], [group.followers_uri, status.account.uri]
    else:
        to, cc = [group.followers_uri], [PUBLIC, status.account.uri]
    boost = await Status.create(
        id=boost_id,
        uri=fed.ctx.uris.build(Kind.ACTIVITY, id=str(boost_id)),
        account=group,
        local=True,
        object_type="Announce",
        reblog_of=status,
        visibility=status.visibility,
        to=to,
        cc=cc,
        audience=group.uri,
        published_at=utcnow(),
    )
    announce = vocab.announce(
        id=boost.uri,
        actor=group.uri,
        object=status.uri,
        to=to,
        cc=cc,
        published=boost.published_at,
    )
    recipients = [followers_of_kind(group.followers_uri, "microblog")]
    await enqueue(announce, group, recipients, ordering_key=status.uri)


async def redistribute_post(
    fed: Federation, community: Community, status: Status, create: Mapping[str, Any]
) -> None:
    """A post accepted into the community: announced to every kind of member's server."""
    await announce_activity(fed, community, status, create)
    await boost_for_microblogs(fed, community, status)


async def redistribute_deletion(
    fed: Federation, community: Community, status: Status, delete: Mapping[str, Any]
) -> None:
    """A community post was deleted: ``Announce{Delete}``, and the group's boost undone."""
    await announce_activity(fed, community, status, delete)
    group = community.account
    # Deleting a post also marks its boosts deleted: the group's boost is undone all the same.
    boost = await Status.get_or_none(account_id=group.id, reblog_of_id=status.id)
    if boost is None:
        return
    if boost.deleted_at is None:
        boost.deleted_at = utcnow()
        await boost.save(update_fields=["deleted_at"])
    if not group.followers_uri:
        return
    undo = vocab.undo(
        id=follows.activity_uri(fed.ctx),
        actor=group.uri,
        object=vocab.announce(
            id=boost.uri, actor=group.uri, object=status.uri, to=boost.to, cc=boost.cc
        ),
        to=boost.to,
        cc=boost.cc,
    )
    recipients = [followers_of_kind(group.followers_uri, "microblog")]
    await enqueue(undo, group, recipients, ordering_key=status.uri)


async def after_remote_update(fed: Federation, status: Status | None, update: ASObject) -> None:
    """An author edited a post of one of our communities: the group announces the Update."""
    if status is None:
        return
    community = await local_community_of(fed, status)
    if community is not None:
        await announce_activity(fed, community, status, dict(update.data))


async def community_post(fed: Federation, uri: str | None) -> tuple[Community, Status] | None:
    """The local community and the stored post ``uri`` names, when the post is in one."""
    if uri is None:
        return None
    status = await Status.get_or_none(uri=uri, reblog_of_id=None)
    if status is None:
        return None
    community = await local_community_of(fed, status)
    return (community, status) if community is not None else None


async def after_remote_delete(
    fed: Federation, found: tuple[Community, Status] | None, delete: ASObject
) -> None:
    """After a Delete was applied: announced when it deleted a post of a local community."""
    if found is None:
        return
    community, status = found
    await status.refresh_from_db(fields=["deleted_at"])
    if status.deleted_at is not None:
        await redistribute_deletion(fed, community, status, dict(delete.data))


async def after_remote_like(fed: Federation, favourite: Favourite | None, like: ASObject) -> None:
    """A Like of a post of a local community: the group announces it (group-aware servers)."""
    if favourite is None:
        return
    status = await Status.get(id=favourite.status_id)  # type: ignore[attr-defined]
    community = await local_community_of(fed, status)
    if community is not None:
        await announce_activity(fed, community, status, dict(like.data))


# -- local members posting ----------------------------------------------------------------------


async def community_for_post(
    author: Account,
    chosen: Account | None,
    mentioned: Iterable[Account],
    parent: Status | None,
) -> Account | None:
    """The group a local post goes into: the one chosen, else a mentioned group, else the
    group of the thread replied to. Refused (``Invalid``) where a local community would
    refuse it."""
    group = chosen
    if group is None:
        group = next((a for a in mentioned if a.actor_type is ActorType.GROUP), None)
    if group is None and parent is not None:
        group = await thread_community(parent)
    if group is None:
        return None
    if group.actor_type is not ActorType.GROUP:
        raise Invalid(f"{group.handle} is not a community")
    if parent is not None and await locked_thread(parent) is not None:
        raise Invalid("the thread is locked")
    community = await community_of_account(group)
    if community is not None:
        reason = await refusal_to_post(community, author, top_level=parent is None)
        if reason is not None:
            raise Invalid(reason)
    return group


def community_addressing(
    to: Sequence[str], cc: Sequence[str], group: Account
) -> tuple[list[str], list[str]]:
    """Add the group and its followers to ``cc``, as Mastodon addresses a mentioned group."""
    extra = [uri for uri in (group.uri, group.followers_uri) if uri and uri not in (*to, *cc)]
    return list(to), [*cc, *extra]


async def members_only_addressing(
    group: Account, recipients: Mapping[str, Account]
) -> tuple[Visibility, list[str], list[str], dict[str, Account]] | None:
    """A local post into a local members-only community, whatever visibility the client
    chose: ``direct`` (never delivered to the author's followers), addressed to the
    community and its followers collection, mentioning only members. ``(visibility, to,
    cc, recipients)``, or None when the community is not members-only."""
    community = await private_groups.members_only_community(group)
    if community is None:
        return None
    kept = await private_groups.members_among(community, recipients.values())
    to, cc = private_groups.post_addressing(group, [a for a in kept if a.id != group.id])
    return Visibility.DIRECT, to, cc, {a.uri: a for a in kept}


async def after_local_post(fed: Federation, status: Status, create: Mapping[str, Any]) -> None:
    """A local post into a community: a local community announces it at once; a remote one
    gets the Create because the post mentions it."""
    community = await local_community_of(fed, status)
    if community is not None:
        await redistribute_post(fed, community, status, create)


async def after_local_change(fed: Federation, status: Status, activity: Mapping[str, Any]) -> None:
    """A local author edited or deleted a post of a local community: announced too."""
    community = await local_community_of(fed, status)
    if community is None:
        return
    if activity.get("type") == "Delete":
        await redistribute_deletion(fed, community, status, activity)
    else:
        await announce_activity(fed, community, status, activity)
        await _edit_for_microblogs(community, status, activity)


async def _edit_for_microblogs(
    community: Community, status: Status, update: Mapping[str, Any]
) -> None:
    """A local author edited a post the community boosted: the author's own ``Update`` goes
    to the community's followers on microblog servers too (they have the post through the
    boost, and Mastodon applies an ``Update`` signed by the post's author), as PieFed does.
    An edit by an author on another server is that server's to send."""
    group = community.account
    if update.get("type") != "Update" or not group.followers_uri:
        return
    if not await Status.exists(account_id=group.id, reblog_of_id=status.id, deleted_at=None):
        return
    await status.fetch_related("account")
    recipients = [followers_of_kind(group.followers_uri, "microblog")]
    await enqueue(dict(update), status.account, recipients, ordering_key=status.uri)


async def after_local_like(
    fed: Federation, account: Account, status: Status, favourite: Favourite
) -> None:
    """A local member liked a post of a local community: the group announces the Like."""
    community = await local_community_of(fed, status)
    if community is None:
        return
    like = vocab.like(
        id=favourite.uri or follows.activity_uri(fed.ctx),
        actor=account.uri,
        object=status.uri,
        to=[community.account.uri],
        audience=community.account.uri,
    )
    await announce_activity(fed, community, status, like)


# -- what remote groups announce ------------------------------------------------------------------


async def has_local_member(group: Account) -> bool:
    """Whether someone here is a member of the remote ``group``, or has asked to be: the
    group's first Announce to a new member can arrive before its Accept (it delivers
    both at once), and would otherwise be refused for good."""
    return await Follow.exists(
        account__local=True,
        target_id=group.id,
        state__in=(FollowState.ACCEPTED, FollowState.PENDING),
    )


def _from_group_origin(group: Account, inner: ASObject) -> bool:
    """The announced activity and its actor are on the group's own origin (trusted embedded)."""
    return (
        inner.id is not None
        and inner.actor_id is not None
        and same_origin(inner.id, group.uri)
        and same_origin(inner.actor_id, group.uri)
    )


async def receive_group_announce(fed: Federation, group: Account, activity: ASObject) -> None:
    """``Announce{Create|Update|Delete|Like}`` from a remote group a local member follows."""
    if group.actor_type is not ActorType.GROUP:
        raise NotAccepted("only a group announces activities")
    await incoming.ensure_actor_may_post(group)
    inner = activity.object
    if inner is None or inner.id is None:
        raise NotAccepted("the announced activity is not embedded")
    if inner.has_type("Announce") or inner.type not in ANNOUNCEABLE:
        raise NotAccepted(f"an Announce of a {inner.type} is not followed")
    if not await has_local_member(group):
        raise NotAccepted(f"no one here is a member of {group.uri}")
    budget = FetchBudget()
    if inner.type == "Create":
        await _announced_create(fed, group, activity, inner, budget)
    elif inner.type == "Update":
        await _announced_update(fed, group, inner, budget)
    elif inner.type == "Delete":
        await _announced_delete(fed, group, inner, budget)
    else:
        await _announced_like(fed, group, inner)


async def _announced_post(
    fed: Federation, group: Account, inner: ASObject, budget: FetchBudget
) -> tuple[ASObject, Account]:
    """The post an announced activity is about: embedded when the group's origin vouches
    for it, else fetched from its own origin (never a cross-origin embedded copy)."""
    embedded = inner.object
    post_id = inner.object_id
    if post_id is None:
        raise NotAccepted("the announced activity has no object")
    obj: ASObject | None = None
    if (
        embedded is not None
        and embedded.id == post_id
        and _from_group_origin(group, inner)
        and not isinstance(
            check_object_origin(embedded.data, delivered_by_actor=group.uri), OriginRefusal
        )
    ):
        obj = embedded
    if obj is None:
        obj = incoming.fetched_post(await incoming.fetch_object(fed, post_id, budget))
    if not obj.has_type(*incoming.POST_TYPES):
        raise NotAccepted(f"{post_id} is not a post")
    if inner.actor_id is not None and obj.attributed_to_ids != (inner.actor_id,):
        raise NotAccepted(f"{post_id} is not written by {inner.actor_id}")
    return obj, await incoming.author_of(fed, obj, budget)


async def _announced_create(
    fed: Federation, group: Account, activity: ASObject, inner: ASObject, budget: FetchBudget
) -> None:
    status = await Status.get_or_none(uri=inner.object_id or "", reblog_of_id=None)
    if status is None:
        obj, author = await _announced_post(fed, group, inner, budget)
        if not obj.audience:  # stored (and streamed to members) as the group's at once
            obj = ASObject({**obj.data, "audience": group.uri})
        status = await incoming.store_post(fed, obj, author, budget=budget)
    if status is None or status.deleted_at is not None:
        return
    if status.audience is None:
        status.audience = group.uri
        await status.save(update_fields=["audience"])
    elif status.audience != group.uri:
        return  # a post of another community: stored, not shown as this group's
    await _group_boost(group, status, activity)


async def _group_boost(group: Account, status: Status, activity: ASObject) -> None:
    """A top-level public or unlisted post shows as boosted by the group (one per post)."""
    if status.in_reply_to_uri is not None or status.visibility not in _SHOWN_TO_ALL:
        return
    announce_id = activity.require_id()
    if await Status.exists(account_id=group.id, reblog_of_id=status.id) or await Status.exists(
        uri=announce_id
    ):
        return
    now = utcnow()
    to, cc = list(activity.to), list(activity.cc)
    try:
        await Status.create(
            id=new_id(),
            uri=announce_id,
            account=group,
            local=False,
            object_type="Announce",
            reblog_of=status,
            visibility=status.visibility,
            to=to,
            cc=cc,
            audience=group.uri,
            published_at=min(activity.published or now, now),
        )
    except IntegrityError:
        return


async def _announced_update(
    fed: Federation, group: Account, inner: ASObject, budget: FetchBudget
) -> None:
    status = await Status.get_or_none(uri=inner.object_id or "", reblog_of_id=None).select_related(
        "account"
    )
    if status is None or status.local:
        return  # only known remote posts are edited; ours change here, not by hearsay
    if _from_group_origin(group, inner):
        await incoming.update_post(status.account, inner)
        return
    document = await incoming.fetch_object(fed, status.uri, budget)
    fetched = incoming.fetched_post(document)
    update = ASObject(
        {"type": "Update", "id": inner.id, "actor": status.account.uri, "object": fetched.data}
    )
    await incoming.update_post(status.account, update)


async def _announced_delete(
    fed: Federation, group: Account, inner: ASObject, budget: FetchBudget
) -> None:
    status = await Status.get_or_none(uri=inner.object_id or "", reblog_of_id=None).select_related(
        "account"
    )
    if status is None or status.local or status.deleted_at is not None:
        return
    if _from_group_origin(group, inner):
        await incoming.delete_object(fed, status.account, inner)
        return
    # Ask the post's origin: only a 404 or 410 there confirms the deletion.
    if await incoming.is_suspended_uri(status.uri):
        return
    budget.take()
    try:
        await fed.http.fetch_ap(status.uri, auth=fed.signer)
    except HTTPStatusError as exc:
        if exc.status not in (404, 410):
            if exc.retryable:
                raise
            raise NotAccepted(f"cannot confirm the deletion of {status.uri}: {exc}") from None
        deletion = ASObject({"type": "Delete", "actor": status.account.uri, "object": status.uri})
        await incoming.delete_object(fed, status.account, deletion)
        return
    except FetchError as exc:
        if exc.retryable:
            raise
        raise NotAccepted(f"cannot confirm the deletion of {status.uri}: {exc}") from None
    raise NotAccepted(f"{status.uri} still exists at its origin")


async def _announced_like(fed: Federation, group: Account, inner: ASObject) -> None:
    """Likes are counted only when the group's own server vouches for them."""
    if not _from_group_origin(group, inner) or inner.actor_id is None:
        return
    liker = await Account.get_or_none(uri=inner.actor_id)
    if liker is None:
        return
    await incoming.like_post(liker, inner)


async def receive_rejection(group: Account, activity: ASObject) -> None:
    """A remote group refused a local member's post: it no longer counts as in that group."""
    inner = activity.object
    post_id = inner.object_id if inner is not None else None
    if inner is None or post_id is None:
        raise NotAccepted("the Reject names no post")
    status = await Status.get_or_none(uri=post_id, local=True, audience=group.uri)
    if status is None:
        return
    if inner.actor_id is not None and inner.actor_id != (await status.account).uri:
        raise NotAccepted("the Reject names a post of someone else")
    status.audience = None
    await status.save(update_fields=["audience"])
