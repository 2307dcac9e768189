"""Search: ``GET /api/v2/search`` (and the older ``/api/v1/search``).

What is searched, kept simple on purpose:

* accounts: known accounts (local and remote) whose handle or display name starts
  with the query; ``@user@host`` or ``user@host`` matches that handle exactly
  first. ``following=true`` keeps accounts the viewer follows.
* hashtags: known tags starting with the query (``#`` optional).
* statuses: a post URL (or id URI) finds that post if the viewer may see it; other
  text matches the viewer's own posts and public posts of discoverable accounts
  (a substring of the content, newest first). Anonymous text searches find no posts.
* ``resolve=true`` (a user token only, as in Mastodon) fetches what the server does
  not know: a handle through WebFinger, an https URL of an actor, a community
  (Lemmy, PieFed and our Group actors) or a post (public ones only).

Anonymous searches may not resolve or page with ``offset`` (401, as Mastodon).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.expressions import Q

from activitypub.uris import Kind
from fediverse_cop.api.auth import OUTSIDE_SCOPES, Forbidden, Unauthorized, authenticate
from fediverse_cop.api.entities import Serializer
from fediverse_cop.api.pagination import parse_id
from fediverse_cop.api.params import BadRequest, Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import (
    Account,
    ActorType,
    Follow,
    FollowState,
    Status,
    Tag,
    Visibility,
    acct_key,
)
from fediverse_cop.services import lookup
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import Invalid, ServiceError
from fediverse_cop.services.remote import Federation, resolve_handle
from fediverse_cop.services.visibility import can_view

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
MAX_OFFSET = 10_000
MAX_QUERY = 500
KINDS = ("accounts", "statuses", "hashtags")
RESOLVE_NEEDS_LOGIN = (
    "Search queries that resolve remote resources are not supported without authentication"
)
OFFSET_NEEDS_LOGIN = "Search queries pagination is not supported without authentication"


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    kind: str | None
    resolve: bool
    following: bool
    account_id: int | None
    limit: int
    offset: int

    def wants(self, kind: str) -> bool:
        return self.kind is None or self.kind == kind


@dataclass(slots=True)
class Found:
    accounts: list[Account] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)


async def _read(request: Request) -> tuple[Query, Account | None]:
    auth = await authenticate(request)
    if auth is not None and not auth.allows("read:search"):
        raise Forbidden(OUTSIDE_SCOPES)
    viewer = auth.account if auth is not None else None
    params = await Params.read(request)
    text = (params.text("q", max_length=MAX_QUERY) or "").strip()
    if not text:
        raise BadRequest("param is missing or the value is empty: q")
    kind = params.text("type") or None
    query = Query(
        text=text,
        kind=kind,
        resolve=params.flag("resolve"),
        following=params.flag("following"),
        account_id=parse_id(params.raw("account_id")) if params.has("account_id") else None,
        limit=params.number("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT) or 1,
        offset=params.number("offset", 0, maximum=MAX_OFFSET) or 0,
    )
    if viewer is None and query.resolve:
        raise Unauthorized(RESOLVE_NEEDS_LOGIN)
    if viewer is None and query.offset:
        raise Unauthorized(OFFSET_NEEDS_LOGIN)
    return query, viewer


async def search(fed: Federation, query: Query, viewer: Account | None) -> Found:
    found = Found()
    if query.kind is not None and query.kind not in KINDS:
        return found  # an unknown type finds nothing, as in Mastodon
    if query.text.startswith(("http://", "https://")):
        target = await _by_url(fed, query, viewer)
        if isinstance(target, Account) and query.wants("accounts"):
            found.accounts = [target]
        elif isinstance(target, Status) and query.wants("statuses"):
            found.statuses = [target]
        return found
    if query.wants("accounts"):
        found.accounts = await _accounts(fed, query, viewer)
    if query.wants("hashtags"):
        found.tags = await _hashtags(query)
    if query.wants("statuses"):
        found.statuses = await _statuses(query, viewer)
    return found


def _listed() -> Q:
    """Accounts a search may show: not suspended, not closed, not the instance actor."""
    return Q(suspended_at=None, deleted_at=None) & ~Q(actor_type=ActorType.APPLICATION)


async def _by_url(fed: Federation, query: Query, viewer: Account | None) -> Account | Status | None:
    url = query.text
    account = await Account.filter(_listed(), uri=url).first()
    if account is None:
        account = await Account.filter(_listed(), url=url).first()
    if account is not None:
        return account
    status = await Status.get_or_none(uri=url, reblog_of_id=None)
    if status is None:
        status = await Status.filter(url=url, reblog_of_id=None).first()
    if status is not None:
        return status if await can_view(status, viewer) else None
    if not query.resolve or query.offset:
        return None
    try:
        resolved = await lookup.lookup(fed, url)
    except ServiceError:
        return None
    if isinstance(resolved, Account):
        return None if resolved.is_suspended else resolved
    return resolved if await can_view(resolved, viewer) else None


def _handle(ctx: ServerContext, text: str) -> tuple[str, str | None] | None:
    """``(user, domain)`` of ``@user@host`` / ``user@host`` (domain None for ours)."""
    user, at, domain = text.removeprefix("@").partition("@")
    if not at or not user or not domain or "@" in domain:
        return None
    return user, None if domain.lower() == ctx.domain.lower() else domain


async def _accounts(fed: Federation, query: Query, viewer: Account | None) -> list[Account]:
    if query.following and viewer is None:
        return []
    handle = _handle(fed.ctx, query.text)
    exact: Account | None = None
    if handle is not None:
        user, domain = handle
        if query.resolve and query.offset == 0:
            try:
                exact = await resolve_handle(fed, f"{user}@{domain or fed.ctx.domain}")
            except ServiceError:
                exact = None
        else:
            exact = await Account.filter(_listed(), acct_key=acct_key(user, domain)).first()
        if exact is not None and exact.is_suspended:
            exact = None
        term = acct_key(user, domain)
        match = Q(acct_key__startswith=term)
    else:
        term = query.text.removeprefix("@")
        match = Q(acct_key__startswith=term.lower()) | Q(display_name__istartswith=term)
    candidates = Account.filter(_listed(), match).exclude(acct_key__startswith="stale:")
    if query.following and viewer is not None:
        followed = Follow.filter(account_id=viewer.id, state=FollowState.ACCEPTED)
        ids = await followed.values_list("target_id", flat=True)
        candidates = candidates.filter(id__in=list(ids))
        if exact is not None and exact.id not in set(ids):
            exact = None
    rows = (
        await candidates.order_by("-local", "username", "id")
        .offset(query.offset)
        .limit(query.limit)
    )
    if exact is None:
        return rows
    return [exact, *[a for a in rows if a.id != exact.id]][: query.limit]


async def _hashtags(query: Query) -> list[Tag]:
    term = query.text.removeprefix("#").strip().lower()
    if not term or any(c.isspace() for c in term):
        return []
    tags = Tag.filter(name__startswith=term).order_by("name")
    return await tags.offset(query.offset).limit(query.limit)


async def _statuses(query: Query, viewer: Account | None) -> list[Status]:
    if viewer is None:
        return []
    searchable = Q(account_id=viewer.id) | Q(
        visibility=Visibility.PUBLIC, account__discoverable=True, account__suspended_at=None
    )
    posts = Status.filter(searchable, deleted_at=None, reblog_of_id=None).filter(
        content__icontains=query.text
    )
    if query.account_id is not None:
        posts = posts.filter(account_id=query.account_id)
    return await posts.order_by("-id").offset(query.offset).limit(query.limit)


def tag_json(ctx: ServerContext, tag: Tag) -> dict[str, Any]:
    return {
        "id": str(tag.id),
        "name": tag.name,
        "url": ctx.uris.build(Kind.TAG, name=tag.name),
        "history": [],
    }


async def _respond(request: Request, *, v1: bool) -> Response:
    try:
        query, viewer = await _read(request)
    except Invalid as exc:
        if exc.status != 422:
            raise
        # Mastodon's ValidationError entity, which this endpoint documents for 422.
        return ok({"error": str(exc), "details": {}}, status=422)
    fed: Federation = request.app.state.fed
    found = await search(fed, query, viewer)
    ser = Serializer(fed.ctx, viewer)
    hashtags: list[Any] = (
        [t.name for t in found.tags] if v1 else [tag_json(fed.ctx, t) for t in found.tags]
    )
    return ok(
        {
            "accounts": await ser.accounts(found.accounts),
            "statuses": await ser.statuses(found.statuses),
            "hashtags": hashtags,
        }
    )


async def search_v2(request: Request) -> Response:
    return await _respond(request, v1=False)


async def search_v1(request: Request) -> Response:
    return await _respond(request, v1=True)


routes: list[BaseRoute] = [
    Route("/api/v2/search", search_v2, methods=["GET"]),
    Route("/api/v1/search", search_v1, methods=["GET"]),
]
