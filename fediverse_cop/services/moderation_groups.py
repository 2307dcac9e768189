"""Community moderation, Lemmy's set (FEP-1b12): sent by moderators, announced by the group.

The wire shapes are Lemmy's (``docs/communities.md`` "Moderation", the group
section of ``FEDERATION.md``):

* remove a post or comment: ``Delete{object: post, summary: reason}`` by the
  moderator; restore: ``Undo{Delete}``. Locally ``Status.removed_at``: the post is
  hidden, and restorable;
* ban: ``Block{object: member, target: community, expires?, removeData?}``;
  unban: ``Undo{Block}``. The local state is :func:`groups.ban_member` /
  :func:`groups.lift_ban` (a ``Reject{Follow}`` still ends the membership for
  microblog servers);
* lock a thread: ``Lock{object: post}`` / ``Undo{Lock}``: no new replies;
* pin: ``Add``/``Remove`` of the post to the group's ``featured`` collection
  (a ``StatusPin`` row whose account is the group);
* moderators: ``Add``/``Remove`` of an actor to the moderators collection;
* the community's profile: ``Update{Group}`` sent by the group itself;
* reports: ``Flag`` to the community → a :class:`Report` with ``community`` set;
  ``Resolve{Flag}`` by a moderator.

Every moderation activity about a local community is announced by the group
(``Announce{activity}``) to its followers on group-aware servers; the group's
boosts for microblog servers are undone when a post is removed.

Received: from a remote group a local member follows, a moderation activity
counts only when it arrives announced by the group **and** its actor is in the
group's moderators collection, fetched from the group's origin (and cached for
a while). For a local community, a remote account holding a moderator role may
send the same activities to the group's inbox: they are applied and announced.
Anything else is refused (:class:`NotAccepted`) with no side effect.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tortoise.exceptions import IntegrityError

from activitypub import vocab
from activitypub.errors import FetchError
from activitypub.html import html_to_text
from activitypub.jsonld import DEFAULT_CONTEXT
from activitypub.origins import same_origin
from activitypub.uris import Kind
from activitypub.vocab import ASObject
from fediverse_cop import streaming
from fediverse_cop.converters import local_community_to_as_group
from fediverse_cop.models import (
    Account,
    ActorType,
    Community,
    CommunityRole,
    CommunityRoleKind,
    ContentVisibility,
    PeerSoftware,
    Report,
    Status,
    StatusPin,
    acct_key,
)
from fediverse_cop.services import groups, incoming
from fediverse_cop.services.context import ServerContext, utcnow
from fediverse_cop.services.errors import Invalid, NotFound, ServiceError
from fediverse_cop.services.follows import activity_uri
from fediverse_cop.services.incoming import NotAccepted
from fediverse_cop.services.remote import Federation, fetch_actor
from fediverse_cop.services.visibility import PUBLIC
from outbox.enqueue import enqueue
from outbox.fanout import domain_key, followers_of_kind

log = logging.getLogger(__name__)

Json = dict[str, Any]

# A remote group's moderators collection is fetched again after this long, or sooner
# (but not more often than MODERATORS_RECHECK) when an unknown actor claims to moderate.
MODERATORS_FRESH: Final = timedelta(hours=1)
MODERATORS_RECHECK: Final = timedelta(minutes=5)
MAX_MODERATORS: Final = 1000
_CACHE_SIZE: Final = 1000
MAX_REASON: Final = 1000
MAX_FLAGGED: Final = 100
POST_TYPES: Final = ("Note", "Question", "Page", "Article")


# -- what moderators send -------------------------------------------------------------------------


def _activity(kind: str, actor: str, obj: object, group: Account, **extra: Any) -> Json:
    """A moderation activity in Lemmy's shape: to Public, cc the community, audience set."""
    doc: Json = {
        "@context": copy.deepcopy(list(DEFAULT_CONTEXT)),
        "id": extra.pop("id"),
        "type": kind,
        "actor": actor,
        "to": [PUBLIC],
        "object": obj,
        "cc": [group.uri],
        "audience": group.uri,
    }
    doc.update({key: value for key, value in extra.items() if value is not None})
    return doc


def _without_context(activity: Mapping[str, Any]) -> Json:
    return {key: value for key, value in activity.items() if key != "@context"}


def _undo(ctx: ServerContext, actor: str, inner: Json, group: Account) -> Json:
    """Lemmy's Undo of a moderation activity: the inner one regenerated with a new id."""
    regenerated = {**_without_context(inner), "id": activity_uri(ctx)}
    return _activity("Undo", actor, regenerated, group, id=activity_uri(ctx))


async def _peer_kind(account: Account) -> str:
    inbox = account.shared_inbox_uri or account.inbox_uri
    key = domain_key(inbox) if inbox else None
    if key is None:
        return "microblog"
    known = await PeerSoftware.get_or_none(domain=key[0])
    return known.kind if known is not None else "microblog"


async def announce_moderation(
    ctx: ServerContext,
    community: Community,
    activity: Mapping[str, Any],
    *,
    also: Sequence[str] = (),
    ordering_key: str | None = None,
) -> None:
    """``Announce{activity}`` by the group to its followers on group-aware servers (and to
    ``also``: actor URIs, e.g. the banned member). The activity is not changed."""
    group = community.account
    if not group.followers_uri:
        return
    if community.visibility is ContentVisibility.MEMBERS:
        to, cc = [group.followers_uri], []
    else:
        to, cc = [PUBLIC], [group.followers_uri]
    announce = vocab.announce(
        id=activity_uri(ctx),
        actor=group.uri,
        object=dict(activity),
        to=to,
        cc=cc,
        audience=group.uri,
    )
    recipients = [followers_of_kind(group.followers_uri, "group-aware"), *also]
    await enqueue(announce, group, recipients, ordering_key=ordering_key)


