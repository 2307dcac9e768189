"""The read side of federation: what other servers GET from us.

Discovery (WebFinger, host-meta, NodeInfo), actor documents for people
(``/users/{name}``), communities (``/c/{name}``) and the instance actor
(``/actor``), and the actors' collections. Actor and collection paths come from
:data:`activitypub.uris.ROUTE_TEMPLATES`, so every URI we hand out has a route.

Handlers are thin: a query below finds the row (and decides visibility: only
local, non-suspended actors of the right type exist here), a converter from
:mod:`fediverse_cop.converters` builds the document. An actor that does not
exist and one that is suspended answer with the same 404.

A members-only community's outbox, featured and resources collections are served
only to a signed request from a server with an accepted member of the community;
to anyone else they answer that same 404. Its actor, followers count and
moderators stay public, so that anyone can find it and ask to join.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from activitypub.nodeinfo import build_nodeinfo_links, nodeinfo_content_type
from activitypub.uris import ROUTE_TEMPLATES, Kind
from activitypub.vocab import tombstone
from activitypub.webfinger import (
    JRD_CONTENT_TYPE,
    Handle,
    InvalidHandle,
    LocalResource,
    ResourceRefused,
    parse_resource,
)
from fediverse_cop.converters import (
    as_ordered_collection,
    as_ordered_collection_page,
    instance_to_nodeinfo,
    local_account_to_as_actor,
    local_account_to_jrd,
    local_community_to_as_group,
)
from fediverse_cop.models import (
    Account,
    ActorType,
    Community,
    CommunityRole,
    CommunityRoleKind,
    Follow,
    FollowState,
    Status,
    Visibility,
    acct_key,
)
from fediverse_cop.services import private_groups, resources
from fediverse_cop.services.accounts import INSTANCE_ACTOR_USERNAME
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.instance import get_instance
from fediverse_cop.services.statuses import outbox_activities
from fediverse_cop.web.negotiation import AS2_CONTENT_TYPE, wants_activity_json
from fediverse_cop.web.objects import signed_requester

__all__ = [
    "HOST_META_PATH",
    "NODEINFO_20_PATH",
    "NODEINFO_21_PATH",
    "NODEINFO_PATH",
    "WEBFINGER_PATH",
    "instance_actor_name",
    "routes",
]

Json = dict[str, Any]
Endpoint = Callable[[Request], Awaitable[Response]]

WEBFINGER_PATH: Final = "/.well-known/webfinger"
HOST_META_PATH: Final = "/.well-known/host-meta"
NODEINFO_PATH: Final = "/.well-known/nodeinfo"
NODEINFO_20_PATH: Final = "/nodeinfo/2.0"
NODEINFO_21_PATH: Final = "/nodeinfo/2.1"

# Everything served here is public, so any web page may read it.
CORS: Final = {"Access-Control-Allow-Origin": "*"}
_MAX_RESOURCE: Final = 1024
_CURSOR: Final = re.compile(r"^[0-9]{1,20}$")
_HANDLE_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
# Owners first, then moderators: the order of the moderators collection.
_MODERATOR_RANK: Final = {CommunityRoleKind.OWNER: 0, CommunityRoleKind.MODERATOR: 1}


# -- responses -------------------------------------------------------------------


def _json(
    content: Any,
    *,
    media_type: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        orjson.dumps(content), status_code=status_code, headers=headers, media_type=media_type
    )


def _activity_json(
    content: Json, *, headers: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    return _json(
        content,
        media_type=AS2_CONTENT_TYPE,
        headers={**CORS, **(headers or {})},
        status_code=status_code,
    )


def not_found() -> Response:
    """The one 404 of this module: unknown, suspended and foreign look the same."""
    return _json({"error": "Not Found"}, media_type="application/json", status_code=404)


def bad_request(message: str) -> Response:
    return _json({"error": message}, media_type="application/json", status_code=400)


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


# -- queries -----------------------------------------------------------------------


def instance_actor_name(domain: str) -> str:
    """The user name the instance actor is known by: the host name, as on Mastodon.

    A ``:port`` is dropped (a user name cannot hold a colon); a host that still
    is not a valid name (an IPv6 literal) falls back to the stored name.
    """
    host = domain.rsplit(":", 1)[0] if not domain.endswith("]") else domain
    return host if _HANDLE_NAME.match(host) else INSTANCE_ACTOR_USERNAME


async def find_local_actor(name: str, actor_type: ActorType) -> Account | None:
    """The local, non-suspended actor of this type with this (case-insensitive) name."""
    return await Account.get_or_none(
        acct_key=acct_key(name, None),
        local=True,
        actor_type=actor_type,
        suspended_at__isnull=True,
    )


async def find_instance_actor() -> Account | None:
    return await find_local_actor(INSTANCE_ACTOR_USERNAME, ActorType.APPLICATION)


async def find_local_community(name: str) -> Community | None:
    """The community (with its account loaded) of a local, non-suspended group."""
    return (
        await Community.filter(
            account__acct_key=acct_key(name, None),
            account__local=True,
            account__actor_type=ActorType.GROUP,
            account__suspended_at__isnull=True,
        )
        .select_related("account")
        .first()
    )


async def find_webfinger_target(ctx: ServerContext, resource: LocalResource) -> Account | None:
    """The local actor a parsed WebFinger resource names, if it may be shown."""
    if resource.kind is Kind.INSTANCE_ACTOR:
        return await find_instance_actor()
    if resource.name is None:
        return None
    if resource.kind is Kind.USER:
        return await find_local_actor(resource.name, ActorType.PERSON)
    if resource.kind is Kind.COMMUNITY:
        return await find_local_actor(resource.name, ActorType.GROUP)
    # acct: people and communities share one namespace; the instance actor has its own name.
    if resource.name.casefold() == instance_actor_name(ctx.domain).casefold():
        return await find_instance_actor()
    return await Account.get_or_none(
        acct_key=acct_key(resource.name, None), local=True, suspended_at__isnull=True
    )


async def count_followers(account: Account) -> int:
    return await Follow.filter(target=account, state=FollowState.ACCEPTED).count()


async def count_following(account: Account) -> int:
    return await Follow.filter(account=account, state=FollowState.ACCEPTED).count()


async def community_moderator_uris(account: Account) -> list[str]:
    """Actor URIs of a community's owner and moderators (not suspended): by role, then id."""
    roles = await CommunityRole.filter(
        community__account=account,
        role__in=list(_MODERATOR_RANK),
        account__suspended_at__isnull=True,
    ).select_related("account")
    roles.sort(key=lambda role: (_MODERATOR_RANK[role.role], role.id))
    return [role.account.uri for role in roles]


