"""What every command shares: settings, the database, errors as exit statuses, output."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

from fediverse_cop import db
from fediverse_cop.services.context import ServerContext
from fediverse_cop.services.errors import ServiceError
from fediverse_cop.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from fediverse_cop.services.remote import Federation

T = TypeVar("T")

EXIT_USER_ERROR = 1
# When the output is not a terminal (a pipe, a log), tables are not cut to 80 columns.
PIPE_WIDTH = 200
stderr = Console(stderr=True, soft_wrap=True)


def _stdout() -> Console:
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else PIPE_WIDTH)


@dataclass
class CliState:
    config: str | None = None
    settings: Settings | None = None


state = CliState()


def fail(message: str) -> NoReturn:
    """Print one line and exit with status 1 (a user error)."""
    stderr.print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(EXIT_USER_ERROR)


def settings() -> Settings:
    if state.settings is None:
        try:
            state.settings = load_settings(state.config)
        except SettingsError as exc:
            fail(str(exc))
    return state.settings


def server_context() -> ServerContext:
    return ServerContext(settings())


async def open_database(current: Settings) -> None:
    """Connect, and bring the schema up to date where that is safe to do implicitly.

    With SQLite (one process, the default) pending migrations are applied; with
    PostgreSQL they are the operator's decision (``fediverse-cop migrate``), so a
    pending migration stops the command instead.
    """
    try:
        await db.connect(current)
    except Exception as exc:
        fail(f"cannot open the database: {exc}")
    pending = await db.pending_migrations()
    if pending and current.is_sqlite:
        await db.migrate()
    elif pending:
        await db.disconnect()
        fail(f"the database needs {len(pending)} migration(s): run `fediverse-cop migrate` first")


def run(body: Callable[[], Awaitable[T]], *, migrate: bool = True) -> T:
    """Run ``body`` with the database open; service errors become exit status 1."""
    current = settings()

    async def wrapper() -> T:
        if migrate:
            await open_database(current)
        else:
            try:
                await db.connect(current)
            except Exception as exc:
                fail(f"cannot open the database: {exc}")
        try:
            return await body()
        finally:
            await db.disconnect()

    try:
        return asyncio.run(wrapper())
    except ServiceError as exc:
        fail(str(exc))


def confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"{question} Refusing without --yes (standard input is not a terminal)")
    if not typer.confirm(question, default=False):
        fail("cancelled")


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, as_json: bool) -> None:
    """Print rows as JSON (for scripts) or as a table (for people)."""
    if as_json:
        data = [{k: jsonable(v) for k, v in row.items()} for row in rows]
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    _stdout().print(table)


def emit_one(row: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        data = {k: jsonable(v) for k, v in row.items()}
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in row.items():
        table.add_row(key, _cell(value))
    _stdout().print(table)


def _cell(value: Any) -> str:
    value = jsonable(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def say(message: str) -> None:
    _stdout().print(message, markup=False, highlight=False)


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d`` or ``2w``."""
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    value, unit = text[:-1], text[-1:].lower()
    if unit not in units or not (value.isascii() and value.isdigit()) or int(value) == 0:
        raise typer.BadParameter("use a number followed by m, h, d or w, such as 7d")
    return timedelta(**{units[unit]: int(value)})


def with_federation(body: Callable[[Federation], Awaitable[T]]) -> T:
    """Run ``body`` with the database open and a Federation (for sending and fetching)."""
    from fediverse_cop.runtime import make_http_client
    from fediverse_cop.services.remote import federation_for

    ctx = server_context()

    async def wrapper() -> T:
        async with make_http_client(ctx.settings) as http:
            return await body(await federation_for(ctx, http))

    return run(wrapper)
