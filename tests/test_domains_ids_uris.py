"""Domain normalization, time-ordered ids and the local URI table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activitypub.domains import (
    InvalidDomain,
    domain_matches,
    normalize_domain,
    normalize_host_port,
    origin_of,
)
from activitypub.uris import ROUTE_TEMPLATES, Kind, LocalURIs
from fediverse_cop.ids import id_floor, id_time, new_id


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("Bücher.Example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("192.0.2.1", "192.0.2.1"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
    ],
)
def test_normalize_domain(raw: str, normalized: str) -> None:
    assert normalize_domain(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ".",
        "example.com..",
        "evil.example/x",
        "a@b",
        "two words.example",
        "a:b",
        "-x.example",
        "x" * 64 + ".example",
        "ex ample.com",
        "[not-ipv6]",
    ],
)
def test_invalid_domains(raw: str) -> None:
    with pytest.raises(InvalidDomain):
        normalize_domain(raw)


def test_host_port() -> None:
    assert normalize_host_port("127.0.0.1:8000") == "127.0.0.1:8000"
    assert normalize_host_port("Social.Example:0443") == "social.example:443"
    with pytest.raises(InvalidDomain):
        normalize_host_port("social.example:99999")


def test_block_matching_covers_subdomains_only() -> None:
    assert domain_matches("example.com", "example.com")
    assert domain_matches("sub.example.com", "example.com")
    assert not domain_matches("badexample.com", "example.com")
    assert not domain_matches("example.com", "sub.example.com")


def test_origin() -> None:
    assert origin_of("https://Example.com/a") == origin_of("https://example.com:443/b")
    assert origin_of("https://example.com/a") != origin_of("http://example.com/a")
    assert origin_of("https://example.com:8443/a") != origin_of("https://example.com/a")
    assert str(origin_of("http://example.com:8000/x")) == "http://example.com:8000"
    for bad in ("ftp://example.com/", "https://user:pw@example.com/", "https:///nohost"):
        with pytest.raises(InvalidDomain):
            origin_of(bad)


def test_ids_increase_and_carry_their_time() -> None:
    ids = [new_id() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    made = new_id(now_ms=int(moment.timestamp() * 1000))
    assert id_time(made) == moment
    assert id_floor(moment) <= made < id_floor(moment) + (1 << 16)
    assert made < 2**63


def test_local_uris_round_trip() -> None:
    uris = LocalURIs("https", "uni-a.edu")
    for kind, template in ROUTE_TEMPLATES.items():
        params = {name: "x_1" for name in ("name", "id") if "{" + name + "}" in template}
        uri = uris.build(kind, **params)
        parsed = uris.parse(uri)
        assert parsed is not None
        assert (parsed.kind, parsed.params) == (kind, params)
    key = uris.build(Kind.USER_KEY, name="alice")
    assert key == "https://uni-a.edu/users/alice#main-key"
    assert uris.parse(key) == uris.parse(key)
    parsed_key = uris.parse(key)
    assert parsed_key is not None
    assert parsed_key.kind is Kind.USER_KEY
    assert parsed_key.name == "alice"


@pytest.mark.parametrize(
    "uri",
    [
        "https://other.edu/users/alice",
        "http://uni-a.edu/users/alice",
        "https://uni-a.edu/users/alice/extra",
        "https://uni-a.edu/users/alice?x=1",
        "https://uni-a.edu/users/alice#other",
        "https://uni-a.edu/inbox#main-key",
        "not a url",
    ],
)
def test_foreign_or_unknown_uris_are_not_ours(uri: str) -> None:
    assert LocalURIs("https", "uni-a.edu").parse(uri) is None
