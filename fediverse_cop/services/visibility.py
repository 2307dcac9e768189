"""Who may see a post: the one policy every read path goes through.

Addressing ↔ visibility, as Mastodon maps them:

| visibility | to | cc |
| --- | --- | --- |
| public | Public | the author's followers, mentioned actors |
| unlisted | the author's followers | Public, mentioned actors |
| private (followers only) | the author's followers | mentioned actors |
| direct | mentioned actors | |

Posts in a community (their ``audience`` is a ``Group``) that are not public or
unlisted (members-only communities, followers-only posts addressed to a group) are
also visible to the group's members: accepted followers of the group, and the
owner, moderators and trainers of a local community. A remote server may fetch
them when it has such a member.
"""

from __future__ import annotations

from collections.abc import Iterable

from fediverse_cop.models import (
    Account,
    ActorType,
    CommunityRole,
    CommunityRoleKind,
    Follow,
    FollowState,
    Status,
    StatusMention,
    Visibility,
)

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_FORMS = frozenset({PUBLIC, "as:Public", "Public"})
# Roles that read a local community without following it.
COMMUNITY_STAFF = (CommunityRoleKind.OWNER, CommunityRoleKind.MODERATOR, CommunityRoleKind.TRAINER)


def is_public_address(value: str) -> bool:
    return value in _PUBLIC_FORMS


def visibility_from_addressing(
    to: Iterable[str], cc: Iterable[str], followers_uri: str | None
) -> Visibility:
    to_list, cc_list = list(to), list(cc)
    if any(is_public_address(v) for v in to_list):
        return Visibility.PUBLIC
    if any(is_public_address(v) for v in cc_list):
        return Visibility.UNLISTED
    if followers_uri and followers_uri in to_list + cc_list:
        return Visibility.PRIVATE
    return Visibility.DIRECT


def addressing(
    visibility: Visibility, followers_uri: str, mentioned: Iterable[str]
) -> tuple[list[str], list[str]]:
    """``(to, cc)`` for a local post of ``visibility`` mentioning ``mentioned``."""
    mentions = list(dict.fromkeys(mentioned))
    if visibility is Visibility.PUBLIC:
        return [PUBLIC], [followers_uri, *mentions]
    if visibility is Visibility.UNLISTED:
        return [followers_uri], [PUBLIC, *mentions]
    if visibility is Visibility.PRIVATE:
        return [followers_uri], mentions
    return mentions, []


async def can_view(status: Status, viewer: Account | None) -> bool:
    """Whether ``viewer`` (None: anonymous) may see ``status``. Deleted posts: nobody; posts
    a community moderator removed: their author only."""
    if status.deleted_at is not None:
        return False
    if status.removed_at is not None:
        return viewer is not None and viewer.id == status.account_id  # type: ignore[attr-defined]
    if status.visibility in (Visibility.PUBLIC, Visibility.UNLISTED):
        return True
    if viewer is None:
        return False
    if viewer.id == status.account_id:  # type: ignore[attr-defined]
        return True
    if await StatusMention.exists(status_id=status.id, account_id=viewer.id):
        return True
    if await member_of_audience(status, viewer):
        return True
    if status.visibility is Visibility.PRIVATE:
        return await Follow.exists(
            account_id=viewer.id,
            target_id=status.account_id,  # type: ignore[attr-defined]
            state=FollowState.ACCEPTED,
        )
    return False


async def _audience_group(status: Status) -> Account | None:
    """The group a non-public post is in (its ``audience``), if that is a known group."""
    if status.visibility in (Visibility.PUBLIC, Visibility.UNLISTED) or not status.audience:
        return None
    return await Account.get_or_none(uri=status.audience, actor_type=ActorType.GROUP)


async def member_of_audience(status: Status, viewer: Account) -> bool:
    """``viewer`` is a member of the group a non-public post is in: an accepted follower,
    or the owner, a moderator or a trainer of a local community."""
    group = await _audience_group(status)
    if group is None:
        return False
    if await Follow.exists(account_id=viewer.id, target_id=group.id, state=FollowState.ACCEPTED):
        return True
    return await CommunityRole.exists(
        community__account_id=group.id, account_id=viewer.id, role__in=COMMUNITY_STAFF
    )


async def server_member_of_audience(status: Status, domain: str) -> bool:
    """Someone on the server ``domain`` is an accepted member of the group a non-public
    post is in."""
    group = await _audience_group(status)
    if group is None:
        return False
    return await Follow.exists(
        target_id=group.id, state=FollowState.ACCEPTED, account__domain=domain
    )


async def server_can_view(status: Status, actor: Account) -> bool:
    """Whether a remote server, signing as ``actor``, may fetch ``status``.

    For a followers-only post any accepted follower on the actor's domain counts
    (authorized fetch is per server, as Mastodon does); a direct post only when
    someone mentioned is on that domain. A non-public post in a group: also when a
    member of the group is on that domain.
    """
    if await can_view(status, actor):
        return True
    if status.deleted_at is not None or actor.domain is None:
        return False
    mentioned_there = await StatusMention.exists(status_id=status.id, account__domain=actor.domain)
    if mentioned_there:
        return True
    if await server_member_of_audience(status, actor.domain):
        return True
    if status.visibility is Visibility.PRIVATE:
        return await Follow.exists(
            account__domain=actor.domain,
            target_id=status.account_id,  # type: ignore[attr-defined]
            state=FollowState.ACCEPTED,
        )
    return False
