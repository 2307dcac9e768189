"""Querysets whose SQL is built once per shape and then run with other values.

Resolving a queryset's filters and rendering its SQL costs more CPU than running
it: about 2 ms for a home timeline, whose visibility policy is a tree of ``Q``
objects. The SQL of such a query depends only on its *shape* (which conditions it
has), not on the values it compares with (the viewer, the page's bounds, a token
digest). :class:`PreparedQueries` builds a queryset once per shape from stand-in
values, remembers which of the SQL's parameters each stand-in became, and from
then on only puts the real values in their place. The query is written once, with
the ORM, for every caller: there is no second copy of the policy in SQL text.

The caller names the shape: everything the build function reads other than the
values it is given (its flags, the page size). A build function must use its
values only as values compared with in the query (or not at all), never to
decide what the query looks like nor to compute another value from. Building
checks that no stand-in was written into the SQL text and that every other
parameter is a plain constant (a flag, a number, a word such as an enum's
value, an empty JSON list): the clock, or a value computed from a stand-in,
would otherwise be kept for every later call.

On PostgreSQL the shape's constants that are numbers or plain words (enum values,
the page size) are written into the SQL text (see :func:`_inline_constants`).

Values are ``int`` (ids) or ``str``. Rows come back as model objects, through the
ORM's own executor (``select_related`` included). The query runs on the model's
connection at call time, so transactions and the SQLite and PostgreSQL backends
work as with the queryset itself. This leans on tortoise's query internals
(``_make_query``, ``get_parameterized_sql``, the executor), pinned to 1.1 in
``pyproject.toml`` and covered by ``tests/test_prepared.py``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)
Value = int | str
Build = Callable[[Mapping[str, Value]], QuerySet[M]]

_PLACEHOLDER = re.compile(r"\$(\d+)\b")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_]{0,64}\Z")
_EMPTY = ("[]", "{}")
# Far below any id new_id() makes (they are positive) and distinct per name.
_INT_STAND_IN = -7_000_000_000_000_000_000


class ShapeError(ValueError):
    """A build function used a value other than as a compared-with parameter."""


@dataclass(frozen=True, slots=True)
class _Compiled(Generic[M]):
    sql: str
    # Per parameter: the value's name, or None for a constant of the shape.
    slots: tuple[str | None, ...]
    constants: tuple[Any, ...]
    query: QuerySet[M]

    def parameters(self, values: Mapping[str, Value]) -> list[Any]:
        return [
            values[slot] if slot is not None else constant
            for slot, constant in zip(self.slots, self.constants, strict=True)
        ]


def _stand_ins(values: Mapping[str, Value]) -> dict[str, Value]:
    stand: dict[str, Value] = {}
    for index, (name, value) in enumerate(sorted(values.items())):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"{name}: only int and str values can be prepared")
        stand[name] = (
            _INT_STAND_IN - index if isinstance(value, int) else f"\x1fstand-in {name}\x1f"
        )
    return stand


class PreparedQueries(Generic[M]):
    """The compiled SQL of one model's querysets, by shape (least recently used dropped)."""

    def __init__(self, model: type[M], max_shapes: int = 256) -> None:
        self.model = model
        self.max_shapes = max_shapes
        self._compiled: OrderedDict[Hashable, _Compiled[M]] = OrderedDict()

    async def fetch(self, shape: Hashable, build: Build[M], **values: Value) -> list[M]:
        """The rows of ``build(values)``, its SQL built once for ``shape`` and these names."""
        db = self.model._meta.db
        key = (db.capabilities.dialect, shape, tuple(sorted(values)))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(build, values)
            self._compiled[key] = compiled
            while len(self._compiled) > self.max_shapes:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(key)
        query = compiled.query
        rows: list[M] = await db.executor_class(
            model=self.model,
            db=db,
            prefetch_map=query._prefetch_map,
            prefetch_queries=query._prefetch_queries,
            # The executor's annotation is narrower than the queryset's (as in tortoise).
            select_related_idx=query._select_related_idx,  # type: ignore[arg-type]
        ).execute_select(
            compiled.sql,
            compiled.parameters(values),
            custom_fields=list(query._annotations),
        )
        return rows

    def _compile(self, build: Build[M], values: Mapping[str, Value]) -> _Compiled[M]:
        stand = _stand_ins(values)
        query = build(stand)
        if query.model is not self.model:
            raise ShapeError(f"built a query of {query.model.__name__}, not {self.model.__name__}")
        if query._prefetch_map or query._prefetch_queries:
            raise ShapeError("prefetched relations would run with the stand-in values")
        query._choose_db_if_not_chosen()
        query._make_query()
        sql, parameters = query.query.get_parameterized_sql()
        by_stand_in = {(type(v), v): name for name, v in stand.items()}
        slots = tuple(by_stand_in.get((type(p), p)) for p in parameters)
        for name, value in stand.items():
            # A value may go unused (a public timeline of a viewer who mutes nobody).
            if str(value) in sql:
                raise ShapeError(f"{name!r} was written into the SQL text")
        for slot, parameter in zip(slots, parameters, strict=True):
            if slot is None and not _plain(parameter):
                # The clock, or something computed from a value: every later call
                # would get this one.
                raise ShapeError(f"the constant {parameter!r} would be kept for every call")
        if query._db.capabilities.dialect == "postgres":
            sql, slots, parameters = _inline_constants(sql, slots, parameters)
        constants = tuple(
            None if slot is not None else p for slot, p in zip(slots, parameters, strict=True)
        )
        return _Compiled(sql, slots, constants, query)


def _plain(value: Any) -> bool:
    """A constant a shape may hold: a flag, a whole number, a plain word (an enum's
    value, a page size) or an empty JSON list or object (``attachments=[]``)."""
    if value is None or isinstance(value, bool | int):
        return True
    return isinstance(value, str) and (_PLAIN_WORD.match(value) is not None or value in _EMPTY)


def _literal(value: Any) -> str | None:
    """``value`` as an SQL literal, for whole numbers and plain words only (nothing that
    could need quoting); None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        # In parentheses: after a minus sign, "-" and a negative number would read
        # as the start of a comment.
        return f"({int(value)})"
    if isinstance(value, str) and _PLAIN_WORD.match(value):
        return f"'{value}'"
    return None


def _inline_constants(
    sql: str, slots: tuple[str | None, ...], parameters: list[Any]
) -> tuple[str, tuple[str | None, ...], list[Any]]:
    """Write the shape's constants (``'public'``, ``'accepted'``, the page size) into the
    SQL text, so PostgreSQL's plan for the statement only waits for the values.

    With the constants as parameters, PostgreSQL's generic plan for the home timeline
    scans the wrong way (5 times slower), so it plans the statement anew on every
    execution (planning cost more than running it); with them written in, the cached
    generic plan is as good as a fresh one. Only numbers and plain words are written;
    the SQL is left as it was when its placeholders are not exactly $1..$n once each.
    """
    found = [int(number) for number in _PLACEHOLDER.findall(sql)]
    if sorted(found) != list(range(1, len(parameters) + 1)):
        return sql, slots, parameters
    kept_slots: list[str | None] = []
    kept: list[Any] = []
    replacement: dict[int, str] = {}
    for index, (slot, value) in enumerate(zip(slots, parameters, strict=True), start=1):
        literal = _literal(value) if slot is None else None
        if literal is not None:
            replacement[index] = literal
        else:
            kept_slots.append(slot)
            kept.append(value)
            replacement[index] = f"${len(kept)}"
    text = _PLACEHOLDER.sub(lambda match: replacement[int(match.group(1))], sql)
    return text, tuple(kept_slots), kept
