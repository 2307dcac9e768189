"""Migrations apply to an empty database, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

from tortoise.connection import connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

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


async def test_an_instance_with_data_upgrades_to_the_latest_migration(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Columns added later need database defaults: an instance running an older release,
    with rows in its tables, must migrate (adding a NOT NULL column without a default
    fails on every row already there)."""
    settings = load_settings(
        environ={"COP_DATABASE_URL": empty_database_url, "COP_DATA_DIR": str(tmp_path)}
    )
    async with db.database(settings):
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
        instance = await Instance.get(id=1)
        assert (instance.vapid_public_key, instance.vapid_private_key) == ("", "")