async def _remote_moderator_inboxes(community: Community) -> list[str]:
    """Remote moderators of a local community: the servers a Flag and its Resolve go to."""
    roles = await CommunityRole.filter(
        community_id=community.id, role__in=list(groups.MODERATOR_ROLES), account__local=False
    ).select_related("account")
    return [role.account.uri for role in roles]


# -- who acts -------------------------------------------------------------------------------------


async def acting_moderator(community: Community, by: Account | None) -> Account:
    """The moderator a local action is sent as: ``by`` (who must moderate), else the owner."""
    if by is not None:
        if not await groups.is_moderator(community, by):
            raise Invalid(f"{by.handle} does not moderate {community.account.handle}")
        if not by.local:
            raise Invalid(f"{by.handle} is not a local account: it moderates from its server")
        return by
    owner = await CommunityRole.get_or_none(
        community_id=community.id, role=CommunityRoleKind.OWNER
    ).select_related("account")
    if owner is None:
        raise Invalid(f"{community.account.handle} has no owner to act as")
    account: Account = owner.account
    return account


async def _post_in(fed: Federation, community: Community, status: Status) -> Status:
    if status.reblog_of_id is not None or status.deleted_at is not None:  # type: ignore[attr-defined]
        raise NotFound("no such post")
    found = await groups.local_community_of(fed, status)
    if found is None or found.id != community.id:
        raise Invalid(f"the post is not in {community.account.handle}")
    return status


# -- local state, shared by local and received actions --------------------------------------------


async def _withdraw_group_boost(community: Community, status: Status) -> None:
    """The group's boost of a removed post goes; microblog servers get its ``Undo``."""
    group = community.account
    boost = await Status.get_or_none(account_id=group.id, reblog_of_id=status.id)
    if boost is None:
        return
    await boost.delete()
    if not group.local or not group.followers_uri:
        return
    undo = vocab.undo(
        id=f"{boost.uri}#undo",
        actor=group.uri,
        object=vocab.announce(
            id=boost.uri, actor=group.uri, object=status.uri, to=boost.to, cc=boost.cc
        ),
        to=boost.to,
        cc=boost.cc,
    )
    recipients = [followers_of_kind(group.followers_uri, "microblog")]
    await enqueue(undo, group, recipients, ordering_key=status.uri)


async def _mark_removed(status: Status, reason: str) -> bool:
    if status.removed_at is not None:
        return False
    status.removed_at = utcnow()
    status.removal_reason = reason[:MAX_REASON]
    await status.save(update_fields=["removed_at", "removal_reason"])
    # Gone from every timeline: streams drop it as they do a deleted post.
    await streaming.publish_delete(status.id)
    return True


async def _remove(community: Community, status: Status, reason: str) -> bool:
    if not await _mark_removed(status, reason):
        return False
    await _withdraw_group_boost(community, status)
    return True


async def _restore(fed: Federation, community: Community, status: Status) -> bool:
    if status.removed_at is None:
        return False
    status.removed_at = None
    status.removal_reason = ""
    await status.save(update_fields=["removed_at", "removal_reason"])
    # Visible again: streams show it as they show a newly stored post.
    await streaming.publish_status(status.id)
    if community.account.local:
        await groups.boost_for_microblogs(fed, community, status)
    return True


async def _remove_data(community: Community, member: Account, reason: str) -> int:
    """Lemmy's ``removeData``: every post of the member in the community is removed."""
    posts = await Status.filter(
        account_id=member.id,
        audience=community.account.uri,
        reblog_of_id=None,
        removed_at=None,
        deleted_at=None,
    )
    for status in posts:
        await _remove(community, status, reason)
    return len(posts)


async def _set_lock(status: Status, locked: bool) -> bool:
    if (status.locked_at is not None) == locked:
        return False
    status.locked_at = utcnow() if locked else None
    await status.save(update_fields=["locked_at"])
    return True


async def _personal_pin(actor: Account, object_id: str | None, pinned: bool) -> None:
    """A remote account pins or unpins its own post: kept if we have the post."""
    status = await Status.get_or_none(uri=object_id or "", account_id=actor.id, reblog_of_id=None)
    if status is None:
        return  # a post we never received: nothing to show pinned
    await _set_pin(actor, status, pinned)


async def _set_pin(group: Account, status: Status, pinned: bool) -> bool:
    if not pinned:
        return bool(await StatusPin.filter(account_id=group.id, status_id=status.id).delete())
    if await StatusPin.exists(account_id=group.id, status_id=status.id):
        return False
    try:
        await StatusPin.create(account=group, status=status)
    except IntegrityError:
        return False
    return True


