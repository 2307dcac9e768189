"""Migrations apply to an empty database and to an older release with data, and a second
run changes nothing."""

from __future__ import annotations

from pathlib import Path

from tortoise.connection import connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from fediverse_cop import db
from fediverse_cop.models import (
    Account,
    AccountStats,
    Community,
    DomainBlock,
    Instance,
    Invite,
    Status,
)
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


async def test_migrations_upgrade_an_instance_with_data_and_apply_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    """From an empty database to the last migration, through an older release with rows
    in its tables: columns added later need database defaults (adding a NOT NULL column
    without one fails on every row already there). A second run changes nothing.

    One test on purpose: applying the migrations costs seconds on each backend."""
    settings = load_settings(
        environ={"COP_DATABASE_URL": empty_database_url, "COP_DATA_DIR": str(tmp_path)}
    )
    async with db.database(settings):
        assert not EXPECTED_TABLES & await _tables()
        assert MIGRATIONS[:2] == ["0001_initial", "0002_delivery_queue"]
        assert await db.pending_migrations() == MIGRATIONS
        connection = connections.get("default")
        executor = MigrationExecutor(connection, db.tortoise_config("sqlite://:memory:")["apps"])
        await executor.migrate([MigrationTarget("models", "0009_job_failed_state")])
        await connection.execute_script(
            "INSERT INTO instance (id, domain, name, description, contact_email, registrations,"
            " allowed_email_domains, created_at, updated_at) VALUES"
            " (1, 'old.example', '', '', '', 'open', '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);"
            "INSERT INTO accounts (id, username, acct_key, local, actor_type, uri, inbox_uri,"
            " display_name, note, manually_approves_followers, discoverable, public_key_pem,"
            " role, approved, suspension_reason, silence_reason, created_at, updated_at) VALUES"
            " (7, 'alice', 'alice', TRUE, 'Person', 'https://old.example/users/alice', '', '',"
            " '', FALSE, TRUE, '', 'user', TRUE, '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);"
            "INSERT INTO statuses (id, uri, account_id, local, object_type, content, text,"
            ' summary, sensitive, visibility, "to", cc, attachments, published_at, created_at)'
            " VALUES (8, 'https://old.example/objects/8', 7, TRUE, 'Note', '', '', '', FALSE,"
            " 'public', '[]', '[]', '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);"
            "INSERT INTO reports (id, reporter_id, target_id, status_uris, comment, created_at)"
            " VALUES (9, 7, 7, '[]', '', CURRENT_TIMESTAMP);"
        )
        applied = await db.migrate()
        assert applied == [name for name in MIGRATIONS if name >= "0010"]
        alice = await Account.get(id=7)
        assert (alice.bot, alice.profile_fields, alice.default_visibility.value) == (
            False,
            [],
            "public",
        )
        # Counts of rows written before the counting triggers existed are filled in.
        stats = await AccountStats.get(account_id=7)
        assert (stats.statuses_count, stats.followers_count, stats.last_status_at) == (
            1,
            0,
            (await Status.get(id=8)).published_at,
        )
        instance = await Instance.get(id=1)
        assert (instance.vapid_public_key, instance.vapid_private_key) == ("", "")
        tables = await _tables()
        assert tables >= EXPECTED_TABLES
        assert await db.pending_migrations() == []
        assert await db.migrate() == []
        assert await _tables() == tables
        # The models work against the migrated schema, with the rows kept.
        counts = [
            await m.all().count() for m in (Account, Instance, Community, DomainBlock, Invite)
        ]
        assert counts == [1, 1, 0, 0, 0]
