"""Filters in the client API: v2 (filters, their keywords and statuses) and v1 (one keyword each).

The rules and the matching are in :mod:`fediverse_cop.services.filters`; this
module reads parameters and builds the Filter, FilterKeyword, FilterStatus,
FilterResult and V1 Filter entities. Version 1 ids are keyword ids. Every change
sends ``filters_changed`` to the user's streams (from the services).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fediverse_cop.api.auth import require_user
from fediverse_cop.api.pagination import parse_id
from fediverse_cop.api.params import Params, to_bool
from fediverse_cop.api.responses import iso, ok
from fediverse_cop.models import Account, Filter, FilterKeyword, FilterStatus
from fediverse_cop.services import filters, timelines
from fediverse_cop.services.errors import Invalid, NotFound
from fediverse_cop.services.filters import CompiledFilter, FilterChange, FilterMatch, KeywordChange

Json = dict[str, Any]

# -- entities ------------------------------------------------------------------------------------


def keyword_json(k: FilterKeyword) -> Json:
    return {"id": str(k.id), "keyword": k.keyword, "whole_word": k.whole_word}


def filter_status_json(s: FilterStatus) -> Json:
    return {"id": str(s.id), "status_id": str(s.status_id)}  # type: ignore[attr-defined]


def filter_json(
    row: Filter, keywords: Sequence[FilterKeyword], statuses: Sequence[FilterStatus]
) -> Json:
    return {
        "id": str(row.id),
        "title": row.title,
        "context": list(row.context),
        "expires_at": iso(row.expires_at),
        "filter_action": row.action,
        "keywords": [keyword_json(k) for k in keywords],
        "statuses": [filter_status_json(s) for s in statuses],
    }


def filter_result_json(match: FilterMatch) -> Json:
    """A FilterResult: the filter without its keywords and statuses, and what matched."""
    f: CompiledFilter = match.filter
    return {
        "filter": {
            "id": str(f.id),
            "title": f.title,
            "context": list(f.context),
            "expires_at": iso(f.expires_at),
            "filter_action": f.action,
        },
        "keyword_matches": list(match.keyword_matches) or None,
        "status_matches": [str(i) for i in match.status_matches] or None,
    }


def v1_json(k: FilterKeyword) -> Json:
    row: Filter = k.custom_filter
    return {
        "id": str(k.id),
        "phrase": k.keyword,
        "context": list(row.context),
        "whole_word": k.whole_word,
        "expires_at": iso(row.expires_at),
        "irreversible": row.action == "hide",
    }


async def _filter_response(row: Filter) -> Response:
    keywords = await filters.keywords_of([row])
    statuses = await filters.statuses_of([row])
    return ok(filter_json(row, keywords[row.id], statuses[row.id]))


# -- parameters ----------------------------------------------------------------------------------


def _expires_in(params: Params) -> int | None:
    """``expires_in`` in seconds; an empty value means never (0)."""
    if not params.has("expires_in"):
        return None
    raw = params.raw("expires_in")
    if raw == "":
        return 0
    return params.number("expires_in", 0, minimum=0, maximum=filters.MAX_EXPIRES_IN)


def _context(params: Params) -> tuple[str, ...] | None:
    if not params.has("context"):
        return None
    return tuple(params.texts("context", max_items=len(filters.CONTEXTS) + 5))


def _optional_bool(value: Any, name: str) -> bool | None:
    return None if value is None else to_bool(value, name=name)


def _keyword_changes(params: Params) -> tuple[KeywordChange, ...]:
    changes: list[KeywordChange] = []
    for item in params.items("keywords_attributes", max_items=filters.MAX_KEYWORDS):
        if not isinstance(item, dict):
            raise Invalid("keywords_attributes must be a list of keywords")
        raw_id = item.get("id")
        keyword_id = parse_id(raw_id) if raw_id not in (None, "") else None
        if raw_id not in (None, "") and keyword_id is None:
            raise NotFound(filters.RECORD_NOT_FOUND)
        keyword = item.get("keyword")
        changes.append(
            KeywordChange(
                id=keyword_id,
                keyword=None if keyword is None else str(keyword),
                whole_word=_optional_bool(item.get("whole_word"), "whole_word"),
                destroy=to_bool(item.get("_destroy"), False, "_destroy"),
            )
        )
    return tuple(changes)


def _filter_change(params: Params) -> FilterChange:
    return FilterChange(
        title=params.text("title", max_length=10_000),
        context=_context(params),
        action=params.text("filter_action", max_length=16),
        expires_in=_expires_in(params),
        keywords=_keyword_changes(params),
    )


async def _filter(request: Request, user: Account, key: str = "id") -> Filter:
    return await filters.own_filter(user, parse_id(request.path_params[key]))


# -- v2 filters ----------------------------------------------------------------------------------


async def list_filters(request: Request) -> Response:
    user = await require_user(request, "read:filters")
    rows = await Filter.filter(account_id=user.id).order_by("id")
    keywords = await filters.keywords_of(rows)
    statuses = await filters.statuses_of(rows)
    return ok([filter_json(row, keywords[row.id], statuses[row.id]) for row in rows])


async def create_filter(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    change = _filter_change(await Params.read(request))
    if change.title is None:
        raise Invalid("Validation failed: Title can't be blank")
    if change.context is None:
        raise Invalid("Validation failed: Context can't be blank")
    row = await filters.create_filter(user, change)
    return await _filter_response(row)


async def get_filter(request: Request) -> Response:
    user = await require_user(request, "read:filters")
    return await _filter_response(await _filter(request, user))


async def update_filter(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    row = await _filter(request, user)
    await filters.update_filter(row, _filter_change(await Params.read(request)))
    return await _filter_response(row)


async def delete_filter(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    await filters.delete_filter(await _filter(request, user))
    return ok({})


# -- v2 keywords ---------------------------------------------------------------------------------


async def list_keywords(request: Request) -> Response:
    user = await require_user(request, "read:filters")
    row = await _filter(request, user, "filter_id")
    keywords = await filters.keywords_of([row])
    return ok([keyword_json(k) for k in keywords[row.id]])


async def add_keyword(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    row = await _filter(request, user, "filter_id")
    params = await Params.read(request)
    keyword = params.required_text("keyword", max_length=10_000)
    whole_word = _optional_bool(params.raw("whole_word"), "whole_word")
    return ok(keyword_json(await filters.add_keyword(row, keyword, whole_word)))


async def _keyword(request: Request, user: Account) -> FilterKeyword:
    return await filters.own_keyword(user, parse_id(request.path_params["id"]))


async def get_keyword(request: Request) -> Response:
    user = await require_user(request, "read:filters")
    return ok(keyword_json(await _keyword(request, user)))


async def update_keyword(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    keyword = await _keyword(request, user)
    params = await Params.read(request)
    text = params.text("keyword", max_length=10_000)
    whole_word = _optional_bool(params.raw("whole_word"), "whole_word")
    return ok(keyword_json(await filters.update_keyword(keyword, text, whole_word)))


async def delete_keyword(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    await filters.delete_keyword(await _keyword(request, user))
    return ok({})


# -- v2 statuses ---------------------------------------------------------------------------------


async def list_filter_statuses(request: Request) -> Response:
    user = await require_user(request, "read:filters")
    row = await _filter(request, user, "filter_id")
    statuses = await filters.statuses_of([row])
    return ok([filter_status_json(s) for s in statuses[row.id]])


async def add_filter_status(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    row = await _filter(request, user, "filter_id")
    params = await Params.read(request)
    status_id = parse_id(params.raw("status_id"))
    status = await timelines.get_visible(user, status_id) if status_id is not None else None
    if status is None:
        raise NotFound(filters.RECORD_NOT_FOUND)
    return ok(filter_status_json(await filters.add_status(user, row, status)))


async def get_filter_status(request: Request) -> Response:
    user = await require_user(request, "read:filters")
    row = await filters.own_filter_status(user, parse_id(request.path_params["id"]))
    return ok(filter_status_json(row))


async def delete_filter_status(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    row = await filters.own_filter_status(user, parse_id(request.path_params["id"]))
    await filters.remove_status(row)
    # The removed entry (the OpenAPI description documents a FilterStatus here).
    return ok(filter_status_json(row))


# -- v1 ------------------------------------------------------------------------------------------


def _v1_change(params: Params) -> filters.V1Change:
    return filters.V1Change(
        phrase=params.text("phrase", max_length=10_000),
        context=_context(params),
        irreversible=_optional_bool(params.raw("irreversible"), "irreversible"),
        whole_word=_optional_bool(params.raw("whole_word"), "whole_word"),
        expires_in=_expires_in(params),
    )


async def list_v1(request: Request) -> Response:
    user = await require_user(request, "read:filters")
    return ok([v1_json(k) for k in await filters.v1_keywords(user)])


async def create_v1(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    change = _v1_change(await Params.read(request))
    if change.phrase is None or not change.phrase.strip():
        raise Invalid("Validation failed: Phrase can't be blank")
    if change.context is None:
        raise Invalid("Validation failed: Context can't be blank")
    return ok(v1_json(await filters.create_v1(user, change)))


async def get_v1(request: Request) -> Response:
    user = await require_user(request, "read:filters")
    return ok(v1_json(await _keyword(request, user)))


async def update_v1(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    keyword = await _keyword(request, user)
    change = _v1_change(await Params.read(request))
    return ok(v1_json(await filters.update_v1(keyword, change)))


async def delete_v1(request: Request) -> Response:
    user = await require_user(request, "write:filters")
    await filters.delete_v1(await _keyword(request, user))
    return ok({})


routes: list[BaseRoute] = [
    Route("/api/v2/filters", list_filters, methods=["GET"]),
    Route("/api/v2/filters", create_filter, methods=["POST"]),
    Route("/api/v2/filters/keywords/{id}", get_keyword, methods=["GET"]),
    Route("/api/v2/filters/keywords/{id}", update_keyword, methods=["PUT"]),
    Route("/api/v2/filters/keywords/{id}", delete_keyword, methods=["DELETE"]),
    Route("/api/v2/filters/statuses/{id}", get_filter_status, methods=["GET"]),
    Route("/api/v2/filters/statuses/{id}", delete_filter_status, methods=["DELETE"]),
    Route("/api/v2/filters/{id}", get_filter, methods=["GET"]),
    Route("/api/v2/filters/{id}", update_filter, methods=["PUT"]),
    Route("/api/v2/filters/{id}", delete_filter, methods=["DELETE"]),
    Route("/api/v2/filters/{filter_id}/keywords", list_keywords, methods=["GET"]),
    Route("/api/v2/filters/{filter_id}/keywords", add_keyword, methods=["POST"]),
    Route("/api/v2/filters/{filter_id}/statuses", list_filter_statuses, methods=["GET"]),
    Route("/api/v2/filters/{filter_id}/statuses", add_filter_status, methods=["POST"]),
    Route("/api/v1/filters", list_v1, methods=["GET"]),
    Route("/api/v1/filters", create_v1, methods=["POST"]),
    Route("/api/v1/filters/{id}", get_v1, methods=["GET"]),
    Route("/api/v1/filters/{id}", update_v1, methods=["PUT"]),
    Route("/api/v1/filters/{id}", delete_v1, methods=["DELETE"]),
]
