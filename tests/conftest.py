"""Shared fixtures: a real database per test (SQLite or PostgreSQL) and the real CLI.

``COP_TEST_BACKEND`` picks the backend (``sqlite``, the default, or ``postgres``).
PostgreSQL tests create a throwaway database on ``COP_TEST_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``): the schema is migrated
once per run into a template database (shared by the pytest-xdist workers), and
every test gets a fresh copy of it (SQLite: a copy of a template file). Under
``CI=true`` an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from argon2 import profiles as argon2_profiles
from cryptography.hazmat.primitives.asymmetric import rsa

from activitypub import keys
from activitypub.http import HttpLimits, SafeHttpClient
from fediverse_cop import db
from fediverse_cop.services import passwords
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


class KeyPool:
    """Real RSA keys, generated once per test process and handed out again in each test.

    Within a test every key is distinct (the pool grows when a test needs more), and
    distinct from the keys modules made when they were imported; so actors never share
    a key. Across tests keys are reused, which saves ~50 ms of key generation per actor
    created. Servers started as processes generate their own.
    """

    def __init__(self) -> None:
        self._keys: dict[int, list[rsa.RSAPrivateKey]] = {}
        self._used: dict[int, int] = {}
        self._kept: dict[int, int] | None = None  # handed out before the first test

    def __call__(self, bits: int) -> rsa.RSAPrivateKey:
        pool = self._keys.setdefault(bits, [])
        index = self._used.get(bits, 0)
        if index == len(pool):
            pool.append(keys.generate_rsa_key(bits))
        self._used[bits] = index + 1
        return pool[index]

    def new_test(self) -> None:
        if self._kept is None:
            self._kept = dict(self._used)
        self._used = dict(self._kept)


KEY_POOL = KeyPool()


def pytest_configure(config: pytest.Config) -> None:
    # Real argon2 and real RSA, at a test's cost: the cheapest argon2 parameters (hashes
    # carry their parameters, so verification is the production code path) and a key pool.
    passwords.use_parameters(argon2_profiles.CHEAPEST)
    keys.new_rsa_key = KEY_POOL


@pytest.fixture(autouse=True)
def _distinct_keys_per_test() -> None:
    KEY_POOL.new_test()


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


@contextmanager
def _shared_lock(directory: Path) -> Iterator[Path]:
    """An exclusive lock over ``directory``, shared by the processes of one test run."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield directory
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory all the worker processes of this run share (pytest-xdist gives each
    worker its own base directory inside the run's)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return shared / f"cop-template-{BACKEND}"


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    """The migrated schema every test database is copied from: made once per run by
    whichever worker needs it first (migrating costs seconds), the others wait for it."""
    directory = _run_directory(tmp_path_factory)
    if BACKEND == "sqlite":
        path = directory / "template.sqlite3"
        with _shared_lock(directory):
            if not path.exists():
                building = directory / "building.sqlite3"
                building.unlink(missing_ok=True)
                _run(_migrate(f"sqlite://{building}", directory))
                building.rename(path)
        yield Template("sqlite", str(path))
        return
    if BACKEND != "postgres":
        pytest.exit(f"COP_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}", 2)
    record, users = directory / "database", directory / "users"
    with _shared_lock(directory):
        name = record.read_text() if record.exists() else ""
        if not name:
            name = f"cop_test_{os.getpid()}_{secrets.token_hex(3)}_tpl"
            try:
                _run(_pg_execute(f'CREATE DATABASE "{name}"'))
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                message = f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}"
                if IN_CI:
                    pytest.fail(message, pytrace=False)
                pytest.skip(message)
            try:
                _run(_migrate(_with_database(POSTGRES_URL, name), directory))
            except BaseException:
                _run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                raise
            record.write_text(name)
        users.write_text(str(int(users.read_text() or 0) + 1 if users.exists() else 1))
    try:
        yield Template("postgres", name)
    finally:
        # The last worker using the template drops it.
        with _shared_lock(directory):
            left = int(users.read_text() or 1) - 1
            users.write_text(str(left))
            if left == 0:
                record.unlink(missing_ok=True)
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
