"""NodeInfo: discovery, tolerant parsing, peer kinds and our own documents."""

from __future__ import annotations

import json
import pathlib
from typing import TYPE_CHECKING, Any

import pytest

from activitypub.errors import BlockedAddress, FetchError, HTTPStatusError, InvalidDocument
from activitypub.http import SafeHttpClient
from activitypub.nodeinfo import (
    APPLICATION_REL,
    NODEINFO_20,
    NODEINFO_21,
    NodeInfo,
    NodeInfoError,
    NodeInfoUsage,
    build_nodeinfo,
    build_nodeinfo_links,
    fetch_nodeinfo,
    instance_actor_link,
    nodeinfo_content_type,
    nodeinfo_url,
    parse_nodeinfo,
    peer_kind,
)
from tests.activitypub.conftest import make_client, table_resolver

if TYPE_CHECKING:
    from tests.activitypub.conftest_discovery import Peers

pytest_plugins = ["tests.activitypub.conftest_discovery"]

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "discovery"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


# (software, host, expected name, version, schema, open registrations, kind)
REAL = [
    ("mastodon", "mastodon.example", "mastodon", "4.3.2", "2.0", True, "microblog"),
    ("lemmy", "lemmy.example", "lemmy", "0.19.5", "2.1", True, "group-aware"),
    ("piefed", "piefed.example", "piefed", "1.0.1", "2.1", True, "group-aware"),
    ("gotosocial", "gts.example", "gotosocial", "0.17.3 git-5f2b8a1", "2.0", False, "microblog"),
    ("misskey", "misskey.example", "misskey", "2024.11.0", "2.1", False, "microblog"),
    ("pleroma", "pleroma.example", "pleroma", "2.7.0", "2.1", True, "microblog"),
    ("friendica", "friendica.example", "friendica", "2024.08-1570", "2.0", True, "group-aware"),
]


@pytest.mark.parametrize(
    ("software", "host", "name", "version", "schema", "registrations", "kind"), REAL
)
def test_parse_real_documents(
    software: str, host: str, name: str, version: str, schema: str, registrations: bool, kind: str
) -> None:
    info = parse_nodeinfo(load(f"nodeinfo_{software}.json"), f"https://{host}/nodeinfo")
    assert info.software_name == name
    assert info.software_version == version
    assert info.schema_version == schema
    assert info.open_registrations is registrations
    assert info.speaks_activitypub
    assert info.kind == kind


@pytest.mark.parametrize(
    ("software", "host", "name", "version", "schema", "registrations", "kind"), REAL
)
def test_preferred_link_of_real_well_knowns(
    software: str, host: str, name: str, version: str, schema: str, registrations: bool, kind: str
) -> None:
    href, chosen = nodeinfo_url(load(f"nodeinfo_links_{software}.json"), "u")
    assert chosen == schema
    assert href.startswith(f"https://{host}/nodeinfo/{schema}")


def test_details_are_kept() -> None:
    friendica = parse_nodeinfo(load("nodeinfo_friendica.json"), "u")
    assert friendica.protocols == ("dfrn", "activitypub", "diaspora", "ostatus")
    assert friendica.metadata["nodeName"] == "Friendica Example"
    misskey = parse_nodeinfo(load("nodeinfo_misskey.json"), "u")
    assert misskey.usage == NodeInfoUsage(users_total=12, local_posts=1000)
    assert misskey.metadata["maxNoteTextLength"] == 3000
    mastodon = parse_nodeinfo(
        load("nodeinfo_mastodon.json"), "https://mastodon.example/nodeinfo/2.0"
    )
    assert mastodon.usage == NodeInfoUsage(1200, 310, 640, 52000)
    assert mastodon.source_url == "https://mastodon.example/nodeinfo/2.0"


def test_metadata_is_read_only() -> None:
    info = parse_nodeinfo(load("nodeinfo_mastodon.json"), "u")
    with pytest.raises(TypeError):
        info.metadata["nodeName"] = "x"  # type: ignore[index]


