"""Accounts in the client API: one's own profile, other accounts, follows, blocks, lookup, search.

Communities are accounts with ``group: true``; following one joins it (a request
for approval communities). An account that is suspended, deleted, or the
instance actor answers exactly like a missing one: 404 ``Record not found``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q, Subquery
from tortoise.functions import Max
from tortoise.queryset import QuerySet

from activitypub.webfinger import Handle, InvalidHandle
from fediverse_cop.api.auth import (
    INVALID_TOKEN,
    OUTSIDE_SCOPES,
    USER_REQUIRED,
    Forbidden,
    Unauthorized,
    authenticate,
    optional_user,
    require_user,
)
from fediverse_cop.api.entities import Serializer
from fediverse_cop.api.pagination import Page, link_header, parse_id
from fediverse_cop.api.params import BadRequest, Params, to_bool
from fediverse_cop.api.responses import ok
from fediverse_cop.models import (
    Account,
    AccountBlock,
    ActorType,
    Follow,
    FollowState,
    NotificationType,
    Status,
    Visibility,
    acct_key,
)
from fediverse_cop.services import blocks, follows, groups, media, notifications, remote
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.profiles import federate_profile

RECORD_NOT_FOUND = "Record not found"
NOT_ALLOWED = "This action is not allowed"
MAX_DISPLAY_NAME = 100
MAX_NOTE = 500
MAX_FIELDS = 4
MAX_FIELD_LENGTH = 255
MAX_RELATIONSHIPS = 100
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_URL = re.compile(r"https?://[^\s<>\"']+")


# -- helpers ---------------------------------------------------------------------------------


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def _fed(request: Request) -> remote.Federation:
    fed: remote.Federation = request.app.state.fed
    return fed


def hidden_filter() -> Q:
    """Accounts the API shows: not suspended, not deleted, not the instance actor."""
    return Q(suspended_at__isnull=True, deleted_at__isnull=True) & ~Q(
        actor_type=ActorType.APPLICATION, local=True
    )


def is_shown(account: Account) -> bool:
    return (
        account.suspended_at is None
        and account.deleted_at is None
        and not (account.local and account.actor_type is ActorType.APPLICATION)
    )


async def shown_account(raw_id: Any) -> Account:
    """The account with this id if the API shows it; otherwise 404 as if it did not exist."""
    account_id = parse_id(raw_id)
    account = await Account.get_or_none(id=account_id) if account_id is not None else None
    if account is None or not is_shown(account):
        raise NotFound(RECORD_NOT_FOUND)
    return account


async def relationship(request: Request, viewer: Account, target: Account) -> Response:
    return ok(await Serializer(_ctx(request), viewer).relationship(target))


async def _accounts_page(
    request: Request, viewer: Account | None, rows: Sequence[Any], page: Page, attr: str
) -> Response:
    """A page of accounts taken from rows (follows, blocks) paginated by the rows' ids."""
    accounts = [getattr(row, attr) for row in rows]
    data = await Serializer(_ctx(request), viewer).accounts(accounts)
    return ok(data, headers=link_header(request, [row.id for row in rows], page))


# -- one's own account -----------------------------------------------------------------------


async def verify_credentials(request: Request) -> Response:
    auth = await authenticate(request)
    if auth is None:
        raise Unauthorized(INVALID_TOKEN)
    if not (auth.allows("read:accounts") or auth.allows("profile")):
        raise Forbidden(OUTSIDE_SCOPES)
    if auth.account is None:
        raise Unauthorized(USER_REQUIRED)
    return ok(await Serializer(_ctx(request), auth.account).credential_account(auth.account))


