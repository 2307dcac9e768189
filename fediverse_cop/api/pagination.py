"""Mastodon's pagination: ``max_id``, ``since_id``, ``min_id``, ``limit`` and the ``Link`` header.

Pages are ordered newest first. ``max_id`` pages backwards (older than), ``since_id``
returns the newest items above an id, ``min_id`` the items just above an id (for
reading forwards without gaps). ``Link`` carries ``rel="next"`` (older, ``max_id``)
and ``rel="prev"`` (newer, ``min_id``) with the request's other parameters kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request
from tortoise.models import Model
from tortoise.queryset import QuerySet

from fediverse_cop.api.params import Params

M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


def parse_id(value: Any) -> int | None:
    """An id parameter; anything that is not a whole number is ignored, as if absent."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 <= number < 2**63 else None


@dataclass(frozen=True, slots=True)
class Page:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def of(cls, params: Params, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> Page:
        limit = params.number("limit", default, minimum=1, maximum=maximum)
        return cls(
            max_id=parse_id(params.raw("max_id")),
            since_id=parse_id(params.raw("since_id")),
            min_id=parse_id(params.raw("min_id")),
            limit=limit or default,
        )

    def apply(self, query: QuerySet[M], field: str = "id") -> QuerySet[M]:
        """Filter and order ``query`` by ``field``; call :meth:`arrange` on the rows it returns."""
        if self.max_id is not None:
            query = query.filter(**{f"{field}__lt": self.max_id})
        if self.since_id is not None:
            query = query.filter(**{f"{field}__gt": self.since_id})
        if self.min_id is not None:
            query = query.filter(**{f"{field}__gt": self.min_id}).order_by(field)
        else:
            query = query.order_by(f"-{field}")
        return query.limit(self.limit)

    def arrange(self, rows: Sequence[M]) -> list[M]:
        """Rows newest first, whichever direction :meth:`apply` read them in."""
        return list(reversed(rows)) if self.min_id is not None else list(rows)


def link_header(request: Request, ids: Sequence[int], page: Page) -> dict[str, str]:
    """The ``Link`` header for a page whose rows (newest first) have these pagination ids."""
    if not ids:
        return {}
    kept = [
        (key, value)
        for key, value in request.query_params.multi_items()
        if key not in ("max_id", "min_id", "since_id")
    ]
    # The public address, not the one the proxy in front of us used.
    base = f"{request.app.state.settings.base_url}{request.url.path}"

    def url(extra: tuple[str, str]) -> str:
        return f"{base}?{urlencode([*kept, extra])}"

    links = [
        f'<{url(("max_id", str(ids[-1])))}>; rel="next"',
        f'<{url(("min_id", str(ids[0])))}>; rel="prev"',
    ]
    return {"Link": ", ".join(links)}
