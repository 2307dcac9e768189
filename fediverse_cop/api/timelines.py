"""Timelines in the client API: home, public, hashtag, list, and an account's (or
community's) statuses.

Each is one query built by :mod:`fediverse_cop.services.timelines`, paginated by
status id with ``max_id``/``since_id``/``min_id``/``limit`` and a ``Link`` header,
and serialized with a fixed number of queries. The viewer's ``hide`` filters of the
timeline's context then take matching posts out of the page (which may come out
shorter; the ``Link`` header still follows the rows read).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from tortoise.queryset import QuerySet

from fediverse_cop.api.auth import optional_user, require_user
from fediverse_cop.api.entities import Serializer
from fediverse_cop.api.pagination import Page, link_header, parse_id
from fediverse_cop.api.params import Params
from fediverse_cop.api.responses import ok
from fediverse_cop.models import Account, Status
from fediverse_cop.prepared import PreparedQueries, Value
from fediverse_cop.services import filters, lists, timelines
from fediverse_cop.services.errors import NotFound
from fediverse_cop.services.timelines import AccountFilter, PublicFilter

RECORD_NOT_FOUND = "Record not found"
MAX_TAGS = 4

# Home and public timelines are read with SQL built once per shape (fediverse_cop.prepared).
_PREPARED = PreparedQueries(Status)
_BOUNDS = ("max_id", "since_id", "min_id")

Rows = Callable[[Page], Awaitable[list[Status]]]


def _query_rows(query: QuerySet[Status]) -> Rows:
    async def read(page: Page) -> list[Status]:
        return page.arrange(await page.apply(query))

    return read


def _stand_in_viewer(account_id: int) -> Account:
    """An account with nothing but an id: a build that reads anything else of the viewer
    (which the prepared SQL could not vary with) fails instead of caching it."""
    stand_in = Account.__new__(Account)
    object.__setattr__(stand_in, "id", account_id)
    return stand_in


def _prepared_rows(
    shape: Hashable,
    build: Callable[[Account | None], QuerySet[Status]],
    viewer: Account | None,
    facts: timelines.ViewerFacts,
) -> Rows:
    """Rows of ``build(viewer)``, whose SQL depends on nothing but ``shape``, the viewer's
    id and the page: built once per shape and page size, then run with their values.

    A viewer with timed mutes gets the query built afresh: it compares with the clock.
    """
    if viewer is not None and facts.timed_mutes:
        return _query_rows(build(viewer))

    async def read(page: Page) -> list[Status]:
        values: dict[str, int] = {}
        if viewer is not None:
            values["viewer"] = viewer.id
        for name in _BOUNDS:
            bound = getattr(page, name)
            if bound is not None:
                values[name] = bound

        def make(stand: Mapping[str, Value]) -> QuerySet[Status]:
            ids = {name: int(value) for name, value in stand.items()}
            stand_viewer = _stand_in_viewer(ids["viewer"]) if "viewer" in ids else None
            bounds = Page(**{name: ids.get(name) for name in _BOUNDS}, limit=page.limit)
            return bounds.apply(build(stand_viewer))

        rows = await _PREPARED.fetch((shape, page.limit), make, **values)
        return page.arrange(rows)

    return read


async def _page(
    request: Request,
    viewer: Account | None,
    read: Rows,
    context: str,
    facts: timelines.ViewerFacts = timelines.EVERYTHING,
) -> Response:
    page = Page.of(await Params.read(request))
    rows = await read(page)
    serializer = Serializer(request.app.state.ctx, viewer)
    shown = rows
    if viewer is not None and rows:
        compiled = filters.CompiledFilters()
        if facts.filters:
            compiled = await filters.active_filters(viewer)
        serializer.filters = compiled
        hidden = await filters.hidden_ids(rows, compiled, context)
        shown = [s for s in rows if s.id not in hidden]
    data = await serializer.statuses(shown)
    return ok(data, headers=link_header(request, [s.id for s in rows], page))


def _public_filter(params: Params) -> PublicFilter:
    return PublicFilter(
        local=params.flag("local"),
        remote=params.flag("remote"),
        only_media=params.flag("only_media"),
    )


def _viewer(stand_in: Account | None) -> Account:
    if stand_in is None:
        raise ValueError("this timeline has a viewer")
    return stand_in


async def home(request: Request) -> Response:
    user = await require_user(request, "read:statuses")
    facts = await timelines.viewer_facts(user)
    read = _prepared_rows(
        ("home", facts), lambda viewer: timelines.home(_viewer(viewer), facts), user, facts
    )
    return await _page(request, user, read, "home", facts)


async def public(request: Request) -> Response:
    viewer = await optional_user(request, "read:statuses")
    params = await Params.read(request)
    facts = await timelines.viewer_facts(viewer)
    options = _public_filter(params)
    read = _prepared_rows(
        ("public", options, facts), lambda v: timelines.public(v, options, facts), viewer, facts
    )
    return await _page(request, viewer, read, "public", facts)


async def tag(request: Request) -> Response:
    viewer = await optional_user(request, "read:statuses")
    params = await Params.read(request)
    hashtag = str(request.path_params["hashtag"])
    facts = await timelines.viewer_facts(viewer)
    query = timelines.tagged(
        viewer,
        _public_filter(params),
        any_of=[hashtag, *params.texts("any", max_items=MAX_TAGS)],
        all_of=params.texts("all", max_items=MAX_TAGS),
        none_of=params.texts("none", max_items=MAX_TAGS),
        facts=facts,
    )
    return await _page(request, viewer, _query_rows(query), "public", facts)


async def account_statuses(request: Request) -> Response:
    viewer = await optional_user(request, "read:statuses")
    account_id = parse_id(request.path_params.get("id"))
    account = await Account.get_or_none(id=account_id) if account_id is not None else None
    if account is None or account.is_suspended or account.deleted_at is not None:
        raise NotFound(RECORD_NOT_FOUND)
    params = await Params.read(request)
    options = AccountFilter(
        pinned=params.flag("pinned"),
        only_media=params.flag("only_media"),
        exclude_replies=params.flag("exclude_replies"),
        exclude_reblogs=params.flag("exclude_reblogs"),
        tagged=params.text("tagged", max_length=255) or None,
    )
    query = timelines.of_account(viewer, account, options)
    return await _page(request, viewer, _query_rows(query), "account")


async def list_timeline(request: Request) -> Response:
    """A list's timeline; a joined community's (a list too) is the community's statuses."""
    user = await require_user(request, "read:lists")
    found = await lists.find(user, parse_id(request.path_params["list_id"]))
    return await _page(request, user, _query_rows(lists.timeline(user, found)), "home")


routes: list[BaseRoute] = [
    Route("/api/v1/timelines/home", home, methods=["GET"]),
    Route("/api/v1/timelines/public", public, methods=["GET"]),
    Route("/api/v1/timelines/tag/{hashtag}", tag, methods=["GET"]),
    Route("/api/v1/timelines/list/{list_id}", list_timeline, methods=["GET"]),
    Route("/api/v1/accounts/{id}/statuses", account_statuses, methods=["GET"]),
]