def linkify(text: str) -> str:
    """Plain text as HTML with its http(s) URLs as links (profile field values)."""
    parts: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        url = html.escape(match.group(0))
        parts.append(
            f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer me">{url}</a>'
        )
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def _profile_fields(raw: Any) -> list[dict[str, str]]:
    """``fields_attributes[n][name/value]`` (a mapping or a JSON list) as stored fields."""
    if isinstance(raw, dict):

        def order(key: str) -> tuple[int, str]:
            return (int(key), "") if key.isascii() and key.isdigit() else (1 << 30, key)

        items = [raw[key] for key in sorted(raw, key=order)]
    elif isinstance(raw, list):
        items = raw
    else:
        raise Invalid("fields_attributes must be a list of name and value pairs")
    fields: list[dict[str, str]] = []
    for item in items[:50]:
        if not isinstance(item, dict):
            raise Invalid("fields_attributes must be a list of name and value pairs")
        name = str(item.get("name") or "").strip()
        value = str(item.get("value") or "").strip()
        if not name and not value:
            continue
        if len(name) > MAX_FIELD_LENGTH or len(value) > MAX_FIELD_LENGTH:
            raise Invalid(
                f"Validation failed: a profile field has at most {MAX_FIELD_LENGTH} characters"
            )
        fields.append({"name": name, "value": linkify(value), "source": value})
    if len(fields) > MAX_FIELDS:
        raise Invalid(f"Validation failed: at most {MAX_FIELDS} profile fields")
    return fields


def _source_settings(account: Account, source: dict[str, Any]) -> None:
    if "privacy" in source and source["privacy"] not in (None, ""):
        privacy = str(source["privacy"])
        if privacy not in ("public", "unlisted", "private"):
            raise Invalid("Validation failed: source[privacy] must be public, unlisted or private")
        account.default_visibility = Visibility(privacy)
    if "sensitive" in source and source["sensitive"] is not None:
        account.default_sensitive = to_bool(source["sensitive"], name="source[sensitive]")
    if "language" in source and source["language"] is not None:
        language = str(source["language"]).strip().lower()
        if language and not _LANGUAGE.match(language):
            raise Invalid("Validation failed: source[language] is not an ISO 639 code")
        account.default_language = language or None


async def _store_image(request: Request, account: Account, upload: UploadFile, kind: str) -> str:
    if kind == "avatar":
        return await media.store_profile_image(_ctx(request), account, upload, "avatar")
    return await media.store_profile_image(_ctx(request), account, upload, "header")


async def update_credentials(request: Request) -> Response:
    account = await require_user(request, "write:accounts")
    params = await Params.read(request)
    uploads = [f for f in (params.file("avatar"), params.file("header")) if f is not None]
    try:
        return await _update_credentials(request, account, params)
    finally:
        for upload in uploads:
            await upload.close()


async def _update_credentials(request: Request, account: Account, params: Params) -> Response:
    fed = _fed(request)
    was_locked = account.manually_approves_followers
    if params.has("display_name"):
        name = params.text("display_name") or ""
        if len(name) > MAX_DISPLAY_NAME:
            raise Invalid(
                f"Validation failed: display_name has at most {MAX_DISPLAY_NAME} characters"
            )
        account.display_name = name.strip()
    if params.has("note"):
        note = params.text("note") or ""
        if len(note) > MAX_NOTE:
            raise Invalid(f"Validation failed: note has at most {MAX_NOTE} characters")
        account.note = note
    if params.has("locked"):
        account.manually_approves_followers = params.flag("locked")
    if params.has("bot"):
        account.bot = params.flag("bot")
    if params.has("discoverable"):
        account.discoverable = params.flag("discoverable")
    if params.has("fields_attributes"):
        account.profile_fields = _profile_fields(params.raw("fields_attributes"))
    _source_settings(account, params.mapping("source"))
    for kind in ("avatar", "header"):
        upload = params.file(kind)
        if upload is not None:
            url = await _store_image(request, account, upload, kind)
            setattr(account, f"{kind}_uri", url)
    await account.save()
    if was_locked and not account.manually_approves_followers:
        # An unlocked account accepts the requests that were waiting, as Mastodon does.
        waiting = await Follow.filter(
            target_id=account.id, state=FollowState.PENDING
        ).select_related("account")
        for row in waiting:
            await follows.answer_request(fed, account, row.account, accept=True)
            await notifications.withdraw(account, row.account, NotificationType.FOLLOW_REQUEST)
            await notifications.notify(account, row.account, NotificationType.FOLLOW)
    await federate_profile(fed, account)
    return ok(await Serializer(_ctx(request), account).credential_account(account))