async def count_local_users() -> int:
    """People with an account here: approved, not suspended (no groups, no instance actor)."""
    return await Account.filter(
        local=True, actor_type=ActorType.PERSON, approved=True, suspended_at__isnull=True
    ).count()


async def count_local_communities() -> int:
    return await Community.filter(account__local=True, account__suspended_at__isnull=True).count()


# -- discovery -------------------------------------------------------------------


def _webfinger_refusal(resource: str) -> Response:
    """A resource we will not answer: 404 when it is well formed (foreign, not an actor
    URL), 400 when it is neither an http(s) URL nor a handle."""
    if resource.lower().startswith(("http://", "https://")):
        return not_found()
    try:
        Handle.parse(resource)
    except InvalidHandle:
        return bad_request("resource is not an acct: URI or one of our actor URLs")
    return not_found()


async def webfinger(request: Request) -> Response:
    ctx = _ctx(request)
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        return bad_request("the resource parameter is required")
    if len(resource) > _MAX_RESOURCE:
        return bad_request("resource is too long")
    if resource.lower() == f"acct:{ctx.domain}@{ctx.domain}":
        # Mastodon's name for the instance actor; with a port it is not a valid handle.
        parsed: LocalResource | ResourceRefused = LocalResource(name=None, kind=Kind.INSTANCE_ACTOR)
    else:
        parsed = parse_resource(resource, ctx.domain, scheme=ctx.settings.scheme)
    if isinstance(parsed, ResourceRefused):
        return _webfinger_refusal(resource)
    account = await find_webfinger_target(ctx, parsed)
    if account is None:
        return not_found()
    name = (
        instance_actor_name(ctx.domain)
        if account.actor_type is ActorType.APPLICATION
        else account.username
    )
    jrd = local_account_to_jrd(account, subject_name=name, domain=ctx.domain)
    return _json(jrd, media_type=JRD_CONTENT_TYPE, headers=CORS)


