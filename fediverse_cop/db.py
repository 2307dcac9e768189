"""Database connection and migrations (Tortoise ORM and its built-in migration engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import connections
from tortoise.migrations.executor import MigrationExecutor

from fediverse_cop.settings import Settings

APP_LABEL = "models"
MODELS_MODULE = "fediverse_cop.models"
MIGRATIONS_MODULE = "fediverse_cop.migrations"


async def _keep_session(connection: object) -> None:
    """What asyncpg's pool does to a connection it takes back, besides rolling back a
    transaction left open: nothing.

    By default the pool sends a reset query (unlock advisory locks, close cursors,
    ``UNLISTEN *``, ``RESET ALL``) on every release, and the ORM takes a connection per
    query: a round trip more per query. Nothing here changes a pooled connection's
    session (the streaming bus listens on a connection of its own; ``SET LOCAL`` ends
    with its transaction), so there is nothing to reset.
    """


def connection_config(database_url: str, pool_size: int = 10) -> str | dict[str, Any]:
    """The ORM's connection settings for ``database_url``."""
    config = expand_db_url(database_url)
    if config["engine"] != "tortoise.backends.asyncpg":
        return database_url
    config["credentials"]["reset"] = _keep_session
    config["credentials"]["maxsize"] = pool_size
    return config


def tortoise_config(database_url: str, pool_size: int = 10) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url, pool_size)},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _ensure_sqlite_directory(database_url: str) -> None:
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://").split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def connect(settings: Settings) -> None:
    _ensure_sqlite_directory(settings.database_url)
    # The lifespan and the requests run in different tasks: share one global context.
    config = tortoise_config(settings.database_url, settings.database_pool_size)
    await Tortoise.init(config=config, _enable_global_fallback=True)


async def disconnect() -> None:
    await Tortoise.close_connections()


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    """Connect for the duration of the block (CLI commands, tests, the app's lifespan)."""
    await connect(settings)
    try:
        yield
    finally:
        await disconnect()


def _executor() -> MigrationExecutor:
    config = tortoise_config("sqlite://:memory:")["apps"]
    return MigrationExecutor(connections.get("default"), config)


async def pending_migrations() -> list[str]:
    """Names of migrations not yet applied to the connected database."""
    steps = await _executor().plan()
    return [step.migration.name for step in steps if not step.backward]


async def migrate() -> list[str]:
    """Apply every pending migration; return the names applied (empty when up to date)."""
    pending = await pending_migrations()
    if pending:
        await _executor().migrate()
    return pending


async def ping() -> bool:
    """True when the database answers a trivial query."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True