async def _set_moderator(community: Community, account: Account, moderator: bool) -> bool:
    role = await CommunityRole.get_or_none(community_id=community.id, account_id=account.id)
    if moderator:
        if role is not None and role.role in groups.MODERATOR_ROLES:
            return False
        if role is not None and role.role is CommunityRoleKind.BANNED:
            raise Invalid(f"{account.handle} is banned from {community.account.handle}")
        if role is None:
            try:
                await CommunityRole.create(
                    community=community, account=account, role=CommunityRoleKind.MODERATOR
                )
            except IntegrityError:
                return False
            return True
        role.role = CommunityRoleKind.MODERATOR
        await role.save(update_fields=["role"])
        return True
    if role is None or role.role is not CommunityRoleKind.MODERATOR:
        if role is not None and role.role is CommunityRoleKind.OWNER:
            raise Invalid(f"{account.handle} owns {community.account.handle}")
        return False
    await role.delete()
    return True


# -- local moderators' actions --------------------------------------------------------------------


async def remove_post(
    fed: Federation,
    community: Community,
    status: Status,
    *,
    reason: str = "",
    by: Account | None = None,
) -> Json:
    """Remove a post or comment: hidden here, ``Delete`` with the reason announced."""
    moderator = await acting_moderator(community, by)
    await _post_in(fed, community, status)
    if status.removed_at is not None:
        raise Invalid("the post is removed already")
    await _remove(community, status, reason)
    delete = _activity(
        "Delete",
        moderator.uri,
        status.uri,
        community.account,
        id=activity_uri(fed.ctx),
        summary=reason or None,
    )
    await announce_moderation(fed.ctx, community, delete, ordering_key=status.uri)
    return delete


async def restore_post(
    fed: Federation, community: Community, status: Status, *, by: Account | None = None
) -> Json:
    """Restore a removed post: ``Undo{Delete}`` announced, boosted again for microblogs."""
    moderator = await acting_moderator(community, by)
    await _post_in(fed, community, status)
    if status.removed_at is None:
        raise Invalid("the post is not removed")
    delete = _activity(
        "Delete",
        moderator.uri,
        status.uri,
        community.account,
        id=activity_uri(fed.ctx),
        summary=status.removal_reason or None,
    )
    await _restore(fed, community, status)
    undo = _undo(fed.ctx, moderator.uri, delete, community.account)
    await announce_moderation(fed.ctx, community, undo, ordering_key=status.uri)
    return undo


async def _group_aware_member(member: Account) -> list[str]:
    """The banned member's own server hears of the ban when it understands a Block."""
    if member.local or await _peer_kind(member) != "group-aware":
        return []
    return [member.uri]


async def ban(
    fed: Federation,
    community: Community,
    member: Account,
    *,
    reason: str = "",
    expires_at: datetime | None = None,
    remove_data: bool = False,
    by: Account | None = None,
) -> Json:
    """Ban a member: :func:`groups.ban_member` (membership ends with a ``Reject{Follow}``),
    then ``Block{target: community}`` announced to group-aware servers."""
    moderator = await acting_moderator(community, by)
    await groups.ban_member(
        fed, community, member, reason=reason, expires_at=expires_at, by=by or moderator
    )
    if remove_data:
        await _remove_data(community, member, reason)
    block = _activity(
        "Block",
        moderator.uri,
        member.uri,
        community.account,
        id=activity_uri(fed.ctx),
        target=community.account.uri,
        summary=reason or None,
        expires=vocab.format_datetime(expires_at) if expires_at is not None else None,
        removeData=remove_data,
    )
    also = await _group_aware_member(member)
    await announce_moderation(fed.ctx, community, block, also=also, ordering_key=member.uri)
    return block


async def unban(
    fed: Federation, community: Community, member: Account, *, by: Account | None = None
) -> Json:
    """Lift a ban: ``Undo{Block}`` announced (the member may join again)."""
    moderator = await acting_moderator(community, by)
    await groups.lift_ban(community, member, by=by or moderator)
    block = _activity(
        "Block",
        moderator.uri,
        member.uri,
        community.account,
        id=activity_uri(fed.ctx),
        target=community.account.uri,
    )
    undo = _undo(fed.ctx, moderator.uri, block, community.account)
    also = await _group_aware_member(member)
    await announce_moderation(fed.ctx, community, undo, also=also, ordering_key=member.uri)
    return undo


async def lock(
    fed: Federation,
    community: Community,
    status: Status,
    *,
    locked: bool = True,
    reason: str = "",
    by: Account | None = None,
) -> Json:
    """Lock (or unlock) a thread: ``Lock`` (``Undo{Lock}``) of the post, announced."""
    moderator = await acting_moderator(community, by)
    await _post_in(fed, community, status)
    if status.in_reply_to_uri is not None:
        raise Invalid("only a thread's first post is locked")
    if not await _set_lock(status, locked):
        raise Invalid("the thread is locked already" if locked else "the thread is not locked")
    activity = _activity(
        "Lock",
        moderator.uri,
        status.uri,
        community.account,
        id=activity_uri(fed.ctx),
        summary=reason or None,
    )
    if not locked:
        activity = _undo(fed.ctx, moderator.uri, activity, community.account)
    await announce_moderation(fed.ctx, community, activity, ordering_key=status.uri)
    return activity


def _featured_uri(fed: Federation, group: Account) -> str:
    return group.featured_uri or fed.ctx.uris.build(Kind.COMMUNITY_FEATURED, name=group.username)


def _moderators_uri(fed: Federation, group: Account) -> str:
    return fed.ctx.uris.build(Kind.COMMUNITY_MODERATORS, name=group.username)


