"""Hand-written SELECTs (fediverse_cop/rawsql.py) on the test's backend."""

from __future__ import annotations

from datetime import datetime

import pytest

from fediverse_cop import rawsql
from fediverse_cop.models import Account, ActorType
from fediverse_cop.services import accounts
from fediverse_cop.services.context import ServerContext


async def test_named_parameters_lists_and_conversion(database: ServerContext) -> None:
    alice = await accounts.create_user(database, "alice", email="a@uni-a.edu", password="x" * 12)
    bob = await accounts.create_user(database, "bob", email="b@uni-a.edu", password="x" * 12)
    rows = await rawsql.fetch(
        'SELECT "id", "username", "local", "created_at", "profile_fields", "actor_type"'
        ' FROM "accounts" WHERE "id" IN (:ids) AND "username" <> :not_named ORDER BY "id"',
        ids={alice.id, bob.id},
        not_named="bob",
    )
    assert [row["username"] for row in rows] == ["alice"]
    row = rawsql.convert(Account, rows[0])
    assert row["local"] is True
    assert isinstance(row["created_at"], datetime)
    assert row["created_at"].tzinfo is not None
    assert (row["profile_fields"], row["actor_type"]) == ([], ActorType.PERSON)
    facts = await rawsql.fetch(
        'SELECT EXISTS (SELECT 1 FROM "accounts" WHERE "id" = :id) AS found', id=alice.id
    )
    assert rawsql.truth(facts[0]["found"]) is True


def test_an_empty_list_is_refused_and_a_value_is_never_spliced() -> None:
    query = "SELECT :a, :b WHERE x IN (:ids) AND y NOT IN (:ids)"
    params = {"a": "'; --", "b": 2, "ids": [3, 4]}
    # PostgreSQL: a list is one array parameter, whatever its length.
    sql, values = rawsql._expand(query, params, True)
    assert sql == "SELECT $1, $2 WHERE x = ANY($3) AND y <> ALL($4)"
    assert values == ["'; --", 2, [3, 4], [3, 4]]
    sql, values = rawsql._expand(query, params, False)
    assert sql == "SELECT ?, ? WHERE x IN (?, ?) AND y NOT IN (?, ?)"
    assert values == ["'; --", 2, 3, 4, 3, 4]
    sql, _ = rawsql._expand("SELECT :a", {"a": "x"}, False)
    assert sql == "SELECT ?"
    # Only the word IN: "JOIN (:x)" is a plain parameter.
    sql, values = rawsql._expand("SELECT JOIN (:x) WHERE y IN (:x)", {"x": 5}, True)
    assert (sql, values) == ("SELECT JOIN ($1) WHERE y = ANY($2)", [5, [5]])
    with pytest.raises(ValueError, match="empty list"):
        rawsql._expand("SELECT 1 WHERE x IN (:ids)", {"ids": []}, True)


async def test_models_come_back_as_the_orm_would_load_them(database: ServerContext) -> None:
    alice = await accounts.create_user(database, "alice", email="a@uni-a.edu", password="x" * 12)
    await accounts.create_user(database, "bob", email="b@uni-a.edu", password="x" * 12)
    (loaded,) = await rawsql.fetch_models(
        Account, '"username" IN (:names) ORDER BY "id"', names=["alice", "carol"]
    )
    expected = await Account.get(id=alice.id)
    for name in Account._meta.fields_map:
        if name in Account._meta.fetch_fields:
            continue
        assert getattr(loaded, name) == getattr(expected, name), name
    assert loaded.actor_type is ActorType.PERSON
    assert loaded._saved_in_db