# -- other accounts --------------------------------------------------------------------------


async def get_account(request: Request) -> Response:
    viewer = await optional_user(request, "read:accounts")
    account = await shown_account(request.path_params["id"])
    return ok(await Serializer(_ctx(request), viewer).account(account))


async def _follow_list(request: Request, *, followers: bool) -> Response:
    viewer = await optional_user(request, "read:accounts")
    account = await shown_account(request.path_params["id"])
    page = Page.of(await Params.read(request), maximum=80)
    side = "account" if followers else "target"
    mine = {"target_id" if followers else "account_id": account.id}
    query = Follow.filter(state=FollowState.ACCEPTED, **mine)
    query = query.filter(
        **{f"{side}__suspended_at__isnull": True, f"{side}__deleted_at__isnull": True}
    )
    rows = page.arrange(await page.apply(query).select_related(side))
    return await _accounts_page(request, viewer, rows, page, side)


async def followers(request: Request) -> Response:
    return await _follow_list(request, followers=True)


async def following(request: Request) -> Response:
    return await _follow_list(request, followers=False)


async def _refuse_follow(viewer: Account, target: Account) -> None:
    """Mastodon's answers: oneself is not found, a block or a ban is not allowed."""
    if viewer.id == target.id:
        raise NotFound(RECORD_NOT_FOUND)
    if await AccountBlock.filter(
        Q(account_id=viewer.id, target_id=target.id) | Q(account_id=target.id, target_id=viewer.id)
    ).exists():
        raise Forbidden(NOT_ALLOWED)
    community = await groups.community_of_account(target)
    if community is not None and await groups.is_banned(community, viewer):
        raise Forbidden(NOT_ALLOWED)


async def _notify_request(follower: Account, target: Account, row: Follow) -> None:
    """The target hears of a new follower or request; a community's moderators of a join request."""
    if row.state is FollowState.ACCEPTED:
        await notifications.notify(target, follower, NotificationType.FOLLOW)
        return
    community = await groups.community_of_account(target)
    if community is None:
        await notifications.notify(target, follower, NotificationType.FOLLOW_REQUEST)
        return
    moderators = await Account.filter(
        community_roles__community_id=community.id,
        community_roles__role__in=list(groups.MODERATOR_ROLES),
    )
    for moderator in moderators:
        await notifications.notify(moderator, follower, NotificationType.FOLLOW_REQUEST)


async def follow(request: Request) -> Response:
    viewer = await require_user(request, "write:follows")
    target = await shown_account(request.path_params["id"])
    params = await Params.read(request)
    # Accepted for compatibility; boosts are always shown and posts never notified here.
    params.flag("reblogs", True)
    params.flag("notify", False)
    await _refuse_follow(viewer, target)
    known = await Follow.exists(account_id=viewer.id, target_id=target.id)
    row = await follows.follow(_fed(request), viewer, target)
    if not known:
        await _notify_request(viewer, target, row)
    return await relationship(request, viewer, target)


async def unfollow(request: Request) -> Response:
    viewer = await require_user(request, "write:follows")
    target = await shown_account(request.path_params["id"])
    try:
        await follows.unfollow(_fed(request), viewer, target)
    except NotFound:
        pass  # not following: the relationship says so
    else:
        for kind in (NotificationType.FOLLOW, NotificationType.FOLLOW_REQUEST):
            await notifications.withdraw(target, viewer, kind)
    return await relationship(request, viewer, target)