async def pin(
    fed: Federation,
    community: Community,
    status: Status,
    *,
    pinned: bool = True,
    by: Account | None = None,
) -> Json:
    """Pin (or unpin) a thread: ``Add`` to (``Remove`` from) the group's ``featured``."""
    moderator = await acting_moderator(community, by)
    await _post_in(fed, community, status)
    if status.in_reply_to_uri is not None:
        raise Invalid("only a thread's first post is pinned")
    if not await _set_pin(community.account, status, pinned):
        raise Invalid("the post is pinned already" if pinned else "the post is not pinned")
    activity = _activity(
        "Add" if pinned else "Remove",
        moderator.uri,
        status.uri,
        community.account,
        id=activity_uri(fed.ctx),
        target=_featured_uri(fed, community.account),
    )
    await announce_moderation(fed.ctx, community, activity, ordering_key=status.uri)
    return activity


async def set_moderator(
    fed: Federation,
    community: Community,
    account: Account,
    *,
    moderator: bool = True,
    by: Account | None = None,
) -> Json:
    """Add (or remove) a moderator: ``Add``/``Remove`` to the moderators collection."""
    actor = await acting_moderator(community, by)
    if account.actor_type is not ActorType.PERSON:
        raise Invalid(f"{account.handle} is not a person")
    if not await _set_moderator(community, account, moderator):
        raise Invalid(
            f"{account.handle} is already a moderator of {community.account.handle}"
            if moderator
            else f"{account.handle} is not a moderator of {community.account.handle}"
        )
    activity = _activity(
        "Add" if moderator else "Remove",
        actor.uri,
        account.uri,
        community.account,
        id=activity_uri(fed.ctx),
        target=_moderators_uri(fed, community.account),
    )
    await announce_moderation(fed.ctx, community, activity, ordering_key=activity["target"])
    return activity


async def send_group_update(ctx: ServerContext, community: Community) -> Json:
    """The community's profile changed: ``Update{Group}`` from the group to all followers."""
    group = community.account
    document = local_community_to_as_group(community, group, ctx.uris)
    update = vocab.update(
        id=activity_uri(ctx),
        actor=group.uri,
        object=_without_context(document),
        to=[PUBLIC],
        cc=[group.followers_uri] if group.followers_uri else [],
    )
    if group.followers_uri:
        await enqueue(update, group, [group.followers_uri], ordering_key=group.uri)
    return update


# -- reports --------------------------------------------------------------------------------------


def flag_of(report: Report, reporter: Account, community: Account) -> Json:
    """The ``Flag`` a stored community report stands for (what ``Resolve`` names)."""
    objects: list[str] = list(report.status_uris) or [report.target.uri]
    flag: Json = {
        "id": report.uri,
        "type": "Flag",
        "actor": reporter.uri,
        "object": objects[0] if len(objects) == 1 else objects,
        "to": [community.uri],
        "audience": community.uri,
    }
    if report.comment:
        flag["summary"] = report.comment
    return flag


async def community_reports(
    community: Community, *, include_resolved: bool = False
) -> list[Report]:
    """Reports to the community's moderators, oldest first (open ones only by default)."""
    query = Report.filter(community_id=community.account.id)
    if not include_resolved:
        query = query.filter(resolved_at=None)
    return await query.select_related("reporter", "target", "resolved_by").order_by(
        "created_at", "id"
    )


async def resolve_report(
    fed: Federation, report: Report, *, by: Account | None = None
) -> Json | None:
    """A moderator resolves a community report: ``Resolve{Flag}`` for the reporter's server
    and the servers of remote moderators (None when nothing is sent)."""
    await report.fetch_related("community", "reporter", "target")
    if report.community is None:
        raise Invalid("the report is not a community report")
    community = await groups.community_of_account(report.community)
    if community is None:
        raise Invalid("the report is about a community of another server")
    moderator = await acting_moderator(community, by)
    if report.resolved_at is not None:
        raise Invalid("the report is resolved already")
    report.resolved_at = utcnow()
    report.resolved_by = moderator
    await report.save(update_fields=["resolved_at", "resolved_by_id"])
    if not report.uri:
        return None
    resolve = _activity(
        "Resolve",
        moderator.uri,
        flag_of(report, report.reporter, community.account),
        community.account,
        id=activity_uri(fed.ctx),
    )
    resolve["to"] = [community.account.uri]
    resolve.pop("cc", None)
    recipients = await _remote_moderator_inboxes(community)
    if not report.reporter.local:
        recipients.append(report.reporter.uri)
    if recipients:
        await _announce_to(fed.ctx, community, resolve, recipients)
    return resolve


async def _announce_to(
    ctx: ServerContext, community: Community, activity: Mapping[str, Any], recipients: list[str]
) -> None:
    """``Announce`` of a report activity only to the servers that moderate (as Mbin, PieFed)."""
    group = community.account
    announce = vocab.announce(
        id=activity_uri(ctx),
        actor=group.uri,
        object=dict(activity),
        to=list(dict.fromkeys(recipients)),
        audience=group.uri,
    )
    await enqueue(announce, group, recipients, ordering_key=str(activity.get("id") or ""))


# -- received: to a local community's inbox -------------------------------------------------------


def _local_community_uri(fed: Federation, uris: Sequence[str]) -> str | None:
    for uri in uris:
        parsed = fed.ctx.uris.parse(uri)
        if parsed is not None and parsed.kind is Kind.COMMUNITY:
            return uri
    return None


async def _local_community(uri: str | None) -> Community | None:
    if uri is None:
        return None
    account = await Account.get_or_none(uri=uri, local=True, actor_type=ActorType.GROUP)
    if account is None or account.is_suspended:
        return None
    return await groups.community_of_account(account)


