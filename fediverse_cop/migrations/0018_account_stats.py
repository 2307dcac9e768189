from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# Counted as the serializer counted before: statuses not deleted (boosts included),
# follows in the accepted state, the newest not-deleted status's publication date.
ACCEPTED = "'accepted'"
BACKFILL = f"""
INSERT INTO account_stats
    (account_id, statuses_count, followers_count, following_count, last_status_at)
SELECT a.id,
    (SELECT COUNT(*) FROM statuses s WHERE s.account_id = a.id AND s.deleted_at IS NULL),
    (SELECT COUNT(*) FROM follows f WHERE f.target_id = a.id AND f.state = {ACCEPTED}),
    (SELECT COUNT(*) FROM follows f WHERE f.account_id = a.id AND f.state = {ACCEPTED}),
    (SELECT MAX(s.published_at) FROM statuses s
        WHERE s.account_id = a.id AND s.deleted_at IS NULL)
FROM accounts a
"""
NEWEST = (
    "(SELECT MAX(s.published_at) FROM statuses s"
    " WHERE s.account_id = {row}.account_id AND s.deleted_at IS NULL)"
)
STATUS_CHANGED = (
    "OLD.deleted_at IS DISTINCT FROM NEW.deleted_at"
    " OR OLD.published_at IS DISTINCT FROM NEW.published_at"
    " OR OLD.account_id IS DISTINCT FROM NEW.account_id"
)
FOLLOW_CHANGED = (
    "OLD.state IS DISTINCT FROM NEW.state"
    " OR OLD.account_id IS DISTINCT FROM NEW.account_id"
    " OR OLD.target_id IS DISTINCT FROM NEW.target_id"
)


def _upsert(account: str, column: str, newest: str, newest_update: str) -> str:
    """Add one to ``column`` of ``account``'s row, creating it when missing."""
    values = {"statuses_count": "0", "followers_count": "0", "following_count": "0"}
    values[column] = "1"
    return (
        "INSERT INTO account_stats (account_id, statuses_count, followers_count,"
        f" following_count, last_status_at) VALUES ({account}, {values['statuses_count']},"
        f" {values['followers_count']}, {values['following_count']}, {newest})"
        f" ON CONFLICT (account_id) DO UPDATE SET {column} = account_stats.{column} + 1"
        f"{newest_update}"
    )


def _minus(account: str, column: str, recount_newest: bool) -> str:
    newest = f", last_status_at = {NEWEST.format(row='OLD')}" if recount_newest else ""
    return (
        f"UPDATE account_stats SET {column} = {column} - 1{newest}"
        f" WHERE account_id = {account}"
    )


def _status_plus(greatest: str) -> str:
    return _upsert(
        "NEW.account_id",
        "statuses_count",
        "NEW.published_at",
        f", last_status_at = {greatest}",
    )


STATUS_MINUS = _minus("OLD.account_id", "statuses_count", True)
# A follow counts on two rows: the follower's following, the followed's followers.
FOLLOWING_MINUS = _minus("OLD.account_id", "following_count", False)
FOLLOWERS_MINUS = _minus("OLD.target_id", "followers_count", False)
FOLLOWING_PLUS = _upsert("NEW.account_id", "following_count", "NULL", "")
FOLLOWERS_PLUS = _upsert("NEW.target_id", "followers_count", "NULL", "")

POSTGRES = [
    f"""
CREATE FUNCTION account_stats_statuses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Nested: OLD is not set on INSERT, nor NEW on DELETE.
    IF TG_OP <> 'INSERT' THEN
        IF OLD.deleted_at IS NULL THEN
            -- Take the row first: the newest date is then read in a snapshot that has
            -- what a concurrent writer holding the row committed.
            PERFORM 1 FROM account_stats WHERE account_id = OLD.account_id FOR UPDATE;
            {STATUS_MINUS};
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.deleted_at IS NULL THEN
            {_status_plus("GREATEST(account_stats.last_status_at, EXCLUDED.last_status_at)")};
        END IF;
    END IF;
    RETURN NULL;
END $$
""",
    f"""
CREATE FUNCTION account_stats_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Both rows in the order of their ids, so that two follows between the same
    -- accounts in opposite directions cannot wait on each other.
    IF TG_OP <> 'INSERT' THEN
        IF OLD.state = {ACCEPTED} AND OLD.account_id < OLD.target_id THEN
            {FOLLOWING_MINUS};
            {FOLLOWERS_MINUS};
        ELSIF OLD.state = {ACCEPTED} THEN
            {FOLLOWERS_MINUS};
            {FOLLOWING_MINUS};
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.state = {ACCEPTED} AND NEW.account_id < NEW.target_id THEN
            {FOLLOWING_PLUS};
            {FOLLOWERS_PLUS};
        ELSIF NEW.state = {ACCEPTED} THEN
            {FOLLOWERS_PLUS};
            {FOLLOWING_PLUS};
        END IF;
    END IF;
    RETURN NULL;
END $$
""",
    "CREATE TRIGGER account_stats_statuses AFTER INSERT OR DELETE ON statuses"
    " FOR EACH ROW EXECUTE FUNCTION account_stats_statuses()",
    "CREATE TRIGGER account_stats_statuses_update AFTER UPDATE ON statuses"
    f" FOR EACH ROW WHEN ({STATUS_CHANGED}) EXECUTE FUNCTION account_stats_statuses()",
    "CREATE TRIGGER account_stats_follows AFTER INSERT OR DELETE ON follows"
    " FOR EACH ROW EXECUTE FUNCTION account_stats_follows()",
    "CREATE TRIGGER account_stats_follows_update AFTER UPDATE ON follows"
    f" FOR EACH ROW WHEN ({FOLLOW_CHANGED}) EXECUTE FUNCTION account_stats_follows()",
]

