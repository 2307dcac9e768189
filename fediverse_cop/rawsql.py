"""Hand-written SELECTs for the hottest reads, on SQLite and PostgreSQL alike.

The ORM builds the SQL of every query and a model object for every row: about a
millisecond of CPU per query, which a page of statuses pays several times over.
The serializer's batch loads are written here instead, as SQL with named
parameters (``:ids``); a collection value in ``IN (:ids)`` becomes one array
parameter on PostgreSQL (``= ANY($1)``) and one placeholder per item on SQLite,
so an empty one must not be passed. Rows come back as dicts of
what the driver returns; :func:`convert` turns a row's columns into Python values
with the model's own fields (SQLite's text dates, integer booleans and JSON).

Only table and column names written in this code, and parameters, reach the SQL.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from tortoise import connections
from tortoise.models import Model

M = TypeVar("M", bound=Model)

_PARAMETER = re.compile(r"(?:\b(NOT\s+)?IN\s*\(:([a-z_]+)\))|:([a-z_]+)\b")


def _expand(sql: str, params: Mapping[str, Any], postgres: bool) -> tuple[str, list[Any]]:
    values: list[Any] = []

    def placeholders(match: re.Match[str]) -> str:
        negated, listed, single = match.groups()
        name = listed or single
        value = params[name]
        items = (
            list(value)
            if isinstance(value, Collection) and not isinstance(value, str | bytes)
            else [value]
        )
        if not items:
            raise ValueError(f"empty list for :{name}")
        if listed and postgres:
            # One array parameter: the statement's text (and so asyncpg's cache of
            # prepared statements) does not change with the number of items.
            values.append(items)
            return f"<> ALL(${len(values)})" if negated else f"= ANY(${len(values)})"
        marks = []
        for item in items:
            values.append(item)
            marks.append(f"${len(values)}" if postgres else "?")
        joined = ", ".join(marks)
        if listed:
            return f"{'NOT ' if negated else ''}IN ({joined})"
        return joined

    return _PARAMETER.sub(placeholders, sql), values


async def fetch(sql: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of ``sql`` with its ``:name`` parameters bound from ``params``."""
    connection = connections.get("default")
    text, values = _expand(sql, params, connection.capabilities.dialect == "postgres")
    rows: list[dict[str, Any]] = await connection.execute_query_dict(text, values)
    return rows


async def fetch_models(model: type[M], condition: str, **params: Any) -> list[M]:
    """The objects of ``model`` whose rows match ``condition`` (the SQL after ``WHERE``,
    with ``:name`` parameters; an ``ORDER BY`` may follow), all fields loaded."""
    meta = model._meta
    columns = ", ".join(f'"{column}"' for column in sorted(meta.db_fields))
    sql = f'SELECT {columns} FROM "{meta.db_table}" WHERE {condition}'  # noqa: S608
    return [model._init_from_db(**row) for row in await fetch(sql, **params)]


def convert(model: type[Model], row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with the columns that are fields of ``model`` as their Python values."""
    fields = model._meta.fields_map
    converted = dict(row)
    for name, value in row.items():
        field = fields.get(name)
        if field is not None and value is not None:
            converted[name] = field.to_python_value(value)
    return converted


def truth(value: Any) -> bool:
    """A boolean computed in SQL (``EXISTS``): SQLite answers 0 or 1."""
    return bool(value)