async def _local_post(fed: Federation, uri: str | None) -> tuple[Community, Status] | None:
    return await groups.community_post(fed, uri)


def _reason(activity: ASObject) -> str:
    return html_to_text(str(activity.summary or ""))[:MAX_REASON]


async def _require_moderates(community: Community, actor: Account) -> None:
    if not await groups.is_moderator(community, actor):
        log.info("%s refused: %s does not moderate it", community.account.handle, actor.uri)
        raise NotAccepted(f"{actor.uri} does not moderate {community.account.uri}")


async def receive_removal(fed: Federation, actor: Account, activity: ASObject) -> bool:
    """A ``Delete`` of someone else's post in a local community by one of its (remote)
    moderators: removed and announced. False when it is not that (the ordinary rules apply:
    an author's own deletion, or a refusal by the owner check)."""
    found = await _local_post(fed, activity.object_id)
    if found is None:
        return False
    community, status = found
    if status.account_id == actor.id or not await groups.is_moderator(community, actor):  # type: ignore[attr-defined]
        return False
    if status.deleted_at is None:
        await _remove(community, status, _reason(activity))
        await announce_moderation(fed.ctx, community, activity.data, ordering_key=status.uri)
    return True


def _inner(activity: ASObject, *types: str) -> ASObject:
    inner = activity.object
    if inner is None or inner.type not in types:
        raise NotAccepted(f"an Undo of {types} must embed the undone activity")
    return inner


async def receive_undo_removal(fed: Federation, actor: Account, activity: ASObject) -> None:
    """``Undo{Delete}`` by a moderator of a local community: the post is restored."""
    inner = _inner(activity, "Delete")
    found = await _local_post(fed, inner.object_id)
    if found is None:
        raise NotAccepted("the restored post is not in a community here")
    community, status = found
    await _require_moderates(community, actor)
    if await _restore(fed, community, status):
        await announce_moderation(fed.ctx, community, activity.data, ordering_key=status.uri)


async def _member_named(fed: Federation, uri: str | None) -> Account:
    if uri is None:
        raise NotAccepted("the activity names no account")
    try:
        return await fetch_actor(fed, uri)
    except ServiceError as exc:
        raise NotAccepted(f"{uri} could not be fetched: {exc}") from None


async def receive_ban(fed: Federation, actor: Account, activity: ASObject) -> None:
    """``Block{target: a local community}`` by one of its moderators: banned, announced."""
    community = await _local_community(activity.target_id)
    if community is None:
        raise NotAccepted(f"{activity.target_id} is not a community here")
    await _require_moderates(community, actor)
    member = await _member_named(fed, activity.object_id)
    expires = vocab.parse_datetime(activity.get("expires") or activity.get("endTime"))
    if expires is not None and expires <= utcnow():
        return  # a ban that has ended already
    try:
        await groups.ban_member(
            fed, community, member, reason=_reason(activity), expires_at=expires, by=actor
        )
    except Invalid as exc:
        raise NotAccepted(str(exc)) from None
    if activity.get("removeData") is True:
        await _remove_data(community, member, _reason(activity))
    also = await _group_aware_member(member)
    await announce_moderation(fed.ctx, community, activity.data, also=also, ordering_key=member.uri)


async def receive_unban(fed: Federation, actor: Account, activity: ASObject) -> None:
    inner = _inner(activity, "Block")
    community = await _local_community(inner.target_id)
    if community is None:
        raise NotAccepted(f"{inner.target_id} is not a community here")
    await _require_moderates(community, actor)
    member = await Account.get_or_none(uri=inner.object_id or "")
    if member is None:
        return
    try:
        await groups.lift_ban(community, member, by=actor)
    except NotFound:
        return
    also = await _group_aware_member(member)
    await announce_moderation(fed.ctx, community, activity.data, also=also, ordering_key=member.uri)


async def receive_lock(
    fed: Federation, actor: Account, activity: ASObject, *, locked: bool
) -> None:
    """``Lock`` (or ``Undo{Lock}``) of a post of a local community by one of its moderators."""
    target = activity if locked else _inner(activity, "Lock")
    found = await _local_post(fed, target.object_id)
    if found is None:
        raise NotAccepted("the locked post is not in a community here")
    community, status = found
    await _require_moderates(community, actor)
    if await _set_lock(status, locked):
        await announce_moderation(fed.ctx, community, activity.data, ordering_key=status.uri)


async def receive_collection_change(fed: Federation, actor: Account, activity: ASObject) -> None:
    """``Add``/``Remove`` to a local community's ``featured`` or moderators collection; or a
    remote person pinning one of their own posts (Mastodon's ``featured``)."""
    adding = activity.type == "Add"
    if not actor.local and actor.featured_uri and activity.target_id == actor.featured_uri:
        await _personal_pin(actor, activity.object_id, adding)
        return
    parsed = fed.ctx.uris.parse(activity.target_id or "")
    if parsed is None or parsed.kind not in (Kind.COMMUNITY_FEATURED, Kind.COMMUNITY_MODERATORS):
        raise NotAccepted(f"{activity.type} to {activity.target_id} is not supported")
    community = await _local_community(fed.ctx.uris.build(Kind.COMMUNITY, name=parsed.name))
    if community is None:
        raise NotAccepted(f"{activity.target_id} is not a community's collection here")
    await _require_moderates(community, actor)
    if parsed.kind is Kind.COMMUNITY_FEATURED:
        found = await _local_post(fed, activity.object_id)
        if found is None or found[0].id != community.id or found[1].in_reply_to_uri is not None:
            raise NotAccepted("only a thread of the community is pinned")
        changed = await _set_pin(community.account, found[1], adding)
    else:
        account = await _member_named(fed, activity.object_id)
        try:
            changed = await _set_moderator(community, account, adding)
        except Invalid as exc:
            raise NotAccepted(str(exc)) from None
    if changed:
        await announce_moderation(
            fed.ctx, community, activity.data, ordering_key=activity.target_id
        )


