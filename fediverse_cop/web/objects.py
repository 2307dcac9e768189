"""Local posts at their URIs: ``/objects/{id}``.

Public and unlisted posts are served to anyone. Followers-only and direct posts
are served only to a signed request from a server that has a reader in their
audience; to anyone else the answer is the very same 404 as for a post that
does not exist. A deleted public or unlisted post answers 410 with a Tombstone; a
deleted non-public one answers 404, like one that never existed. A post removed by a
community moderator answers the same way while it stays removed.

Everything of a local members-only community (its members' posts, its own posts
and boosts) is served only to a signed request from a server with an accepted
member of the community, whatever the post's visibility; anyone else gets the 404.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from activitypub import vocab
from activitypub.uris import ROUTE_TEMPLATES, Kind
from fediverse_cop.models import Account, Resource, Status, Visibility
from fediverse_cop.services import private_groups
from fediverse_cop.services.remote import Federation
from fediverse_cop.services.resources import resource_to_as_note
from fediverse_cop.services.statuses import as_note, outbox_activities
from fediverse_cop.services.visibility import server_can_view
from fediverse_cop.web.negotiation import wants_activity_json
from inbox.authenticate import Authenticator

AS2 = "application/activity+json"
NOT_FOUND = {"error": "Not Found"}


def _not_found() -> Response:
    return JSONResponse(NOT_FOUND, status_code=404)


async def _requester(request: Request, fed: Federation) -> Account | None:
    """The signing remote actor; already known when authorized-fetch mode checked it."""
    verified: Account | None = request.scope.get("state", {}).get("requester")
    if verified is not None:
        return verified
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    target = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]]
    return await Authenticator(fed).authenticate(request.method, target, headers, b"")


def _removed(status: Status, public: bool) -> Response:
    """A post a community moderator removed answers as gone (410 with a Tombstone) while it
    stays removed; a non-public one as missing."""
    if not public:
        return _not_found()
    tombstone = vocab.tombstone(
        id=status.uri, former_type=status.object_type, deleted=status.removed_at
    )
    return JSONResponse(tombstone, status_code=410, media_type=AS2)


async def signed_requester(request: Request) -> Account | None:
    """The remote actor that signed this GET, if any (for other routes' access rules)."""
    return await _requester(request, request.app.state.fed)


async def _visible(request: Request, status: Status | None) -> Status | Response:
    """The post when the requester may see it; else the 404 (or 410 for a deleted post)."""
    if status is None or status.account.is_suspended:
        return _not_found()
    requester: Account | None = None
    members_only = await private_groups.members_only_community_of(status)
    if members_only is not None:
        requester = await _requester(request, request.app.state.fed)
        if not await private_groups.server_may_read(members_only, requester):
            return _not_found()
    public = status.visibility in (Visibility.PUBLIC, Visibility.UNLISTED)
    if status.deleted_at is not None and not public:
        return _not_found()  # that a non-public post existed is not for everyone to learn
    if status.deleted_at is not None:
        tombstone = vocab.tombstone(
            id=status.uri, former_type=status.object_type, deleted=status.deleted_at
        )
        return JSONResponse(tombstone, status_code=410, media_type=AS2)
    if status.removed_at is not None:
        return _removed(status, public)
    if not public:
        requester = requester or await _requester(request, request.app.state.fed)
        if requester is None or not await server_can_view(status, requester):
            return _not_found()
    return status


async def _local_post(request: Request) -> Status | Response:
    fed: Federation = request.app.state.fed
    uri = fed.ctx.uris.build(Kind.OBJECT, id=request.path_params["id"])
    status = await Status.get_or_none(uri=uri, local=True, reblog_of_id=None).select_related(
        "account"
    )
    return await _visible(request, status)


async def status_object(request: Request) -> Response:
    status = await _local_post(request)
    if isinstance(status, Response):
        return status
    fed: Federation = request.app.state.fed
    headers = {"Vary": "Accept, Signature"}
    if wants_activity_json(request.headers.get("accept", "")):
        # A community library entry keeps its title, link and licence at its own URI.
        resource = await Resource.get_or_none(status_id=status.id)
        document = (
            resource_to_as_note(resource, status, status.account, fed.ctx.uris)
            if resource is not None
            else await as_note(fed, status, status.account)
        )
        return JSONResponse(document, media_type=AS2, headers=headers)
    page = (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(status.account.handle)}</title>"
        f'<link rel="alternate" type="{AS2}" href="{html.escape(status.uri)}">'
        f"<article>{status.content}</article>"
    )
    return HTMLResponse(page, headers={**headers, "Content-Security-Policy": "default-src 'none'"})


async def status_activity(request: Request) -> Response:
    """The ``Create`` of a local post, under the same rules as the post."""
    status = await _local_post(request)
    if isinstance(status, Response):
        return status
    fed: Federation = request.app.state.fed
    [create] = await outbox_activities(fed.ctx.uris, status.account, [status])
    return JSONResponse(create, media_type=AS2, headers={"Vary": "Signature"})


async def boost_activity(request: Request) -> Response:
    """A local boost's ``Announce`` (other activities are not served, as on Mastodon)."""
    fed: Federation = request.app.state.fed
    uri = fed.ctx.uris.build(Kind.ACTIVITY, id=request.path_params["id"])
    boost = await Status.get_or_none(uri=uri, local=True, reblog_of_id__isnull=False)
    if boost is None:
        return _not_found()
    await boost.fetch_related("account", "reblog_of")
    visible = await _visible(request, boost)
    if isinstance(visible, Response):
        return visible
    [announce] = await outbox_activities(fed.ctx.uris, boost.account, [boost])
    return JSONResponse(announce, media_type=AS2)


routes: list[BaseRoute] = [
    Route(ROUTE_TEMPLATES[Kind.OBJECT], status_object, methods=["GET"]),
    Route(ROUTE_TEMPLATES[Kind.OBJECT_ACTIVITY], status_activity, methods=["GET"]),
    Route(ROUTE_TEMPLATES[Kind.ACTIVITY], boost_activity, methods=["GET"]),
]