def test_missing_and_ill_typed_fields_are_tolerated() -> None:
    assert parse_nodeinfo({}, "u") == NodeInfo(
        software_name="", software_version="", source_url="u"
    )
    odd = parse_nodeinfo(
        {
            "software": {"name": "  Sharkey ", "version": 2024},
            "protocols": {"inbound": ["ActivityPub"], "outbound": ["activitypub", 3]},
            "openRegistrations": "yes",
            "usage": {"users": {"total": -1, "activeMonth": True}, "localPosts": "10"},
            "metadata": ["not", "a", "map"],
            "version": 2,
        },
        "u",
        version="2.0",
    )
    assert odd.software_name == "sharkey"
    assert odd.software_version == ""
    assert odd.protocols == ("activitypub",)
    assert odd.open_registrations is None
    assert odd.usage == NodeInfoUsage()
    assert dict(odd.metadata) == {}
    assert odd.schema_version == "2.0"
    assert odd.kind == "microblog"
    assert parse_nodeinfo({"software": "mastodon", "protocols": "activitypub"}, "u").protocols == (
        "activitypub",
    )


@pytest.mark.parametrize("document", [None, [], "text", 3])
def test_non_objects_are_refused(document: Any) -> None:
    with pytest.raises(NodeInfoError):
        parse_nodeinfo(document, "u")
    with pytest.raises(NodeInfoError):
        nodeinfo_url(document, "u")


def test_link_selection() -> None:
    both = {
        "links": [
            {"rel": NODEINFO_20, "href": "https://a.example/20"},
            {"rel": NODEINFO_21, "href": "https://a.example/21"},
        ]
    }
    assert nodeinfo_url(both, "u") == ("https://a.example/21", "2.1")
    single = {
        "links": {
            "rel": "https://nodeinfo.diaspora.software/ns/schema/2.0/",
            "href": "https://a.example/20",
        }
    }
    assert nodeinfo_url(single, "u") == ("https://a.example/20", "2.0")
    for links in (
        {
            "links": [
                {
                    "rel": "http://nodeinfo.diaspora.software/ns/schema/1.0",
                    "href": "https://a.example/10",
                }
            ]
        },
        {"links": [{"rel": NODEINFO_21, "href": "javascript:alert(1)"}, {"rel": NODEINFO_20}]},
        {"links": "none"},
        {},
    ):
        with pytest.raises(NodeInfoError):
            nodeinfo_url(links, "u")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("lemmy", "group-aware"),
        ("piefed", "group-aware"),
        ("mbin", "group-aware"),
        ("kbin", "group-aware"),
        ("nodebb", "group-aware"),
        ("friendica", "group-aware"),
        ("fediverse-cop", "group-aware"),
        ("Lemmy", "group-aware"),
        ("mastodon", "microblog"),
        ("gotosocial", "microblog"),
        ("misskey", "microblog"),
        ("pleroma", "microblog"),
        ("akkoma", "microblog"),
        ("something-new", "microblog"),
        ("", "microblog"),
        (None, "microblog"),
    ],
)
def test_peer_kind(name: str | None, kind: str) -> None:
    assert peer_kind(name) == kind


def test_our_links_document() -> None:
    doc = build_nodeinfo_links("https://uni-a.edu/", "https://uni-a.edu/actor")
    assert doc["links"] == [
        {"rel": NODEINFO_21, "href": "https://uni-a.edu/nodeinfo/2.1"},
        {"rel": NODEINFO_20, "href": "https://uni-a.edu/nodeinfo/2.0"},
        {"rel": APPLICATION_REL, "href": "https://uni-a.edu/actor"},
    ]
    assert nodeinfo_url(doc, "u") == ("https://uni-a.edu/nodeinfo/2.1", "2.1")
    assert instance_actor_link(doc, "u") == "https://uni-a.edu/actor"
    assert instance_actor_link(build_nodeinfo_links("https://uni-a.edu"), "u") is None