async def relationships(request: Request) -> Response:
    viewer = await require_user(request, "read:follows")
    params = await Params.read(request)
    wanted = [i for i in (parse_id(v) for v in params.texts("id")) if i is not None]
    wanted = list(dict.fromkeys(wanted))[:MAX_RELATIONSHIPS]
    found = {a.id: a for a in await Account.filter(hidden_filter(), id__in=wanted)}
    targets = [found[i] for i in wanted if i in found]
    return ok(await Serializer(_ctx(request), viewer).relationships(targets))


async def block(request: Request) -> Response:
    viewer = await require_user(request, "write:blocks")
    target = await shown_account(request.path_params["id"])
    if target.id == viewer.id:
        raise NotFound(RECORD_NOT_FOUND)
    await blocks.block(_fed(request), viewer, target)
    return await relationship(request, viewer, target)


async def unblock(request: Request) -> Response:
    viewer = await require_user(request, "write:blocks")
    target = await shown_account(request.path_params["id"])
    await blocks.unblock(_fed(request), viewer, target)
    return await relationship(request, viewer, target)


async def list_blocks(request: Request) -> Response:
    viewer = await require_user(request, "read:blocks")
    page = Page.of(await Params.read(request), maximum=80)
    query = AccountBlock.filter(account_id=viewer.id)
    rows = page.arrange(await page.apply(query).select_related("target"))
    return await _accounts_page(request, viewer, rows, page, "target")


# -- finding accounts ------------------------------------------------------------------------


def _split_handle(ctx: ServerContext, text: str) -> tuple[str, str | None]:
    """``name``, ``@name``, ``name@host`` → (name, host or None for ours)."""
    cleaned = text.strip().removeprefix("acct:").lstrip("@")
    name, _, host = cleaned.partition("@")
    if not host or host.lower() == ctx.domain.lower():
        return name, None
    return name, host


async def _find_by_handle(request: Request, text: str, *, resolve: bool) -> Account | None:
    """A known account by handle, or (``resolve``) a remote one looked up with WebFinger."""
    ctx = _ctx(request)
    name, host = _split_handle(ctx, text)
    if not name:
        return None
    if host is not None:
        try:
            handle = Handle.parse(f"{name}@{host}")
        except InvalidHandle:
            return None
        name, host = handle.username, handle.domain
    known = await Account.get_or_none(hidden_filter(), acct_key=acct_key(name, host))
    if known is not None or host is None or not resolve:
        return known
    try:
        found = await remote.resolve_handle(_fed(request), f"{name}@{host}")
    except (NotFound, Invalid):
        return None
    return found if is_shown(found) else None


async def lookup(request: Request) -> Response:
    viewer = await optional_user(request, "read:accounts")
    params = await Params.read(request)
    text = params.text("acct", max_length=600)
    if text is None or not text.strip():
        raise BadRequest("Missing parameter acct")
    account = await _find_by_handle(request, text, resolve=True)
    if account is None:
        raise NotFound(RECORD_NOT_FOUND)
    return ok(await Serializer(_ctx(request), viewer).account(account))


async def search(request: Request) -> Response:
    viewer = await require_user(request, "read:accounts")
    params = await Params.read(request)
    q = (params.text("q", max_length=600) or "").strip()
    if not q:
        raise BadRequest("Missing parameter q")
    limit = params.number("limit", 40, minimum=1, maximum=80) or 40
    offset = params.number("offset", 0, minimum=0, maximum=10_000) or 0
    resolve = params.flag("resolve")
    only_following = params.flag("following")
    results: list[Account] = []
    if "@" in q.lstrip("@") and offset == 0:
        exact = await _find_by_handle(request, q, resolve=resolve)
        if exact is not None:
            results.append(exact)
    prefix = q.lstrip("@").lower()
    query = Account.filter(hidden_filter()).filter(
        Q(acct_key__startswith=prefix) | Q(display_name__istartswith=q.lstrip("@"))
    )
    if only_following:
        query = query.filter(
            follower_rows__account_id=viewer.id, follower_rows__state=FollowState.ACCEPTED
        )
    if results:
        query = query.exclude(id=results[0].id)
        limit -= 1
    if limit > 0:
        results += await query.order_by("-local", "username", "id").offset(offset).limit(limit)
    if only_following and results:
        followed = set(
            await Follow.filter(
                account_id=viewer.id,
                target_id__in=[a.id for a in results],
                state=FollowState.ACCEPTED,
            ).values_list("target_id", flat=True)
        )
        results = [a for a in results if a.id in followed]
    return ok(await Serializer(_ctx(request), viewer).accounts(results))