async def receive_group_update(fed: Federation, actor: Account, activity: ASObject) -> bool:
    """``Update{Group}`` of a local community by one of its moderators (Lemmy lets them edit
    the name and description): applied, announced, and the group sends its own ``Update``.
    False when the object is not a local community."""
    obj = activity.object
    community = await _local_community(activity.object_id)
    if community is None or obj is None:
        return False
    await _require_moderates(community, actor)
    group = community.account
    name = html_to_text(str(obj.name or ""))[:255]
    if name:
        group.display_name = name
    summary = obj.source_content if obj.source_content is not None else obj.summary
    if summary is not None:
        group.note = html_to_text(str(summary))[:5000]
    await group.save(update_fields=["display_name", "note", "updated_at"])
    await community.save(update_fields=["updated_at"])
    await announce_moderation(fed.ctx, community, activity.data, ordering_key=group.uri)
    await send_group_update(fed.ctx, community)
    return True


async def receive_flag(fed: Federation, actor: Account, activity: ASObject) -> bool:
    """A ``Flag`` addressed to a local community: a report in its moderators' queue, sent on
    to remote moderators' servers. False when no local community is addressed."""
    addressed = [*activity.to, *activity.cc, *activity.audience]
    community = await _local_community(_local_community_uri(fed, addressed))
    if community is None:
        return False
    raw = activity.get("object")
    uris = [u for u in (raw if isinstance(raw, list) else [raw]) if isinstance(u, str)]
    uris = uris[:MAX_FLAGGED]
    group_uri = community.account.uri
    posts = await Status.filter(uri__in=uris, audience=group_uri, reblog_of_id=None).select_related(
        "account"
    )
    if posts:
        target = posts[0].account
        posts = [p for p in posts if p.account_id == target.id]  # type: ignore[attr-defined]
    else:
        named = await Account.filter(uri__in=uris, actor_type=ActorType.PERSON).first()
        if named is None:
            raise NotAccepted("the report names nothing of the community")
        target = named
    flag_id = activity.require_id()
    comment = html_to_text(str(activity.summary or activity.content or ""))[:5000]
    report, created = await Report.get_or_create(
        uri=flag_id,
        defaults={
            "reporter": actor,
            "target": target,
            "status_uris": [p.uri for p in posts],
            "comment": comment,
            "community": community.account,
        },
    )
    if created:
        log.info("report %s to %s by %s", report.id, community.account.handle, actor.handle)
        recipients = [uri for uri in await _remote_moderator_inboxes(community) if uri != actor.uri]
        if recipients:
            await _announce_to(fed.ctx, community, activity.data, recipients)
    return True


async def receive_resolve(fed: Federation, actor: Account, activity: ASObject) -> None:
    """``Resolve{Flag}`` by a moderator: the report is resolved (of a local community, it is
    announced to the other remote moderators)."""
    flag_id = activity.object_id
    report = await Report.get_or_none(uri=flag_id or "").select_related("community")
    if report is None or report.community is None:
        raise NotAccepted(f"no community report {flag_id}")
    community = await groups.community_of_account(report.community)
    if community is None:
        raise NotAccepted("the report is about a community of another server")
    await _require_moderates(community, actor)
    if report.resolved_at is not None:
        return
    report.resolved_at = utcnow()
    report.resolved_by = actor
    await report.save(update_fields=["resolved_at", "resolved_by_id"])
    recipients = [uri for uri in await _remote_moderator_inboxes(community) if uri != actor.uri]
    if recipients:
        await _announce_to(fed.ctx, community, activity.data, recipients)


# -- received: announced by a remote group --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cached:
    fetched_at: datetime
    uris: frozenset[str]


# Group account id → its moderators as last fetched from its origin (per process).
_MODERATORS: OrderedDict[int, _Cached] = OrderedDict()


async def _fetch_moderators(fed: Federation, group: Account) -> frozenset[str]:
    try:
        document = (await fed.http.fetch_ap(group.uri, auth=fed.signer)).document
    except FetchError as exc:
        if exc.retryable:
            raise
        raise NotAccepted(f"{group.uri} could not be fetched: {exc}") from None
    collection_uri = None
    for key in ("attributedTo", "moderators"):
        value = ASObject(document).get(key)
        if isinstance(value, str):
            collection_uri = value
            break
    if collection_uri is None or not same_origin(collection_uri, group.uri):
        return frozenset()
    try:
        collection = (await fed.http.fetch_ap(collection_uri, auth=fed.signer)).document
        items = collection.get("orderedItems", collection.get("items"))
        first = collection.get("first")
        if items is None and isinstance(first, str) and same_origin(first, group.uri):
            page = (await fed.http.fetch_ap(first, auth=fed.signer)).document
            items = page.get("orderedItems", page.get("items"))
        elif items is None and isinstance(first, Mapping):
            items = first.get("orderedItems", first.get("items"))
    except FetchError as exc:
        if exc.retryable:
            raise
        raise NotAccepted(f"the moderators of {group.uri} could not be fetched: {exc}") from None
    values = items if isinstance(items, list) else [items] if items else []
    uris: set[str] = set()
    for item in values[:MAX_MODERATORS]:
        uri = item.get("id") if isinstance(item, Mapping) else item
        if isinstance(uri, str):
            uris.add(uri)
    return frozenset(uris)


