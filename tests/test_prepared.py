"""Querysets prepared once per shape (fediverse_cop/prepared.py), on the test's backend, and
the pool settings that go with them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet

from fediverse_cop import db
from fediverse_cop.models import Account, OAuthToken
from fediverse_cop.prepared import Build, PreparedQueries, ShapeError, Value, _inline_constants
from fediverse_cop.services import accounts, oauth
from fediverse_cop.services import scopes as scope_rules
from fediverse_cop.services.context import ServerContext


async def _users(ctx: ServerContext, *names: str) -> list[Account]:
    return [
        await accounts.create_user(ctx, name, email=f"{name}@uni-a.edu", password="x" * 12)
        for name in names
    ]


async def test_built_once_per_shape_and_run_with_each_calls_values(
    database: ServerContext,
) -> None:
    alice, bob, carol = await _users(database, "alice", "bob", "carol")
    prepared = PreparedQueries(Account)
    seen: list[dict[str, Value]] = []

    def others(values: Mapping[str, Value]) -> QuerySet[Account]:
        seen.append(dict(values))
        return Account.filter(local=True, id__not=values["me"]).order_by("username")

    for me, expected in ((alice, ["bob", "carol"]), (bob, ["alice", "carol"])):
        rows = await prepared.fetch("others", others, me=me.id)
        assert [row.username for row in rows] == expected
        assert all(isinstance(row, Account) for row in rows)
    assert len(seen) == 1
    # The build saw a stand-in, never a real value.
    assert seen[0]["me"] not in (alice.id, bob.id, carol.id)

    # Another set of names is another shape.
    def named(values: Mapping[str, Value]) -> QuerySet[Account]:
        seen.append(dict(values))
        return Account.filter(username=values["name"])

    assert [row.id for row in await prepared.fetch("named", named, name="carol")] == [carol.id]
    assert await prepared.fetch("named", named, name="dave") == []
    assert len(seen) == 2


async def test_related_rows_come_with_their_model(database: ServerContext) -> None:
    (alice,) = await _users(database, "alice")
    app = await oauth.register_app("app", [oauth.OOB_REDIRECT], scope_rules.parse("read"))
    issued = await oauth.issue_token(app.app, alice, scope_rules.parse("read"))
    prepared = PreparedQueries(OAuthToken)

    def by_digest(values: Mapping[str, Value]) -> QuerySet[OAuthToken]:
        return OAuthToken.filter(digest=values["digest"]).select_related("account")

    (token,) = await prepared.fetch("t", by_digest, digest=oauth.digest(issued.access_token))
    assert token.account is not None
    assert token.account.username == "alice"
    assert await prepared.fetch("t", by_digest, digest=oauth.digest("not a token")) == []


async def test_a_value_written_into_the_sql_text_is_refused(database: ServerContext) -> None:
    prepared = PreparedQueries(Account)

    def spliced(values: Mapping[str, Value]) -> QuerySet[Account]:
        return Account.all().annotate(n=RawSQL(str(values["n"])))

    with pytest.raises(ShapeError, match="written into the SQL"):
        await prepared.fetch("spliced", spliced, n=3)

    def other_model(values: Mapping[str, Value]) -> QuerySet[OAuthToken]:
        return OAuthToken.filter(id=values["n"])

    with pytest.raises(ShapeError, match="OAuthToken"):
        await prepared.fetch("other", other_model, n=3)  # type: ignore[arg-type]

    # The clock (or anything else computed while building) would be kept for every call.
    def clocked(values: Mapping[str, Value]) -> QuerySet[Account]:
        return Account.filter(id=values["n"], created_at__lt=datetime.now(UTC))

    with pytest.raises(ShapeError, match="kept for every call"):
        await prepared.fetch("clocked", clocked, n=3)

    def computed(values: Mapping[str, Value]) -> QuerySet[Account]:
        return Account.filter(username=f"{values['name']}%")

    with pytest.raises(ShapeError, match="kept for every call"):
        await prepared.fetch("computed", computed, name="al")
    with pytest.raises(TypeError, match="int and str"):
        await prepared.fetch("flag", lambda v: Account.filter(local=v["on"]), on=True)


async def test_the_least_recently_used_shape_is_dropped(database: ServerContext) -> None:
    (alice,) = await _users(database, "alice")
    prepared = PreparedQueries(Account, max_shapes=2)
    builds: list[str] = []

    def build(shape: str) -> Build[Account]:
        def make(values: Mapping[str, Value]) -> QuerySet[Account]:
            builds.append(shape)
            return Account.filter(id=values["id"])

        return make

    for shape in ("a", "b", "a", "c", "a", "b"):
        rows = await prepared.fetch(shape, build(shape), id=alice.id)
        assert [row.id for row in rows] == [alice.id]
    # "b" was dropped when "c" came (the least recently used then), "a" never was.
    assert builds == ["a", "b", "c", "b"]


async def test_postgresql_pool_size_and_no_reset_query_on_release() -> None:
    config = db.connection_config("postgres://cop@127.0.0.1:5432/cop", pool_size=3)
    assert isinstance(config, dict)
    assert config["engine"] == "tortoise.backends.asyncpg"
    assert config["credentials"]["maxsize"] == 3
    reset = config["credentials"]["reset"]
    assert reset is db._keep_session
    await reset(object())  # does nothing, needs nothing
    assert db.connection_config("sqlite://data/cop.sqlite3") == "sqlite://data/cop.sqlite3"


def test_postgresql_gets_the_shapes_plain_constants_written_in() -> None:
    sql = 'SELECT 1 WHERE "v" IN ($1,$2) AND "a"=$3 AND "n"=$4 AND "s"=$5 AND "t"=$6 LIMIT $7'
    parameters = ["public", "it's", -7, "x", True, -8, 20]
    slots = (None, None, "viewer", None, None, "max_id", None)
    text, kept_slots, kept = _inline_constants(sql, slots, parameters)
    # A word needing quotes and a boolean stay parameters; values always do.
    assert text == (
        'SELECT 1 WHERE "v" IN (\'public\',$1) AND "a"=$2 AND "n"=\'x\' AND "s"=$3'
        ' AND "t"=$4 LIMIT (20)'
    )
    assert kept_slots == (None, "viewer", None, "max_id")
    assert kept == ["it's", -7, True, -8]
    # Placeholders that are not exactly $1..$n once each: left alone.
    odd = 'SELECT $1, $1 WHERE "a"=$2'
    assert _inline_constants(odd, (None, None, None), [1, 2, 3]) == (
        odd,
        (None, None, None),
        [1, 2, 3],
    )