def test_our_documents_round_trip() -> None:
    usage = NodeInfoUsage(
        users_total=40, users_active_month=12, users_active_halfyear=30, local_posts=900
    )
    metadata = {"nodeName": "Uni A communities", "communities": 5}
    doc21 = build_nodeinfo(
        "2.1",
        software_version="0.1.0",
        open_registrations=False,
        usage=usage,
        metadata=metadata,
        repository="https://example.org/fediverse-cop",
        homepage="https://example.org/",
    )
    assert doc21["software"] == {
        "name": "fediverse-cop",
        "version": "0.1.0",
        "repository": "https://example.org/fediverse-cop",
        "homepage": "https://example.org/",
    }
    assert doc21["usage"] == {
        "users": {"total": 40, "activeMonth": 12, "activeHalfyear": 30},
        "localPosts": 900,
    }
    info = parse_nodeinfo(json.loads(json.dumps(doc21)), "u")
    assert info.software_name == "fediverse-cop"
    assert info.kind == "group-aware"
    assert info.usage == usage
    assert dict(info.metadata) == metadata
    assert info.open_registrations is False
    doc20 = build_nodeinfo(
        "2.0",
        software_version="0.1.0",
        open_registrations=True,
        usage=NodeInfoUsage(),
        metadata={},
        repository="https://x",
    )
    assert doc20["version"] == "2.0"
    assert "repository" not in doc20["software"]
    assert doc20["usage"] == {"users": {}}
    assert nodeinfo_content_type("2.1") == f'application/json; profile="{NODEINFO_21}#"'


# -- over HTTP ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("software", "host", "name", "version", "schema", "registrations", "kind"), REAL
)
async def test_fetch_real_shaped(
    peers: Peers,
    http: SafeHttpClient,
    software: str,
    host: str,
    name: str,
    version: str,
    schema: str,
    registrations: bool,
    kind: str,
) -> None:
    links = peers.rehost(load(f"nodeinfo_links_{software}.json"), {host: host})
    peers.serve_json(host, "/.well-known/nodeinfo", links)
    href, _ = nodeinfo_url(links, "u")
    path = href.removeprefix(peers.base(host))
    peers.serve_json(
        host, path, load(f"nodeinfo_{software}.json"), content_type=nodeinfo_content_type("2.0")
    )
    info = await fetch_nodeinfo(http, peers.netloc(host), scheme="http")
    assert (info.software_name, info.software_version, info.kind) == (name, version, kind)
    assert info.source_url == href
    assert peers.hits(host) == 2


async def test_fetch_errors_are_fetch_errors(peers: Peers, http: SafeHttpClient) -> None:
    domain = peers.netloc("unknown.example")
    with pytest.raises(HTTPStatusError):
        await fetch_nodeinfo(http, domain, scheme="http")

    peers.serve(
        "unknown.example",
        "/.well-known/nodeinfo",
        peers.reply(b"<html/>", content_type="text/html"),
    )
    with pytest.raises(InvalidDocument):
        await fetch_nodeinfo(http, domain, scheme="http")

    peers.serve_json("unknown.example", "/.well-known/nodeinfo", {"links": []})
    with pytest.raises(NodeInfoError):
        await fetch_nodeinfo(http, domain, scheme="http")

    peers.serve_json(
        "unknown.example",
        "/.well-known/nodeinfo",
        {"links": [{"rel": NODEINFO_20, "href": peers.url("unknown.example", "/ni")}]},
    )
    peers.serve("unknown.example", "/ni", peers.reply(b"[1, 2]"))
    with pytest.raises(NodeInfoError):
        await fetch_nodeinfo(http, domain, scheme="http")

    peers.serve("unknown.example", "/ni", peers.reply(b"{bad json"))
    with pytest.raises(InvalidDocument):
        await fetch_nodeinfo(http, domain, scheme="http")

    peers.serve("unknown.example", "/ni", peers.reply(b"[" * 1000 + b"]" * 1000))
    with pytest.raises(InvalidDocument):
        await fetch_nodeinfo(http, domain, scheme="http")


async def test_nodeinfo_link_to_a_private_address_is_refused(peers: Peers) -> None:
    names = {"unknown.example": ["127.0.0.1"], "internal.example": ["10.1.2.3"]}
    async with make_client(
        allowed_networks=["127.0.0.0/8"], resolver=table_resolver(names)
    ) as client:
        peers.serve_json(
            "unknown.example",
            "/.well-known/nodeinfo",
            {"links": [{"rel": NODEINFO_21, "href": "http://internal.example/nodeinfo/2.1"}]},
        )
        with pytest.raises(BlockedAddress):
            await fetch_nodeinfo(client, peers.netloc("unknown.example"), scheme="http")
        with pytest.raises(FetchError):
            await fetch_nodeinfo(client, "169.254.169.254", scheme="http")
