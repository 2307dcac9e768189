"""Shared fixtures: a real database per test (SQLite or PostgreSQL) and the real CLI.

``COP_TEST_BACKEND`` picks the backend (``sqlite``, the default, or ``postgres``).
PostgreSQL tests create a throwaway database on ``COP_TEST_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``): the schema is migrated
once into a template database, and every test gets a fresh copy of it. Under
``CI=true`` an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from activitypub.http import HttpLimits, SafeHttpClient
from fediverse_cop import db
from fediverse_cop.services.context import ServerContext
from fediverse_cop.settings import Settings, load_settings
from tests.sink import Sink, run_sink, sink_resolver

BACKEND = os.environ.get("COP_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get(
    "COP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_DOMAIN = "cop.test"
CLI = shutil.which("fediverse-cop", path=str(Path(sys.executable).parent)) or "fediverse-cop"


def pytest_report_header(config: pytest.Config) -> str:
    return f"fediverse-cop database backend: {BACKEND}"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1).replace(
        "postgres://", "postgresql://", 1
    )


async def _pg_execute(sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


async def _migrate(url: str, data_dir: Path) -> None:
    settings = load_settings(environ={"COP_DATABASE_URL": url, "COP_DATA_DIR": str(data_dir)})
    async with db.database(settings):
        await db.migrate()


@dataclass(frozen=True)
class Template:
    backend: str
    location: str  # a file path (SQLite) or a database name (PostgreSQL)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    data_dir = tmp_path_factory.mktemp("template")
    if BACKEND == "sqlite":
        path = data_dir / "template.sqlite3"
        _run(_migrate(f"sqlite://{path}", data_dir))
        yield Template("sqlite", str(path))
        return
    if BACKEND != "postgres":
        pytest.exit(f"COP_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}", 2)
    name = f"cop_test_{os.getpid()}_{secrets.token_hex(3)}_tpl"
    try:
        _run(_pg_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        _run(_migrate(_with_database(POSTGRES_URL, name), data_dir))
        yield Template("postgres", name)
    finally:
        _run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def new_database(database_template: Template, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes fresh, migrated databases (several instances in one test need one each)."""
    made: list[str] = []

    def make() -> str:
        if database_template.backend == "sqlite":
            path = tmp_path / f"cop{len(made)}.sqlite3"
            shutil.copyfile(database_template.location, path)
            made.append(str(path))
            return f"sqlite://{path}"
        name = f"cop_test_{os.getpid()}_{secrets.token_hex(4)}"
        _run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{database_template.location}"'))
        made.append(name)
        return _with_database(POSTGRES_URL, name)

    yield make
    if database_template.backend == "postgres":
        for name in made:
            _run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_work_database(database_template: Template) -> Iterator[str | None]:
    """On PostgreSQL, one migrated database that tests empty before use (None on SQLite).

    Emptying the tables costs a few milliseconds; creating a database from the
    template costs about half a second, which matters over hundreds of tests.
    """
    if database_template.backend != "postgres":
        yield None
        return
    name = f"cop_test_{os.getpid()}_{secrets.token_hex(4)}_work"
    _run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{database_template.location}"'))
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        _run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_tables(url: str) -> None:
    """Delete every row but the migration history.

    ``DELETE`` with foreign-key triggers off (``session_replication_role``) takes a few
    milliseconds on small tables, where ``TRUNCATE`` of sixty tables takes 0.5 to 1.5 s
    (it replaces every table's files). Application tables have no sequences: ids are
    made by the application.
    """
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'tortoise_migrations'"
        )
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.execute(
                ";".join(f'DELETE FROM "{row["tablename"]}"' for row in tables)
            )
    finally:
        await connection.close()


@pytest.fixture
def database_url(new_database: Callable[[], str], postgres_work_database: str | None) -> str:
    """A migrated database with nothing in it, for this test alone."""
    if postgres_work_database is None:
        return new_database()
    _run(_empty_tables(postgres_work_database))
    return postgres_work_database


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (to test migrations themselves)."""
    if BACKEND == "sqlite":
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    name = f"cop_test_{os.getpid()}_{secrets.token_hex(4)}_empty"
    try:
        _run(_pg_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is not reachable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        _run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def cop_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running the server or the CLI against this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COP_")}
    env.update(
        {
            "COP_DATABASE_URL": database_url,
            "COP_DATA_DIR": str(tmp_path / "data"),
            "COP_DOMAIN": TEST_DOMAIN,
            "COP_SCHEME": "http",
            "COP_LOG_LEVEL": "warning",
        }
    )
    return env


@pytest.fixture
def settings(cop_env: dict[str, str]) -> Settings:
    return load_settings(environ=cop_env)


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[ServerContext]:
    """Tortoise connected to this test's database, for tests that call services directly."""
    async with db.database(settings):
        yield ServerContext(settings)


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        import orjson

        return orjson.loads(self.stdout)


class Cli:
    """Runs the ``fediverse-cop`` command, as an operator would.

    By default the command runs in this process (the Typer app the console script
    calls, with this test's environment), which keeps the suite fast; with
    ``subprocess=True`` it runs the installed console script itself.
    """

    def __init__(self, env: dict[str, str], *, subprocess: bool = False) -> None:
        self.env = env
        self.subprocess = subprocess

    def __call__(self, *args: str, input: str | None = None) -> CliResult:
        if not self.subprocess:
            return self._in_process(args, input)
        completed = subprocess.run(
            [CLI, *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    def _in_process(self, args: tuple[str, ...], input: str | None) -> CliResult:
        from typer.testing import CliRunner

        from fediverse_cop.cli import app

        # Replace the whole COP_* environment with this test's, as a new process would see it.
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("COP_")}
        env.update(self.env)
        result = CliRunner().invoke(app, list(args), input=input, env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, input: str | None = None) -> CliResult:
        result = self(*args, input=input)
        assert result.code == 0, f"{args} exited {result.code}: {result.stderr}{result.stdout}"
        return result


@pytest.fixture
def cli(cop_env: dict[str, str]) -> Cli:
    return Cli(cop_env)


@pytest.fixture
def console_script(cop_env: dict[str, str]) -> Cli:
    return Cli(cop_env, subprocess=True)


# -- a loopback peer for federation tests (tests/sink.py) --------------------------------


@pytest.fixture(scope="session")
def sink_server() -> Iterator[Sink]:
    yield from run_sink()


@pytest.fixture
def sink(sink_server: Sink) -> Iterator[Sink]:
    sink_server.reset()
    yield sink_server
    sink_server.reset()


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(sink: Sink) -> Clock:
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    sink.clock = clock
    return clock


@pytest.fixture
async def sink_http() -> AsyncIterator[SafeHttpClient]:
    client = SafeHttpClient(
        user_agent="fediverse-cop-tests",
        limits=HttpLimits(total_timeout=1.5, read_timeout=1.5),
        allowed_networks=["127.0.0.0/8"],
        resolver=sink_resolver,
    )
    async with client:
        yield client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, run only the tests that use a database.

    The rest (the protocol package, settings, architecture) do not depend on the
    backend and already ran on the SQLite pass.
    """
    if BACKEND != "postgres":
        return
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        uses_database = bool(fixtures & {"database_template", "empty_database_url"})
        (selected if uses_database else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
