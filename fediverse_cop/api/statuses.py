"""Statuses in the client API: post, read, edit, delete, thread, interactions, bookmarks.

Every read goes through :mod:`fediverse_cop.services.timelines` (visibility as SQL);
a status the viewer may not see answers exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api import scheduled_statuses
from fediverse_cop.api.auth import Forbidden, authenticate, optional_user, require_user
from fediverse_cop.api.entities import Json, Serializer
from fediverse_cop.api.pagination import Page, link_header, parse_id
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import iso, ok
from fediverse_cop.models import (
    Account,
    ActorType,
    Bookmark,
    Favourite,
    Status,
    StatusEdit,
    Visibility,
)
from fediverse_cop.services import scheduled, statuses, timelines
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.statuses import KEEP, Draft, PollDraft

RECORD_NOT_FOUND = "Record not found"


def _fed(request: Request) -> Federation:
    fed: Federation = request.app.state.fed
    return fed


def _serializer(request: Request, viewer: Account | None) -> Serializer:
    return Serializer(request.app.state.ctx, viewer)


def _path_id(request: Request) -> int:
    value = parse_id(request.path_params.get("id"))
    if value is None:
        raise NotFound(RECORD_NOT_FOUND)
    return value


async def _visible(request: Request, viewer: Account | None) -> Status:
    status = await timelines.get_visible(viewer, _path_id(request))
    if status is None:
        raise NotFound(RECORD_NOT_FOUND)
    return status


async def _own(request: Request, user: Account) -> Status:
    status = await Status.get_or_none(id=_path_id(request), account_id=user.id, deleted_at=None)
    if status is None or not status.local:
        raise NotFound(RECORD_NOT_FOUND)
    return status


def _visibility(value: str | None, default: Visibility) -> Visibility:
    if not value:
        return default
    try:
        return Visibility(value)
    except ValueError:
        raise Invalid(f"Validation failed: Visibility {value!r} is not valid") from None


def _media_ids(params: Params) -> tuple[int, ...]:
    ids: list[int] = []
    for raw in params.texts("media_ids", max_items=statuses.MAX_MEDIA + 1):
        media_id = parse_id(raw)
        if media_id is None:
            raise Invalid(f"Validation failed: no attachment {raw} to use")
        ids.append(media_id)
    return tuple(ids)


def _poll(params: Params) -> PollDraft | None:
    raw = params.mapping("poll")
    if not raw:
        return None
    poll = Params(raw)
    options = poll.texts("options", max_items=statuses.POLL_MAX_OPTIONS + 1)
    expires_in = poll.number("expires_in", None, minimum=0)
    if expires_in is None:
        raise Invalid("Validation failed: poll[expires_in] can't be blank")
    return PollDraft(
        options=tuple(options),
        expires_in=expires_in,
        multiple=poll.flag("multiple"),
        hide_totals=poll.flag("hide_totals"),
    )


async def _community(params: Params) -> Account | None:
    community_id = params.raw("community_id")
    if community_id in (None, ""):
        return None
    found = parse_id(community_id)
    account = await Account.get_or_none(id=found) if found is not None else None
    if account is None or account.actor_type is not ActorType.GROUP:
        raise Invalid("Validation failed: community_id is not a community")
    return account


# -- posting, reading, editing, deleting --------------------------------------------------------


async def create_status(request: Request) -> Response:
    user = await require_user(request, "write:statuses")
    params = await Params.read(request)
    scheduled_at = params.text("scheduled_at", max_length=64) or None
    parent = None
    if params.has("in_reply_to_id") and params.text("in_reply_to_id"):
        parent = await timelines.get_visible(user, parse_id(params.raw("in_reply_to_id")) or 0)
        if parent is None:
            raise NotFound(RECORD_NOT_FOUND)
    spoiler = params.text("spoiler_text", "", max_length=statuses.MAX_TEXT) or ""
    draft = Draft(
        text=params.text("status", "", max_length=100_000) or "",
        visibility=_visibility(params.text("visibility"), user.default_visibility),
        spoiler_text=spoiler,
        sensitive=params.flag("sensitive", user.default_sensitive),
        language=params.text("language", user.default_language, max_length=16) or None,
        in_reply_to=parent,
        community=await _community(params),
        media_ids=_media_ids(params),
        poll=_poll(params),
    )
    key = request.headers.get("idempotency-key") or None
    if scheduled_at is not None:
        # Kept for later: the answer is a ScheduledStatus, as Mastodon's.
        auth = await authenticate(request)
        row = await scheduled.schedule(
            user,
            draft,
            scheduled.parse_time(scheduled_at),
            application_id=auth.token.app_id if auth is not None else None,  # type: ignore[attr-defined]
            idempotency=key,
        )
        return ok((await scheduled_statuses.render(request, user, [row]))[0])
    status = await statuses.post_once(_fed(request), user, draft, key)
    return ok(await _serializer(request, user).status(status))


async def get_status(request: Request) -> Response:
    viewer = await optional_user(request, "read:statuses")
    status = await _visible(request, viewer)
    return ok(await _serializer(request, viewer).status(status))


async def delete_status(request: Request) -> Response:
    """Delete one's post; the answer carries ``text`` (the source) so clients can redraft."""
    user = await require_user(request, "write:statuses")
    status = await _own(request, user)
    if status.reblog_of_id is not None:  # type: ignore[attr-defined]
        original = await Status.get(id=status.reblog_of_id)  # type: ignore[attr-defined]
        await statuses.unreblog(_fed(request), user, original)
        return ok(await _serializer(request, user).status(original))
    data = await _serializer(request, user).status(status)
    await statuses.delete(_fed(request), user, status)
    data["text"] = status.text
    return ok(data)


