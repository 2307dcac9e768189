"""Migrations apply to an empty database, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

from tortoise.connection import connections

from fediverse_cop import db
from fediverse_cop.models import Account, Community, DomainBlock, Instance, Invite
from fediverse_cop.settings import load_settings

EXPECTED_TABLES = {
    "accounts",
    "communities",
    "community_roles",
    "deliveries",
    "domain_blocks",
    "domain_health",
    "fanout_jobs",
    "follows",
    "inbox_items",
    "instance",
    "invites",
    "favourites",
    "status_edits",
    "status_mentions",
    "status_tags",
    "statuses",
    "tags",
    "tombstones",
    "account_blocks",
    "reports",
}
MIGRATIONS = sorted(
    path.stem
    for path in (Path(__file__).parent.parent / "fediverse_cop" / "migrations").glob("[0-9]*.py")
)


async def _tables() -> set[str]:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        _, rows = await connection.execute_query(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    else:
        _, rows = await connection.execute_query(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        )
    return {row["name"] for row in rows}


async def test_migrations_apply_to_an_empty_database_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        environ={"COP_DATABASE_URL": empty_database_url, "COP_DATA_DIR": str(tmp_path)}
    )
    async with db.database(settings):
        assert not EXPECTED_TABLES & await _tables()
        assert MIGRATIONS[:2] == ["0001_initial", "0002_delivery_queue"]
        assert await db.pending_migrations() == MIGRATIONS
        assert await db.migrate() == MIGRATIONS
        tables_after_first = await _tables()
        assert tables_after_first >= EXPECTED_TABLES
        assert await db.pending_migrations() == []
        assert await db.migrate() == []
        assert await _tables() == tables_after_first
        # The models work against the migrated schema.
        for model in (Account, Community, DomainBlock, Instance, Invite):
            assert await model.all().count() == 0