async def host_meta(request: Request) -> Response:
    template = html.escape(f"{_ctx(request).settings.base_url}{WEBFINGER_PATH}?resource={{uri}}")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{template}"/>\n'
        "</XRD>\n"
    )
    return Response(body, media_type="application/xrd+xml; charset=utf-8", headers=CORS)


async def nodeinfo_links(request: Request) -> Response:
    ctx = _ctx(request)
    document = build_nodeinfo_links(ctx.settings.base_url, ctx.uris.instance_actor())
    return _json(document, media_type="application/json", headers=CORS)


def _nodeinfo(version: Literal["2.0", "2.1"]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        ctx = _ctx(request)
        instance = await get_instance()
        document = instance_to_nodeinfo(
            version,
            domain=ctx.domain,
            instance=instance,
            registrations=instance.registrations if instance else ctx.settings.registrations,
            users_total=await count_local_users(),
            communities=await count_local_communities(),
        )
        return _json(document, media_type=nodeinfo_content_type(version), headers=CORS)

    endpoint.__name__ = f"nodeinfo_{version.replace('.', '')}"
    return endpoint


# -- actors --------------------------------------------------------------------------


def _profile_page(document: Json, handle: str) -> str:
    """A small HTML page for browsers that follow an actor URL."""
    name = html.escape(str(document.get("name") or handle))
    actor = html.escape(str(document["id"]))
    summary = str(document.get("summary") or "")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{name} ({html.escape(handle)})</title>\n"
        f'<link rel="alternate" type="{AS2_CONTENT_TYPE}" href="{actor}">\n'
        "</head>\n<body>\n<main>\n"
        f"<h1>{name}</h1>\n"
        f'<p class="handle">{html.escape(handle)}</p>\n'
        f'<div class="note">{summary}</div>\n'
        "</main>\n</body>\n</html>\n"
    )


def _actor_response(request: Request, document: Json, handle: str) -> Response:
    """AS2 JSON or the profile page, as the request's ``Accept`` asks; both vary on it."""
    headers = {"Vary": "Accept"}
    if wants_activity_json(request.headers.get("accept")):
        return _activity_json(document, headers=headers)
    return Response(
        _profile_page(document, handle),
        media_type="text/html; charset=utf-8",
        headers={**headers, "Content-Security-Policy": "default-src 'none'"},
    )


async def user_actor(request: Request) -> Response:
    account = await find_local_actor(request.path_params["name"], ActorType.PERSON)
    if account is None:
        closed = await Account.get_or_none(
            acct_key=acct_key(request.path_params["name"], None),
            local=True,
            actor_type=ActorType.PERSON,
            deleted_at__isnull=False,
        )
        if closed is not None:
            return _activity_json(
                tombstone(id=closed.uri, former_type="Person", deleted=closed.deleted_at),
                status_code=410,
            )
        return not_found()
    handle = f"@{account.username}@{_ctx(request).domain}"
    moved_to: str | None = None
    moved_id: int | None = account.moved_to_id  # type: ignore[attr-defined]
    if moved_id is not None:
        target = await Account.get_or_none(id=moved_id)
        moved_to = target.uri if target is not None else None
    document = local_account_to_as_actor(account, moved_to=moved_to)
    return _actor_response(request, document, handle)