async def edit_status(request: Request) -> Response:
    """Edit a post: Mastodon's semantics, the body is the new post (media and poll included)."""
    user = await require_user(request, "write:statuses")
    status = await _own(request, user)
    params = await Params.read(request)
    await statuses.edit(
        _fed(request),
        user,
        status,
        params.text("status", "", max_length=100_000) or "",
        spoiler_text=(
            params.text("spoiler_text", "", max_length=statuses.MAX_TEXT) or ""
            if params.has("spoiler_text")
            else None
        ),
        sensitive=params.flag("sensitive") if params.has("sensitive") else None,
        language=(
            params.text("language", max_length=16) or None if params.has("language") else KEEP
        ),
        media_ids=_media_ids(params),
        poll=_poll(params),
    )
    return ok(await _serializer(request, user).status(status))


async def status_source(request: Request) -> Response:
    user = await require_user(request, "read:statuses")
    status = await _own(request, user)
    return ok({"id": str(status.id), "text": status.text, "spoiler_text": status.summary})


async def status_history(request: Request) -> Response:
    """Every version of a post, oldest first, the current one last."""
    viewer = await optional_user(request, "read:statuses")
    status = await _visible(request, viewer)
    serializer = _serializer(request, viewer)
    current = await serializer.status(status)
    edits = await StatusEdit.filter(status_id=status.id).order_by("created_at", "id")
    versions: list[Json] = [
        {
            "content": edit.content,
            "spoiler_text": edit.summary,
            "sensitive": edit.sensitive,
            "created_at": iso(edit.created_at),
            "account": current["account"],
            "poll": None,
            "media_attachments": [],
            "emojis": [],
        }
        for edit in edits
    ]
    versions.append(
        {
            "content": current["content"],
            "spoiler_text": current["spoiler_text"],
            "sensitive": current["sensitive"],
            "created_at": current["edited_at"] or current["created_at"],
            "account": current["account"],
            "poll": (
                {"options": [{"title": o["title"]} for o in current["poll"]["options"]]}
                if current["poll"]
                else None
            ),
            "media_attachments": current["media_attachments"],
            "emojis": [],
        }
    )
    return ok(versions)


async def status_context(request: Request) -> Response:
    viewer = await optional_user(request, "read:statuses")
    status = await _visible(request, viewer)
    above = await timelines.ancestors(viewer, status)
    below = await timelines.descendants(viewer, status)
    rendered = await _serializer(request, viewer).statuses([*above, *below])
    return ok({"ancestors": rendered[: len(above)], "descendants": rendered[len(above) :]})


# -- interactions ---------------------------------------------------------------------------------


async def favourite(request: Request) -> Response:
    user = await require_user(request, "write:favourites")
    status = await _visible(request, user)
    if status.reblog_of_id is not None:  # type: ignore[attr-defined]
        raise NotFound(RECORD_NOT_FOUND)
    await statuses.favourite(_fed(request), user, status)
    return ok(await _serializer(request, user).status(status))


async def unfavourite(request: Request) -> Response:
    user = await require_user(request, "write:favourites")
    status = await _visible(request, user)
    await statuses.unfavourite(_fed(request), user, status)
    return ok(await _serializer(request, user).status(status))


async def reblog(request: Request) -> Response:
    user = await require_user(request, "write:statuses")
    status = await _visible(request, user)
    params = await Params.read(request)
    visibility = _visibility(params.text("visibility"), Visibility.PUBLIC)
    if status.reblog_of_id is not None:  # type: ignore[attr-defined]
        status = await Status.get(id=status.reblog_of_id)  # type: ignore[attr-defined]
    if status.visibility not in (Visibility.PUBLIC, Visibility.UNLISTED):
        raise Forbidden("This action is not allowed")
    boost = await statuses.reblog(_fed(request), user, status, visibility)
    return ok(await _serializer(request, user).status(boost))


async def unreblog(request: Request) -> Response:
    user = await require_user(request, "write:statuses")
    status = await _visible(request, user)
    await statuses.unreblog(_fed(request), user, status)
    return ok(await _serializer(request, user).status(status))