def _directory_query(local_only: bool) -> QuerySet[Account]:
    query = Account.filter(hidden_filter(), discoverable=True).filter(
        actor_type__in=[ActorType.PERSON, ActorType.GROUP]
    )
    if local_only:
        query = query.filter(local=True)
    return query


async def directory(request: Request) -> Response:
    """Discoverable people and communities: recently active first, or newest first."""
    viewer = await optional_user(request, "read:accounts")
    params = await Params.read(request)
    limit = params.number("limit", 40, minimum=1, maximum=80) or 40
    offset = params.number("offset", 0, minimum=0, maximum=100_000) or 0
    # Anything but "new" means "active", as on Mastodon.
    order = params.text("order", "active")
    local_only = params.flag("local")
    if order == "new":
        newest = _directory_query(local_only).order_by("-created_at", "-id")
        accounts = await newest.offset(offset).limit(limit)
    else:
        accounts = await _active_directory(local_only, offset, limit)
    return ok(await Serializer(_ctx(request), viewer).accounts(accounts))


async def _active_directory(local_only: bool, offset: int, limit: int) -> list[Account]:
    """Accounts by their latest post (newest first), then those that never posted."""
    posted = Status.filter(deleted_at__isnull=True, account__discoverable=True).filter(
        account__suspended_at__isnull=True, account__deleted_at__isnull=True
    )
    posted = posted.filter(account__actor_type__in=[ActorType.PERSON, ActorType.GROUP])
    if local_only:
        posted = posted.filter(account__local=True)
    grouped = posted.annotate(last=Max("id")).group_by("account_id")
    active_total = len(await grouped.values_list("account_id", flat=True))
    ids: list[int] = []
    if offset < active_total:
        rows = await grouped.order_by("-last").offset(offset).limit(limit).values_list("account_id")
        ids = [int(row[0]) for row in rows]
    accounts_by_id = {a.id: a for a in await Account.filter(id__in=ids)}
    accounts = [accounts_by_id[i] for i in ids if i in accounts_by_id]
    if len(accounts) < limit:
        rest_offset = max(0, offset - active_total)
        quiet = _directory_query(local_only).exclude(
            id__in=Subquery(Status.filter(deleted_at__isnull=True).values("account_id"))
        )
        accounts += (
            await quiet.order_by("-created_at", "-id")
            .offset(rest_offset)
            .limit(limit - len(accounts))
        )
    return accounts


routes: list[BaseRoute] = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET"]),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/accounts/relationships", relationships, methods=["GET"]),
    Route("/api/v1/accounts/lookup", lookup, methods=["GET"]),
    Route("/api/v1/accounts/search", search, methods=["GET"]),
    Route("/api/v1/accounts/{id}", get_account, methods=["GET"]),
    Route("/api/v1/accounts/{id}/followers", followers, methods=["GET"]),
    Route("/api/v1/accounts/{id}/following", following, methods=["GET"]),
    Route("/api/v1/accounts/{id}/follow", follow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unfollow", unfollow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/block", block, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unblock", unblock, methods=["POST"]),
    Route("/api/v1/blocks", list_blocks, methods=["GET"]),
    Route("/api/v1/directory", directory, methods=["GET"]),
]