async def community_actor(request: Request) -> Response:
    community = await find_local_community(request.path_params["name"])
    if community is None:
        return not_found()
    ctx = _ctx(request)
    account = community.account
    document = local_community_to_as_group(community, account, ctx.uris)
    return _actor_response(request, document, f"@{account.username}@{ctx.domain}")


async def instance_actor(request: Request) -> Response:
    account = await find_instance_actor()
    if account is None:
        return not_found()
    ctx = _ctx(request)
    name = instance_actor_name(ctx.domain)
    document = local_account_to_as_actor(account, preferred_username=name)
    return _actor_response(request, document, f"@{name}@{ctx.domain}")


# -- collections -------------------------------------------------------------------------

CollectionBuilder = Callable[[Request, Account, str], Awaitable[Response]]

# What a members-only community serves only to servers with a member.
MEMBERS_ONLY_COLLECTIONS: Final = frozenset(
    {Kind.COMMUNITY_OUTBOX, Kind.COMMUNITY_FEATURED, Kind.COMMUNITY_RESOURCES}
)


async def _members_may_read(request: Request, account: Account) -> bool:
    """False when ``account`` is a members-only community and the request is not signed by
    a server with one of its members."""
    community = await private_groups.members_only_community(account)
    if community is None:
        return True
    return await private_groups.server_may_read(community, await signed_requester(request))


def _collection(kind: Kind, actor_type: ActorType, build: CollectionBuilder) -> Route:
    """A route for one collection of a local actor: 404 unless the name is such an actor."""

    async def endpoint(request: Request) -> Response:
        account = await find_local_actor(request.path_params["name"], actor_type)
        if account is None:
            return not_found()
        if kind in MEMBERS_ONLY_COLLECTIONS and not await _members_may_read(request, account):
            return not_found()
        collection_id = _ctx(request).uris.build(kind, name=account.username)
        return await build(request, account, collection_id)

    endpoint.__name__ = str(kind)
    return Route(ROUTE_TEMPLATES[kind], endpoint, methods=["GET"], name=str(kind))


async def _followers(request: Request, account: Account, collection_id: str) -> Response:
    # Only the size: the items stay private, as Mastodon hides them by default.
    total = await count_followers(account)
    return _activity_json(as_ordered_collection(collection_id, total_items=total))


async def _following(request: Request, account: Account, collection_id: str) -> Response:
    total = await count_following(account)
    return _activity_json(as_ordered_collection(collection_id, total_items=total))


OUTBOX_PAGE = 20


async def _outbox(request: Request, account: Account, collection_id: str) -> Response:
    """The outbox: its size and first page, or a page (``?page=true``, with an optional
    ``max_id``/``min_id`` cursor), newest first. Only public and unlisted posts and
    boosts are listed; a page costs three queries whatever it holds."""
    public = Status.filter(
        account=account,
        local=True,
        deleted_at=None,
        visibility__in=[Visibility.PUBLIC, Visibility.UNLISTED],
    )
    query = request.query_params
    if query.get("page") != "true":
        first = f"{collection_id}?page=true"
        total = await public.count()
        return _activity_json(as_ordered_collection(collection_id, total_items=total, first=first))
    cursor = ""
    bounds: dict[str, int] = {}
    for key in ("max_id", "min_id"):
        value = query.get(key)
        if value is None:
            continue
        if not _CURSOR.match(value):
            return bad_request(f"{key} must be a number")
        cursor += f"&{key}={value}"
        bounds[key] = int(value)
    page_query = public.select_related("reblog_of")
    if "max_id" in bounds:
        page_query = page_query.filter(id__lt=bounds["max_id"])
    if "min_id" in bounds:
        page_query = page_query.filter(id__gt=bounds["min_id"]).order_by("id")
        page = list(reversed(await page_query.limit(OUTBOX_PAGE)))
    else:
        page = await page_query.order_by("-id").limit(OUTBOX_PAGE)
    items = await outbox_activities(_ctx(request).uris, account, page)
    page_id = f"{collection_id}?page=true{cursor}"
    return _activity_json(
        as_ordered_collection_page(
            page_id,
            part_of=collection_id,
            items=items,
            next_page=f"{collection_id}?page=true&max_id={page[-1].id}" if page else None,
            prev_page=f"{collection_id}?page=true&min_id={page[0].id}" if page else None,
        )
    )


