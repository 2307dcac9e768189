"""Repairing the account counts that database triggers keep (``account_stats``).

The triggers of migration 0018 keep the counts as rows change. Rows written with
triggers off (``pg_restore --disable-triggers``, ``session_replication_role =
replica``, hand-made SQL) leave them wrong until they are counted again here.
"""

from __future__ import annotations

from tortoise import connections

from fediverse_cop.models import Account, AccountStats, Follow, FollowState, Status

_STATS, _ACCOUNTS = AccountStats._meta.db_table, Account._meta.db_table
_STATUSES, _FOLLOWS = Status._meta.db_table, Follow._meta.db_table
_ACCEPTED = f"'{FollowState.ACCEPTED.value}'"
# What the triggers count: statuses not deleted (boosts too), accepted follows, the
# newest post's date. Only table and column names of our models are in this SQL.
_COUNTED = f"""
SELECT a."id" AS account_id,
    (SELECT COUNT(*) FROM "{_STATUSES}" s
        WHERE s."account_id" = a."id" AND s."deleted_at" IS NULL) AS statuses_count,
    (SELECT COUNT(*) FROM "{_FOLLOWS}" f
        WHERE f."target_id" = a."id" AND f."state" = {_ACCEPTED}) AS followers_count,
    (SELECT COUNT(*) FROM "{_FOLLOWS}" f
        WHERE f."account_id" = a."id" AND f."state" = {_ACCEPTED}) AS following_count,
    (SELECT MAX(s."published_at") FROM "{_STATUSES}" s
        WHERE s."account_id" = a."id" AND s."deleted_at" IS NULL) AS last_status_at
FROM "{_ACCOUNTS}" a
"""  # noqa: S608
_WRONG = f"""
SELECT COUNT(*) AS wrong FROM ({_COUNTED}) c
LEFT JOIN "{_STATS}" n ON n."account_id" = c.account_id
WHERE COALESCE(n."statuses_count", 0) <> c.statuses_count
    OR COALESCE(n."followers_count", 0) <> c.followers_count
    OR COALESCE(n."following_count", 0) <> c.following_count
    OR (n."last_status_at" IS NULL) <> (c.last_status_at IS NULL)
    OR n."last_status_at" <> c.last_status_at
"""  # noqa: S608
# "WHERE true": SQLite reads ON CONFLICT after a bare SELECT as a join's ON.
_REWRITE = f"""
INSERT INTO "{_STATS}"
    ("account_id", "statuses_count", "followers_count", "following_count", "last_status_at")
SELECT * FROM ({_COUNTED}) c WHERE true
ON CONFLICT ("account_id") DO UPDATE SET
    "statuses_count" = excluded."statuses_count",
    "followers_count" = excluded."followers_count",
    "following_count" = excluded."following_count",
    "last_status_at" = excluded."last_status_at"
"""  # noqa: S608


_ORPHANS = f"""
DELETE FROM "{_STATS}" WHERE "account_id" NOT IN (SELECT "id" FROM "{_ACCOUNTS}")
"""  # noqa: S608


async def recount() -> int:
    """Count every account's statuses and follows again and drop the counts of accounts
    that are gone; return how many rows were wrong.

    Writes that land while it runs may be counted from before them: run it on a
    quiet server (a maintenance window), as Mastodon's ``tootctl cache recount``.
    """
    connection = connections.get("default")
    rows = await connection.execute_query_dict(_WRONG)
    await connection.execute_query(_REWRITE)
    # Rows of accounts deleted since (nothing refers to them).
    orphans, _ = await connection.execute_query(_ORPHANS)
    return int(rows[0]["wrong"]) + int(orphans)