async def bookmark(request: Request) -> Response:
    user = await require_user(request, "write:bookmarks")
    status = await _visible(request, user)
    await statuses.bookmark(user, status)
    return ok(await _serializer(request, user).status(status))


async def unbookmark(request: Request) -> Response:
    user = await require_user(request, "write:bookmarks")
    status = await _visible(request, user)
    await statuses.unbookmark(user, status)
    return ok(await _serializer(request, user).status(status))


async def pin(request: Request) -> Response:
    user = await require_user(request, "write:accounts")
    status = await _visible(request, user)
    await statuses.pin(_fed(request), user, status)
    return ok(await _serializer(request, user).status(status))


async def unpin(request: Request) -> Response:
    user = await require_user(request, "write:accounts")
    status = await _visible(request, user)
    await statuses.unpin(_fed(request), user, status)
    return ok(await _serializer(request, user).status(status))


# -- who interacted, and one's own bookmarks and favourites ---------------------------------------


async def _accounts_page(
    request: Request, viewer: Account | None, rows: list[Any], account_of: str
) -> Response:
    page = Page.of(await Params.read(request))
    ordered = page.arrange(rows)
    ids = [getattr(r, account_of) for r in ordered]
    accounts = {a.id: a for a in await Account.filter(id__in=ids)}
    listed = [accounts[i] for i in ids if i in accounts]
    data = await _serializer(request, viewer).accounts(listed)
    return ok(data, headers=link_header(request, [r.id for r in ordered], page))


async def favourited_by(request: Request) -> Response:
    viewer = await optional_user(request, "read:accounts")
    status = await _visible(request, viewer)
    page = Page.of(await Params.read(request))
    rows = await page.apply(Favourite.filter(status_id=status.id))
    return await _accounts_page(request, viewer, list(rows), "account_id")


async def reblogged_by(request: Request) -> Response:
    viewer = await optional_user(request, "read:accounts")
    status = await _visible(request, viewer)
    page = Page.of(await Params.read(request))
    rows = await page.apply(Status.filter(reblog_of_id=status.id, deleted_at=None))
    return await _accounts_page(request, viewer, list(rows), "account_id")


async def _statuses_by_rows(
    request: Request, viewer: Account, rows: list[Any], page: Page
) -> Response:
    ordered = page.arrange(rows)
    wanted = [int(r.status_id) for r in ordered]
    found = {s.id: s for s in await timelines.visible(viewer).filter(id__in=wanted)}
    listed = [found[i] for i in wanted if i in found]
    data = await _serializer(request, viewer).statuses(listed)
    return ok(data, headers=link_header(request, [r.id for r in ordered], page))


async def bookmarks(request: Request) -> Response:
    user = await require_user(request, "read:bookmarks")
    page = Page.of(await Params.read(request))
    rows = await page.apply(Bookmark.filter(account_id=user.id))
    return await _statuses_by_rows(request, user, list(rows), page)


async def favourites(request: Request) -> Response:
    user = await require_user(request, "read:favourites")
    page = Page.of(await Params.read(request))
    rows = await page.apply(Favourite.filter(account_id=user.id))
    return await _statuses_by_rows(request, user, list(rows), page)


routes: list[BaseRoute] = [
    Route("/api/v1/statuses", create_status, methods=["POST"]),
    Route("/api/v1/statuses/{id}", get_status, methods=["GET"]),
    Route("/api/v1/statuses/{id}", delete_status, methods=["DELETE"]),
    Route("/api/v1/statuses/{id}", edit_status, methods=["PUT"]),
    Route("/api/v1/statuses/{id}/source", status_source, methods=["GET"]),
    Route("/api/v1/statuses/{id}/history", status_history, methods=["GET"]),
    Route("/api/v1/statuses/{id}/context", status_context, methods=["GET"]),
    Route("/api/v1/statuses/{id}/favourite", favourite, methods=["POST"]),
    Route("/api/v1/statuses/{id}/unfavourite", unfavourite, methods=["POST"]),
    Route("/api/v1/statuses/{id}/reblog", reblog, methods=["POST"]),
    Route("/api/v1/statuses/{id}/unreblog", unreblog, methods=["POST"]),
    Route("/api/v1/statuses/{id}/bookmark", bookmark, methods=["POST"]),
    Route("/api/v1/statuses/{id}/unbookmark", unbookmark, methods=["POST"]),
    Route("/api/v1/statuses/{id}/pin", pin, methods=["POST"]),
    Route("/api/v1/statuses/{id}/unpin", unpin, methods=["POST"]),
    Route("/api/v1/statuses/{id}/favourited_by", favourited_by, methods=["GET"]),
    Route("/api/v1/statuses/{id}/reblogged_by", reblogged_by, methods=["GET"]),
    Route("/api/v1/bookmarks", bookmarks, methods=["GET"]),
    Route("/api/v1/favourites", favourites, methods=["GET"]),
]
