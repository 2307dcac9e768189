"""Who may see a post: the one policy every read path goes through.

Addressing ↔ visibility, as Mastodon maps them:

| visibility | to | cc |
| --- | --- | --- |
| public | Public | the author's followers, mentioned actors |
| unlisted | the author's followers | Public, mentioned actors |
| private (followers only) | the author's followers | mentioned actors |
| direct | mentioned actors | |
"""

from __future__ import annotations

from collections.abc import Iterable

from fediverse_cop.models import Account, Follow, FollowState, Status, StatusMention, Visibility

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_FORMS = frozenset({PUBLIC, "as:Public", "Public"})


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
    """Whether ``viewer`` (None: anonymous) may see ``status``. Deleted posts: nobody."""
    if status.deleted_at is not None:
        return False
    if status.visibility in (Visibility.PUBLIC, Visibility.UNLISTED):
        return True
    if viewer is None:
        return False
    if viewer.id == status.account_id:  # type: ignore[attr-defined]
        return True
    if await StatusMention.exists(status_id=status.id, account_id=viewer.id):
        return True
    if status.visibility is Visibility.PRIVATE:
        return await Follow.exists(
            account_id=viewer.id,
            target_id=status.account_id,  # type: ignore[attr-defined]
            state=FollowState.ACCEPTED,
        )
    return False


async def server_can_view(status: Status, actor: Account) -> bool:
    """Whether a remote server, signing as ``actor``, may fetch ``status``.

    For a followers-only post any accepted follower on the actor's domain counts
    (authorized fetch is per server, as Mastodon does); a direct post only when
    someone mentioned is on that domain.
    """
    if await can_view(status, actor):
        return True
    if status.deleted_at is not None or actor.domain is None:
        return False
    mentioned_there = await StatusMention.exists(status_id=status.id, account__domain=actor.domain)
    if mentioned_there:
        return True
    if status.visibility is Visibility.PRIVATE:
        return await Follow.exists(
            account__domain=actor.domain,
            target_id=status.account_id,  # type: ignore[attr-defined]
            state=FollowState.ACCEPTED,
        )
    return False