# SQLite has no IF in triggers: one trigger per case, chosen by WHEN. IS NOT is its
# null-safe inequality; dates are ISO text in UTC, so MAX compares them as dates.
_SQLITE_STATUS_CHANGED = STATUS_CHANGED.replace("IS DISTINCT FROM", "IS NOT")
_SQLITE_FOLLOW_CHANGED = FOLLOW_CHANGED.replace("IS DISTINCT FROM", "IS NOT")
_SQLITE_GREATEST = (
    "MAX(COALESCE(account_stats.last_status_at, excluded.last_status_at),"
    " excluded.last_status_at)"
)


def _sqlite_trigger(name: str, event: str, table: str, when: str, body: list[str]) -> str:
    statements = "".join(f"{statement}; " for statement in body)
    return f"CREATE TRIGGER {name} AFTER {event} ON {table} WHEN {when} BEGIN {statements}END"


SQLITE = [
    _sqlite_trigger(
        "account_stats_status_added",
        "INSERT",
        "statuses",
        "NEW.deleted_at IS NULL",
        [_status_plus(_SQLITE_GREATEST)],
    ),
    _sqlite_trigger(
        "account_stats_status_removed",
        "DELETE",
        "statuses",
        "OLD.deleted_at IS NULL",
        [STATUS_MINUS],
    ),
    _sqlite_trigger(
        "account_stats_status_changed_from",
        "UPDATE",
        "statuses",
        f"OLD.deleted_at IS NULL AND ({_SQLITE_STATUS_CHANGED})",
        [STATUS_MINUS],
    ),
    _sqlite_trigger(
        "account_stats_status_changed_to",
        "UPDATE",
        "statuses",
        f"NEW.deleted_at IS NULL AND ({_SQLITE_STATUS_CHANGED})",
        [_status_plus(_SQLITE_GREATEST)],
    ),
    _sqlite_trigger(
        "account_stats_follow_added",
        "INSERT",
        "follows",
        f"NEW.state = {ACCEPTED}",
        [FOLLOWING_PLUS, FOLLOWERS_PLUS],
    ),
    _sqlite_trigger(
        "account_stats_follow_removed",
        "DELETE",
        "follows",
        f"OLD.state = {ACCEPTED}",
        [FOLLOWING_MINUS, FOLLOWERS_MINUS],
    ),
    _sqlite_trigger(
        "account_stats_follow_changed_from",
        "UPDATE",
        "follows",
        f"OLD.state = {ACCEPTED} AND ({_SQLITE_FOLLOW_CHANGED})",
        [FOLLOWING_MINUS, FOLLOWERS_MINUS],
    ),
    _sqlite_trigger(
        "account_stats_follow_changed_to",
        "UPDATE",
        "follows",
        f"NEW.state = {ACCEPTED} AND ({_SQLITE_FOLLOW_CHANGED})",
        [FOLLOWING_PLUS, FOLLOWERS_PLUS],
    ),
]


async def install_triggers(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    statements = POSTGRES if client.capabilities.dialect == "postgres" else SQLITE
    for statement in statements:
        await client.execute_script(statement)
    await client.execute_script(BACKFILL)


class Migration(migrations.Migration):
    """Account counts kept by triggers instead of counted on every page."""

    dependencies = [("models", "0017_timeline_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AccountStats",
            fields=[
                (
                    "account_id",
                    fields.BigIntField(primary_key=True, generated=False, unique=True),
                ),
                ("statuses_count", fields.BigIntField(default=0)),
                ("followers_count", fields.BigIntField(default=0)),
                ("following_count", fields.BigIntField(default=0)),
                ("last_status_at", fields.DatetimeField(null=True)),
            ],
            options={"table": "account_stats", "app": "models", "pk_attr": "account_id"},
            bases=["Model"],
        ),
        ops.RunPython(install_triggers),
    ]