async def remote_moderators(
    fed: Federation, group: Account, *, wanted: str | None = None
) -> frozenset[str]:
    """The actor URIs in a remote group's moderators collection (``attributedTo``), from the
    group's origin; cached for MODERATORS_FRESH, asked again early (at most every
    MODERATORS_RECHECK) when ``wanted`` is not among them."""
    now = utcnow()
    cached = _MODERATORS.get(group.id)
    if cached is not None:
        age = now - cached.fetched_at
        if age < MODERATORS_FRESH and (
            wanted is None or wanted in cached.uris or age < MODERATORS_RECHECK
        ):
            return cached.uris
    uris = await _fetch_moderators(fed, group)
    _MODERATORS[group.id] = _Cached(now, uris)
    _MODERATORS.move_to_end(group.id)
    while len(_MODERATORS) > _CACHE_SIZE:
        _MODERATORS.popitem(last=False)
    return uris


def forget_moderators(group: Account) -> None:
    _MODERATORS.pop(group.id, None)


async def _announced_by_moderator(fed: Federation, group: Account, activity: ASObject) -> ASObject:
    """The moderation activity a remote group announced, when it may be applied here."""
    if group.local or group.actor_type is not ActorType.GROUP:
        raise NotAccepted("only a group announces moderation")
    await incoming.ensure_actor_may_post(group)
    inner = activity.object
    if inner is None or inner.id is None or inner.actor_id is None:
        raise NotAccepted("the announced moderation activity is not embedded")
    if not await groups.has_local_member(group):
        raise NotAccepted(f"no one here is a member of {group.uri}")
    if inner.actor_id != group.uri and inner.actor_id not in await remote_moderators(
        fed, group, wanted=inner.actor_id
    ):
        log.info(
            "%s announced %s by %s, who does not moderate it", group.uri, inner.type, inner.actor_id
        )
        raise NotAccepted(f"{inner.actor_id} is not a moderator of {group.uri}")
    return inner


async def _group_post(group: Account, uri: str | None) -> Status | None:
    """A stored post of the remote group (its ``audience``)."""
    if uri is None:
        return None
    return await Status.get_or_none(uri=uri, reblog_of_id=None, audience=group.uri).select_related(
        "account"
    )


async def _remote_community(group: Account) -> Community:
    """The row that keeps what we know of a remote group (its bans of our accounts)."""
    community = await Community.get_or_none(account_id=group.id)
    if community is None:
        try:
            community = await Community.create(account=group)
        except IntegrityError:
            community = await Community.get(account_id=group.id)
    community.account = group
    return community


async def receive_announced_removal(fed: Federation, group: Account, activity: ASObject) -> bool:
    """``Announce{Delete}`` of a post of the group by someone other than its author: a
    moderator's removal. False when the Delete is the author's own (or of an unknown post):
    :func:`groups.receive_group_announce` handles those."""
    inner = activity.object
    if inner is None or inner.type != "Delete":
        return False
    status = await Status.get_or_none(uri=inner.object_id or "", reblog_of_id=None).select_related(
        "account"
    )
    if status is None or status.account.uri == inner.actor_id:
        return False
    await _announced_by_moderator(fed, group, activity)
    if status.audience != group.uri:
        raise NotAccepted(f"{status.uri} is not a post of {group.uri}")
    if status.deleted_at is None:
        await _remove(await _remote_community(group), status, _reason(inner))
    return True


async def receive_announced_update(fed: Federation, group: Account, activity: ASObject) -> bool:
    """``Announce{Update{Group}}``: the group's profile is fetched again from its origin.
    False for any other Update (posts are :func:`groups.receive_group_announce`'s)."""
    inner = activity.object
    obj = inner.object if inner is not None else None
    object_id = inner.object_id if inner is not None else None
    is_group = obj is not None and obj.has_type("Group")
    if inner is None or inner.type != "Update" or not (is_group or object_id == group.uri):
        return False
    await _announced_by_moderator(fed, group, activity)
    if object_id != group.uri:
        raise NotAccepted("a group announces updates of itself only")
    try:
        await fetch_actor(fed, group.uri, refresh=True)
    except ServiceError as exc:
        raise NotAccepted(f"{group.uri} could not be fetched: {exc}") from None
    forget_moderators(group)
    return True


async def receive_announced(fed: Federation, group: Account, activity: ASObject) -> None:
    """``Announce{Block|Lock|Add|Remove|Undo|Flag|Resolve}`` from a remote group."""
    inner = await _announced_by_moderator(fed, group, activity)
    kind = inner.type
    if kind == "Undo":
        undone = inner.object
        if undone is None or undone.type not in ("Delete", "Block", "Lock"):
            raise NotAccepted("the announced Undo does not embed a moderation activity")
        if undone.actor_id != inner.actor_id and inner.actor_id != group.uri:
            raise NotAccepted("an Undo by someone else than the undone activity's actor")
        await _apply_announced(fed, group, undone, undo=True)
        return
    await _apply_announced(fed, group, inner, undo=False)


