"""Hand-written SELECTs for the hottest reads, on SQLite and PostgreSQL alike.

The ORM builds the SQL of every query and a model object for every row: about a
millisecond of CPU per query, which a page of statuses pays several times over.
The serializer's batch loads are written here instead, as SQL with named
parameters (``:ids``); a collection value becomes one placeholder per item
(``IN (:ids)``), so an empty one must not be passed. Rows come back as dicts of
what the driver returns; :func:`convert` turns a row's columns into Python values
with the model's own fields (SQLite's text dates, integer booleans and JSON).

Only table and column names written in this code, and parameters, reach the SQL.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from tortoise import connections
from tortoise.models import Model

_PARAMETER = re.compile(r":([a-z_]+)\b")


def _expand(sql: str, params: Mapping[str, Any], postgres: bool) -> tuple[str, list[Any]]:
    values: list[Any] = []

    def placeholders(match: re.Match[str]) -> str:
        value = params[match.group(1)]
        items = (
            list(value)
            if isinstance(value, Collection) and not isinstance(value, str | bytes)
            else [value]
        )
        if not items:
            raise ValueError(f"empty list for :{match.group(1)}")
        marks = []
        for item in items:
            values.append(item)
            marks.append(f"${len(values)}" if postgres else "?")
        return ", ".join(marks)

    return _PARAMETER.sub(placeholders, sql), values


async def fetch(sql: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of ``sql`` with its ``:name`` parameters bound from ``params``."""
    connection = connections.get("default")
    text, values = _expand(sql, params, connection.capabilities.dialect == "postgres")
    rows: list[dict[str, Any]] = await connection.execute_query_dict(text, values)
    return rows


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
