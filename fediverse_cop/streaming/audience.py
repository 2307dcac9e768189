"""Which of many viewers a timeline would show a status to, in one statement.

A timeline of :mod:`fediverse_cop.services.timelines` is a query built for one
viewer; building it costs milliseconds of Python, so asking it once per
connected viewer for every new post would not scale to a thousand streams. The
query is therefore compiled once with a stand-in viewer, and the stand-in's id
in its parameters is replaced by each viewer's id from a list: one statement
answers for everyone, and it is still the timeline's own SQL that decides.

This holds only when the query depends on the viewer through the viewer's id
alone. That is checked every time, by compiling it for two stand-ins that differ
in every field: if the SQL or any other parameter differs, each viewer is asked
separately instead (slower, never wrong).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.connection import connections
from tortoise.queryset import QuerySet

from fediverse_cop.models import Account, Status

log = logging.getLogger(__name__)

Timeline = Callable[[Account], QuerySet[Status]]

# Stand-in viewer ids: far above any id this server hands out, and different.
_STAND_INS = (2**62 - 7, 2**62 - 11)
_STAND_IN_TIMES = (datetime(2001, 1, 1, tzinfo=UTC), datetime(2002, 2, 2, tzinfo=UTC))
# Queries may compare with "now": two compilations a moment apart differ there.
_NOW_TOLERANCE = timedelta(seconds=5)
# Viewers per statement.
BATCH = 100
_PG_PLACEHOLDER = re.compile(r"\$(\d+)\b")


def _stand_in(account_id: int, which: int) -> Account:
    """An account that differs from the other stand-in in every column."""
    values: dict[str, Any] = {}
    for name, column in Account._meta.fields_map.items():
        if name == "id" or column.pk or name.endswith("_id") or not column.model_field_name:
            continue
        kind = type(column).__name__
        enum = getattr(column, "enum_type", None)
        if enum is not None:
            members = list(enum)
            values[name] = members[which % len(members)]
        elif kind == "BooleanField":
            values[name] = bool(which)
        elif kind in ("IntField", "BigIntField", "SmallIntField"):
            values[name] = 1000 + which
        elif kind == "DatetimeField":
            values[name] = _STAND_IN_TIMES[which]
        elif kind == "JSONField":
            values[name] = {"stand-in": which}
        elif kind in ("CharField", "TextField"):
            values[name] = f"stand-in-{which}-{name}"
    return Account(id=account_id, **values)


def _compiled(timeline: Timeline, viewer: Account, status_id: int) -> tuple[str, list[Any]]:
    query = timeline(viewer).filter(id=status_id).values("id")
    # Tortoise offers the SQL (QuerySet.sql) but not its parameters: the steps it runs.
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    return str(sql), list(params)


def _viewer_positions(timeline: Timeline, status_id: int) -> tuple[str, list[Any], set[int]] | None:
    """The query's SQL, its parameters and which of them are the viewer's id; None when the
    query depends on the viewer in another way."""
    first, second = _STAND_INS
    sql_a, params_a = _compiled(timeline, _stand_in(first, 0), status_id)
    sql_b, params_b = _compiled(timeline, _stand_in(second, 1), status_id)
    if sql_a != sql_b or len(params_a) != len(params_b):
        return None
    positions: set[int] = set()
    for index, (a, b) in enumerate(zip(params_a, params_b, strict=True)):
        if a == first and b == second:
            positions.add(index)
        elif a != b and not _both_now(a, b):
            return None
    return sql_a, params_a, positions


def _both_now(a: object, b: object) -> bool:
    """Two readings of the clock (not of the stand-ins' own times)."""
    if not isinstance(a, datetime) or not isinstance(b, datetime):
        return False
    if a in _STAND_IN_TIMES or b in _STAND_IN_TIMES or a.tzinfo is None or b.tzinfo is None:
        return False
    now = datetime.now(UTC)
    return all(abs(now - moment) < _NOW_TOLERANCE for moment in (a, b))


def _for_postgres(sql: str, params: list[Any], viewer: set[int]) -> tuple[str, list[Any]] | None:
    kept: list[Any] = []
    renumber: dict[int, str] = {}
    for index, value in enumerate(params):
        if index in viewer:
            renumber[index + 1] = "v.id"
        else:
            kept.append(value)
            renumber[index + 1] = f"${len(kept)}"
    used = {int(n) for n in _PG_PLACEHOLDER.findall(sql)}
    if not used <= renumber.keys():
        return None
    body = _PG_PLACEHOLDER.sub(lambda m: renumber[int(m.group(1))], sql)
    ids = f"${len(kept) + 1}::bigint[]"
    # The ORM's own SQL with placeholders; every value stays a bound parameter.
    select = f"SELECT v.id AS id FROM unnest({ids}) AS v(id) WHERE EXISTS ({body})"  # noqa: S608
    return select, kept


def _for_sqlite(
    sql: str, params: list[Any], viewer: set[int], count: int
) -> tuple[str, list[Any]] | None:
    pieces = sql.split("?")
    if len(pieces) != len(params) + 1 or "'" in sql:
        return None  # a literal could hide a "?": do not guess
    body = pieces[0]
    kept: list[Any] = []
    for index, value in enumerate(params):
        if index in viewer:
            body += "v.id"
        else:
            body += "?"
            kept.append(value)
        body += pieces[index + 1]
    values = ",".join("(?)" for _ in range(count))
    select = f"WITH v(id) AS (VALUES {values}) SELECT v.id AS id FROM v WHERE EXISTS ({body})"  # noqa: S608
    return select, kept


async def who_sees(timeline: Timeline, status_id: int, viewer_ids: Iterable[int]) -> set[int]:
    """Those of ``viewer_ids`` whose ``timeline`` holds the status ``status_id``."""
    found: set[int] = set()
    async for batch in who_sees_in_batches(timeline, status_id, viewer_ids):
        found |= batch
    return found


async def who_sees_in_batches(
    timeline: Timeline, status_id: int, viewer_ids: Iterable[int], size: int = BATCH
) -> AsyncIterator[set[int]]:
    """:func:`who_sees`, ``size`` viewers at a time: each answer can be acted on before
    the next statement runs (on SQLite, other requests get the connection in between)."""
    viewers = sorted(set(viewer_ids))
    if not viewers:
        return
    plan = _plan(timeline, status_id)
    for start in range(0, len(viewers), size):
        chunk = viewers[start : start + size]
        if plan is None:
            yield await _one_by_one(timeline, status_id, chunk)
            continue
        sql, params = plan(chunk)
        rows = await connections.get("default").execute_query_dict(sql, params)
        yield {int(row["id"]) for row in rows}


Statement = Callable[[Sequence[int]], tuple[str, list[Any]]]


def _plan(timeline: Timeline, status_id: int) -> Statement | None:
    """How to ask ``timeline`` about ``status_id`` for a list of viewers in one statement;
    None when it cannot be done safely."""
    try:
        compiled = _viewer_positions(timeline, status_id)
    except (AttributeError, TypeError, ValueError):  # the ORM changed its internals
        log.warning("streaming: timeline query not compiled; checking viewers one by one")
        return None
    if compiled is None or not compiled[2]:
        return None
    sql, params, positions = compiled
    if connections.get("default").capabilities.dialect == "postgres":
        made = _for_postgres(sql, params, positions)
        if made is None:
            return None
        pg_sql, kept = made
        return lambda viewers: (pg_sql, [*kept, list(viewers)])
    if _for_sqlite(sql, params, positions, 1) is None:
        return None

    def sqlite_statement(viewers: Sequence[int]) -> tuple[str, list[Any]]:
        made = _for_sqlite(sql, params, positions, len(viewers))
        assert made is not None
        return made[0], [*viewers, *made[1]]

    return sqlite_statement


def _batched(
    timeline: Timeline, status_id: int, viewers: Sequence[int]
) -> tuple[str, list[Any]] | None:
    """The single statement for these viewers (None: they are asked one by one)."""
    plan = _plan(timeline, status_id)
    return None if plan is None else plan(viewers)


async def _one_by_one(timeline: Timeline, status_id: int, viewers: Sequence[int]) -> set[int]:
    accounts = await Account.filter(id__in=list(viewers))
    found: set[int] = set()
    for account in accounts:
        if await timeline(account).filter(id=status_id).exists():
            found.add(account.id)
    return found