async def _apply_announced(fed: Federation, group: Account, inner: ASObject, *, undo: bool) -> None:
    kind = inner.type
    community = await _remote_community(group)
    if kind == "Delete":
        status = await _group_post(group, inner.object_id)
        if status is not None and undo:
            await _restore(fed, community, status)
        elif status is not None:
            await _remove(community, status, _reason(inner))
    elif kind == "Lock":
        status = await _group_post(group, inner.object_id)
        if status is not None:
            await _set_lock(status, not undo)
    elif kind == "Block":
        await _announced_ban(fed, community, inner, undo=undo)
    elif kind in ("Add", "Remove"):
        await _announced_collection_change(fed, group, community, inner)
    elif kind in ("Flag", "Resolve"):
        await _announced_report(fed, group, inner)
    else:
        raise NotAccepted(f"an Announce of a {kind} is not followed")


async def _announced_ban(
    fed: Federation, community: Community, inner: ASObject, *, undo: bool
) -> None:
    group = community.account
    if inner.target_id != group.uri:
        raise NotAccepted("the Block is not a ban from this group")
    member = await Account.get_or_none(uri=inner.object_id or "")
    if member is None:
        return  # nobody we know: nothing to record
    if undo:
        await CommunityRole.filter(
            community_id=community.id, account_id=member.id, role=CommunityRoleKind.BANNED
        ).delete()
        return
    expires = vocab.parse_datetime(inner.get("expires") or inner.get("endTime"))
    if expires is not None and expires <= utcnow():
        return
    role = await CommunityRole.get_or_none(community_id=community.id, account_id=member.id)
    if role is None:
        with contextlib.suppress(IntegrityError):
            await CommunityRole.create(
                community=community,
                account=member,
                role=CommunityRoleKind.BANNED,
                expires_at=expires,
                reason=_reason(inner),
            )
    elif role.role is not CommunityRoleKind.OWNER:
        role.role, role.expires_at, role.reason = CommunityRoleKind.BANNED, expires, _reason(inner)
        await role.save(update_fields=["role", "expires_at", "reason"])
    if inner.get("removeData") is True:
        await _remove_data(community, member, _reason(inner))


async def _announced_collection_change(
    fed: Federation, group: Account, community: Community, inner: ASObject
) -> None:
    adding = inner.type == "Add"
    target = inner.target_id
    if target is not None and target == group.featured_uri:
        status = await _group_post(group, inner.object_id)
        if status is not None:
            await _set_pin(group, status, adding)
        return
    if target is not None and same_origin(target, group.uri):
        # The moderators collection (or another of the group's): ask its origin again.
        forget_moderators(group)
        return
    raise NotAccepted(f"{inner.type} to {target} is not followed")


async def _announced_report(fed: Federation, group: Account, inner: ASObject) -> None:
    """A report forwarded by a remote group to its moderators' servers: kept for the local
    moderators of that group (its ``Resolve`` resolves it)."""
    local_moderators = await Account.filter(
        uri__in=list(await remote_moderators(fed, group)), local=True
    ).count()
    if not local_moderators:
        raise NotAccepted(f"no one here moderates {group.uri}")
    if inner.type == "Resolve":
        flag_id = inner.object_id
        report = await Report.get_or_none(uri=flag_id or "", community_id=group.id)
        if report is not None and report.resolved_at is None:
            report.resolved_at = utcnow()
            report.resolved_by = await Account.get_or_none(uri=inner.actor_id or "")
            await report.save(update_fields=["resolved_at", "resolved_by_id"])
        return
    reporter = await _member_named(fed, inner.actor_id)
    raw = inner.get("object")
    uris = [u for u in (raw if isinstance(raw, list) else [raw]) if isinstance(u, str)]
    post = await _group_post(group, uris[0] if uris else None)
    target = post.account if post is not None else None
    if target is None and uris:
        target = await Account.get_or_none(uri=uris[0])
    if target is None:
        raise NotAccepted("the report names nothing known here")
    await Report.get_or_create(
        uri=inner.require_id(),
        defaults={
            "reporter": reporter,
            "target": target,
            "status_uris": [post.uri] if post is not None else [],
            "comment": html_to_text(str(inner.summary or inner.content or ""))[:5000],
            "community": group,
        },
    )


# -- looking things up (CLI) ----------------------------------------------------------------------


async def find_account(text: str) -> Account:
    """A known account by local name, ``user@host`` handle or actor URI."""
    query = text.strip().removeprefix("@")
    if query.startswith(("http://", "https://")):
        account = await Account.get_or_none(uri=query)
    elif "@" in query:
        user, _, domain = query.partition("@")
        account = await Account.get_or_none(acct_key=acct_key(user, domain))
        if account is None:
            account = await Account.get_or_none(acct_key=acct_key(user, None), local=True)
    else:
        account = await Account.get_or_none(acct_key=acct_key(query, None), local=True)
    if account is None:
        raise NotFound(f"no account {text!r} known here")
    return account


async def find_post(text: str) -> Status:
    """A stored post by id, URI or URL."""
    query = text.strip()
    status = None
    if query.isascii() and query.isdigit():
        status = await Status.get_or_none(id=int(query), reblog_of_id=None)
    if status is None:
        status = await Status.get_or_none(uri=query, reblog_of_id=None)
    if status is None:
        status = await Status.filter(url=query, reblog_of_id=None).first()
    if status is None:
        raise NotFound(f"no post {text!r}")
    return status