async def _empty(request: Request, account: Account, collection_id: str) -> Response:
    return _activity_json(as_ordered_collection(collection_id, total_items=0, items=[]))


async def _resources(request: Request, account: Account, collection_id: str) -> Response:
    """A community's resources: a paged collection (``?page=true`` gives the first page,
    ``max_id`` the next ones), newest first, each item the resource's ``Note``."""
    if request.query_params.get("page") == "true":
        max_id = request.query_params.get("max_id")
        if max_id is not None and not _CURSOR.match(max_id):
            return bad_request("max_id must be a number")
        items, next_id = await resources.library_page(
            _ctx(request).uris, account, max_id=int(max_id) if max_id else None
        )
        cursor = f"&max_id={max_id}" if max_id else ""
        page = as_ordered_collection_page(
            f"{collection_id}?page=true{cursor}",
            part_of=collection_id,
            items=items,
            next_page=f"{collection_id}?page=true&max_id={next_id}" if next_id else None,
        )
        return _activity_json(page)
    first = f"{collection_id}?page=true"
    total = await resources.library_size(account)
    return _activity_json(as_ordered_collection(collection_id, total_items=total, first=first))


async def _community_featured(request: Request, account: Account, collection_id: str) -> Response:
    """A community's pinned posts, resources first among them (embedded, with their titles)."""
    items = await resources.featured_items(_ctx(request).uris, account)
    document = as_ordered_collection(collection_id, total_items=len(items), items=[])
    document["orderedItems"] = items
    return _activity_json(document)


async def _moderators(request: Request, account: Account, collection_id: str) -> Response:
    items = await community_moderator_uris(account)
    return _activity_json(as_ordered_collection(collection_id, total_items=len(items), items=items))


_PERSON = ActorType.PERSON
_GROUP = ActorType.GROUP

routes: list[BaseRoute] = [
    Route(WEBFINGER_PATH, webfinger, methods=["GET"]),
    Route(HOST_META_PATH, host_meta, methods=["GET"]),
    Route(NODEINFO_PATH, nodeinfo_links, methods=["GET"]),
    Route(NODEINFO_20_PATH, _nodeinfo("2.0"), methods=["GET"]),
    Route(NODEINFO_21_PATH, _nodeinfo("2.1"), methods=["GET"]),
    Route(ROUTE_TEMPLATES[Kind.USER], user_actor, methods=["GET"], name=str(Kind.USER)),
    Route(
        ROUTE_TEMPLATES[Kind.COMMUNITY], community_actor, methods=["GET"], name=str(Kind.COMMUNITY)
    ),
    Route(
        ROUTE_TEMPLATES[Kind.INSTANCE_ACTOR],
        instance_actor,
        methods=["GET"],
        name=str(Kind.INSTANCE_ACTOR),
    ),
    _collection(Kind.USER_FOLLOWERS, _PERSON, _followers),
    _collection(Kind.USER_FOLLOWING, _PERSON, _following),
    _collection(Kind.USER_OUTBOX, _PERSON, _outbox),
    _collection(Kind.USER_FEATURED, _PERSON, _empty),
    _collection(Kind.COMMUNITY_FOLLOWERS, _GROUP, _followers),
    _collection(Kind.COMMUNITY_FOLLOWING, _GROUP, _following),
    _collection(Kind.COMMUNITY_OUTBOX, _GROUP, _outbox),
    _collection(Kind.COMMUNITY_FEATURED, _GROUP, _community_featured),
    _collection(Kind.COMMUNITY_MODERATORS, _GROUP, _moderators),
    _collection(Kind.COMMUNITY_RESOURCES, _GROUP, _resources),
]
