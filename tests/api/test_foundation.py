"""The pieces every endpoint stands on: parameters, scopes, tokens, CORS, rate limits, entities."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from tortoise import Tortoise

from fediverse_cop.api.entities import Serializer
from fediverse_cop.api.params import nest, to_bool
from fediverse_cop.api.responses import iso
from fediverse_cop.app import create_app
from fediverse_cop.models import Favourite, OAuthToken, Status, StatusMention, StatusTag, Tag
from fediverse_cop.services import oauth, statuses
from fediverse_cop.services import scopes as scope_rules
from fediverse_cop.services.errors import Invalid
from fediverse_cop.services.statuses import Draft
from fediverse_cop.settings import Settings
from tests.api.conftest import Api
from tests.api.openapi import SchemaMismatch, validate


def test_bracket_keys_become_lists_and_dicts() -> None:
    pairs = [
        ("status", "hi"),
        ("media_ids[]", "1"),
        ("media_ids[]", "2"),
        ("poll[options][]", "yes"),
        ("poll[options][]", "no"),
        ("poll[expires_in]", "300"),
        ("fields_attributes[0][name]", "Web"),
        ("fields_attributes[0][value]", "https://uni-a.edu"),
        ("fields_attributes[1][name]", "Room"),
    ]
    assert nest(pairs) == {
        "status": "hi",
        "media_ids": ["1", "2"],
        "poll": {"options": ["yes", "no"], "expires_in": "300"},
        "fields_attributes": {
            "0": {"name": "Web", "value": "https://uni-a.edu"},
            "1": {"name": "Room"},
        },
    }


def test_malformed_and_too_deep_keys_are_dropped() -> None:
    assert nest([("a]b", "x"), ("[x]", "y"), ("a[b][c][d][e]", "z"), ("ok", "1")]) == {"ok": "1"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("True", True),
        ("on", True),
        (True, True),
        ("0", False),
        ("false", False),
        ("", False),
        (0, False),
    ],
)
def test_booleans_as_clients_send_them(raw: object, expected: bool) -> None:
    assert to_bool(raw) is expected


def test_timestamps_are_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2026, 3, 1, 0, 30, 5, 123999, tzinfo=timezone(timedelta(hours=2)))
    assert iso(moment) == "2026-02-28T22:30:05.123Z"
    assert iso(moment.astimezone(UTC).replace(tzinfo=None)) == "2026-02-28T22:30:05.123Z"
    assert iso(datetime(987, 6, 5, 4, 3, 2, tzinfo=UTC)) == "0987-06-05T04:03:02.000Z"
    assert iso(None) is None


def test_a_non_boolean_is_refused() -> None:
    with pytest.raises(Invalid):
        to_bool("maybe")


def test_scopes_cover_their_granular_scopes_and_follow_covers_relationships() -> None:
    assert scope_rules.allows({"read"}, "read:statuses")
    assert scope_rules.allows({"write:statuses"}, "write:statuses")
    assert not scope_rules.allows({"read"}, "write:statuses")
    assert not scope_rules.allows({"read:accounts"}, "read:statuses")
    assert scope_rules.allows({"follow"}, "write:follows")
    assert scope_rules.allows({"follow"}, "write:blocks")
    assert not scope_rules.allows({"follow"}, "write:statuses")
    assert scope_rules.allows({"admin:read"}, "admin:read:accounts")
    with pytest.raises(scope_rules.InvalidScope):
        scope_rules.parse("read bogus")
    assert scope_rules.parse("read+write") == {"read", "write"}
    assert scope_rules.parse(None) == {"read"}


async def test_tokens_are_stored_as_digests_and_revocation_is_immediate(api: Api) -> None:
    alice = await api.user("alice")
    stored = await OAuthToken.get(account=alice.account)
    assert alice.token not in (stored.digest, stored.refresh_digest)
    assert stored.digest == oauth.digest(alice.token)
    assert (await oauth.find_token(alice.token)) is not None
    assert await oauth.revoke_account_tokens(alice.account) == 1
    assert (await oauth.find_token(alice.token)) is None
    assert (await oauth.find_token("not-a-token")) is None


async def test_cors_preflight_and_headers(api: Api) -> None:
    preflight = await api.client.options(
        "/api/v1/timelines/home",
        headers={"Origin": "https://elk.zone", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    response = await api.client.get("/api/v1/no-such-endpoint")
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Link" in response.headers["access-control-expose-headers"]
    # ActivityPub and HTML pages are not part of the browser API.
    assert "access-control-allow-origin" not in (await api.client.get("/healthz")).headers


async def test_rate_limit_headers_and_429(api: Api) -> None:
    first = await api.client.get("/api/v1/no-such-endpoint")
    assert first.headers["x-ratelimit-limit"] == "300"
    assert first.headers["x-ratelimit-remaining"] == "299"
    for _ in range(299):
        await api.client.get("/api/v1/no-such-endpoint")
    refused = await api.client.get("/api/v1/no-such-endpoint")
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many requests"}
    assert int(refused.headers["retry-after"]) > 0
    # Another client (another token) has its own budget.
    alice = await api.user("alice")
    other = await api.client.get(
        "/api/v1/no-such-endpoint", headers={"Authorization": f"Bearer {alice.token}"}
    )
    assert other.status_code != 429


async def test_the_default_avatar_is_an_image(api: Api) -> None:
    response = await api.client.get("/static/avatar.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_the_schema_validator_catches_a_wrong_shape() -> None:
    with pytest.raises(SchemaMismatch):
        validate("/api/v1/accounts/123", "GET", 200, {"id": 123})
    assert validate("/api/v1/not-in-the-schema", "GET", 200, {}) is False


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    """Count the SQL statements the default connection runs (instrumentation, not a fake)."""
    connection: Any = Tortoise.get_connection("default")
    seen: list[str] = []
    originals = {}
    for name in ("execute_query", "execute_query_dict"):
        original = getattr(connection, name)
        originals[name] = original

        def wrapped(query: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            seen.append(query)
            return _original(query, *args, **kwargs)

        setattr(connection, name, wrapped)
    try:
        yield seen
    finally:
        for name, original in originals.items():
            setattr(connection, name, original)


async def _busy_page(api: Api, size: int) -> list[Status]:
    """``size`` posts by several authors with mentions, tags, replies, boosts and favourites."""
    authors = [await api.user(f"author{i}") for i in range(3)]
    tag = await Tag.create(name="chemistry")
    page: list[Status] = []
    for i in range(size):
        author = authors[i % 3].account
        parent = page[-1] if page and i % 4 == 0 else None
        status = await statuses.post(api.fed, author, Draft(text=f"post {i}", in_reply_to=parent))
        await StatusMention.get_or_create(status=status, account=authors[(i + 1) % 3].account)
        await StatusTag.create(status=status, tag=tag)
        await Favourite.create(account=authors[(i + 2) % 3].account, status=status)
        if i % 5 == 0:
            # A boost of a post that is not on the page: its original is loaded.
            elsewhere = await statuses.post(api.fed, author, Draft(text=f"boosted {i}"))
            page.append(await statuses.reblog(api.fed, authors[(i + 1) % 3].account, elsewhere))
        page.append(status)
    return page[:size]


async def test_serializing_a_page_costs_the_same_queries_for_2_or_40_statuses(api: Api) -> None:
    page = await _busy_page(api, 40)
    viewer = (await api.user("viewer")).account
    # The posts' notifications are pushed in the background: let that finish first, so
    # only the serializer's queries are counted.
    await api.quiet()
    serializer = Serializer(api.ctx, viewer)
    # A boost and a post with a mention, a tag and a favourite: every kind of query the
    # forty need (kinds a page does not hold cost no query).
    with counting_queries() as two:
        await serializer.statuses(page[:2])
    with counting_queries() as forty:
        rendered = await serializer.statuses(page)
    assert len(rendered) == 40
    assert any(s["reblog"] for s in rendered)
    assert any(s["in_reply_to_id"] for s in rendered)
    assert all(s["tags"] and s["mentions"] for s in rendered if not s["reblog"])
    assert len(forty) == len(two), (len(two), len(forty))
    for status in rendered:
        validate("/api/v1/statuses/1", "GET", 200, status)


async def test_the_api_rate_limit_is_a_setting_and_0_turns_it_off(settings: Settings) -> None:
    for limit, expected in ((5, "5"), (0, None)):
        app = create_app(dataclasses.replace(settings, api_rate_limit=limit))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cop.test") as client:
            answers = [await client.get("/api/v1/no-such-endpoint") for _ in range(6)]
        assert answers[0].headers.get("x-ratelimit-limit") == expected
        assert (answers[-1].status_code == 429) is (limit == 5)
