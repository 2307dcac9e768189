"""WebFinger: handles, JRD parsing, host-meta, the identity rule (TC17) and our own JRDs."""

from __future__ import annotations

import json
import pathlib
from typing import TYPE_CHECKING, Any

import pytest

from activitypub.errors import BlockedAddress, FetchError, HTTPStatusError, InvalidDocument
from activitypub.http import SafeHttpClient
from activitypub.uris import Kind, LocalURIs
from activitypub.webfinger import (
    PROFILE_PAGE_REL,
    SUBSCRIBE_REL,
    Handle,
    InvalidHandle,
    LocalResource,
    ResourceRefused,
    WebFingerClient,
    WebFingerResult,
    build_jrd,
    decide_binding,
    lrdd_template,
    parse_jrd,
    parse_resource,
)
from tests.activitypub.conftest import make_client, table_resolver

if TYPE_CHECKING:
    from tests.activitypub.conftest_discovery import Peers, Reply

pytest_plugins = ["tests.activitypub.conftest_discovery"]

AP = "application/activity+json"


FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "discovery"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def jrd(subject: str, actor: str | None, **extra: Any) -> dict[str, Any]:
    links: list[dict[str, Any]] = [{"rel": PROFILE_PAGE_REL, "type": "text/html", "href": actor}]
    if actor is not None:
        links.append({"rel": "self", "type": AP, "href": actor})
    return {"subject": subject, "links": links, **extra}


def result(subject: str | None, actor: str | None) -> WebFingerResult:
    return parse_jrd(
        {"subject": subject, "links": [{"rel": "self", "type": AP, "href": actor}]}, "x"
    )


@pytest.fixture
def wf(http: SafeHttpClient) -> WebFingerClient:
    return WebFingerClient(http, scheme="http")


# -- handles -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "acct:alice@victim.example",
        "alice@victim.example",
        "@alice@victim.example",
        "ACCT:alice@Victim.Example.",
    ],
)
def test_handle_forms(text: str) -> None:
    handle = Handle.parse(text)
    assert (handle.username, handle.domain) == ("alice", "victim.example")
    assert handle.acct == "acct:alice@victim.example"
    assert str(handle) == "alice@victim.example"


def test_handle_keeps_port_and_normalizes_idn() -> None:
    assert Handle.parse("bob@localhost:8080").domain == "localhost:8080"
    assert Handle.parse("bob@Bücher.example").domain == "xn--bcher-kva.example"


def test_handle_comparison_ignores_user_name_case() -> None:
    assert Handle.parse("Alice@victim.example").same_as(Handle.parse("alice@VICTIM.example"))
    assert not Handle.parse("alice@victim.example").same_as(Handle.parse("alice@evil.example"))


@pytest.mark.parametrize(
    "text",
    [
        "alice",
        "alice@",
        "@victim.example",
        "a@b@victim.example",
        "al ice@victim.example",
        "alice@victim.example/x",
        "alice@evil.example#@victim.example",
        "alice@[not-ip]",
        "",
    ],
)
def test_invalid_handles(text: str) -> None:
    with pytest.raises(InvalidHandle):
        Handle.parse(text)


# -- JRD parsing ---------------------------------------------------------------

REAL_JRDS = [
    (
        "webfinger_mastodon.json",
        "acct:alice@mastodon.example",
        "https://mastodon.example/users/alice",
    ),
    (
        "webfinger_lemmy_group.json",
        "acct:technology@lemmy.example",
        "https://lemmy.example/c/technology",
    ),
    ("webfinger_piefed.json", "acct:rimu@piefed.example", "https://piefed.example/u/rimu"),
    ("webfinger_gotosocial.json", "acct:tobi@gts.example", "https://gts.example/users/tobi"),
    (
        "webfinger_misskey.json",
        "acct:syuilo@misskey.example",
        "https://misskey.example/users/9a1b2c3d4e",
    ),
    ("webfinger_pleroma.json", "acct:lain@pleroma.example", "https://pleroma.example/users/lain"),
    (
        "webfinger_friendica.json",
        "acct:heluecht@friendica.example",
        "https://friendica.example/profile/heluecht",
    ),
]


@pytest.mark.parametrize(("name", "subject", "actor"), REAL_JRDS)
def test_parse_real_jrds(name: str, subject: str, actor: str) -> None:
    parsed = parse_jrd(load(name), "https://x.example/.well-known/webfinger")
    assert parsed.subject == subject
    assert parsed.actor_uri == actor
    assert parsed.subject_handle is not None
    assert parsed.subject_handle.acct == subject
    assert parsed.profile_page is not None


def test_parse_jrd_skips_non_http_hrefs_and_keeps_templates() -> None:
    parsed = parse_jrd(load("webfinger_friendica.json"), "u")
    magic = [link for link in parsed.links if link.rel == "magic-public-key"]
    assert magic
    assert magic[0].href is None
    assert parsed.subscribe_template == "https://friendica.example/contact/follow?url={uri}"
    assert "https://friendica.example/~heluecht" in parsed.aliases


def test_self_link_needs_an_activitystreams_type() -> None:
    doc = {
        "subject": "acct:a@x.example",
        "links": [
            {"rel": "self", "type": "text/html", "href": "https://x.example/html"},
            {"rel": "self", "href": "https://x.example/untyped"},
            {"rel": "self", "type": "application/ld+json", "href": "https://x.example/no-profile"},
            {
                "rel": "self",
                "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
                "href": "https://x.example/ld",
            },
        ],
    }
    assert parse_jrd(doc, "u").actor_uri == "https://x.example/ld"
    doc["links"] = doc["links"][:3]
    assert parse_jrd(doc, "u").actor_uri is None


def test_parse_jrd_tolerates_junk_but_not_a_non_object() -> None:
    parsed = parse_jrd(
        {
            "subject": 3,
            "aliases": "x",
            "links": [1, {"rel": 2}, {"rel": "self", "href": "javascript:alert(1)", "type": AP}],
        },
        "u",
    )
    assert parsed.subject is None
    assert parsed.aliases == ()
    assert parsed.actor_uri is None
    with pytest.raises(InvalidDocument):
        parse_jrd(["subject"], "u")


# -- host-meta -----------------------------------------------------------------


def test_lrdd_template_from_xrd() -> None:
    body = (pathlib.Path(__file__).parent / "fixtures/discovery/host_meta.xml").read_bytes()
    assert lrdd_template(body, "u") == "https://social.example/.well-known/webfinger?resource={uri}"


def test_lrdd_template_from_json_host_meta() -> None:
    body = b'{"links": [{"rel": "lrdd", "template": "https://a.example/wf?resource={uri}"}]}'
    assert lrdd_template(body, "u") == "https://a.example/wf?resource={uri}"


@pytest.mark.parametrize(
    "body",
    [
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"><Link rel="lrdd" template="&b;{uri}"/></XRD>',
        # external entity
        b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><XRD/>',
        b"<XRD><Link rel='lrdd' template='no placeholder'/></XRD>",
        b"<XRD><Link rel='lrdd'",
        b"{not json",
        b'{"links": [{"rel": "lrdd", "template": 5}]}',
    ],
)
def test_lrdd_template_refusals(body: bytes) -> None:
    with pytest.raises(InvalidDocument):
        lrdd_template(body, "u")


# -- the identity rule, pure -----------------------------------------------------

ALICE = Handle.parse("alice@victim.example")
VICTIM_ACTOR = "https://victim.example/users/alice"
SPLIT_ACTOR = "https://social.victim.example/users/alice"
EVIL_ACTOR = "https://evil.example/users/alice"


def test_same_host_binding() -> None:
    decision = decide_binding(ALICE, VICTIM_ACTOR, "alice", result(ALICE.acct, VICTIM_ACTOR))
    assert decision.bound
    assert decision.handle == ALICE


def test_binding_refusals() -> None:
    # the handle's host points elsewhere
    assert not decide_binding(ALICE, EVIL_ACTOR, "alice", result(ALICE.acct, VICTIM_ACTOR)).bound
    # the handle's host answers for another subject
    other = result("acct:bob@victim.example", VICTIM_ACTOR)
    assert not decide_binding(ALICE, VICTIM_ACTOR, "alice", other).bound
    # no subject at all
    assert not decide_binding(ALICE, VICTIM_ACTOR, "alice", result(None, VICTIM_ACTOR)).bound
    # preferredUsername is someone else's
    decision = decide_binding(ALICE, VICTIM_ACTOR, "mallory", result(ALICE.acct, VICTIM_ACTOR))
    assert not decision.bound
    assert "preferredUsername" in (decision.reason or "")
    # actor id is not http(s)
    assert not decide_binding(ALICE, "javascript:x", None, result(ALICE.acct, "javascript:x")).bound


def test_split_domain_binding_needs_the_round_trip() -> None:
    handle_jrd = result(ALICE.acct, SPLIT_ACTOR)
    assert not decide_binding(ALICE, SPLIT_ACTOR, "alice", handle_jrd).bound
    confirmed = result(ALICE.acct, SPLIT_ACTOR)
    assert decide_binding(ALICE, SPLIT_ACTOR, "alice", handle_jrd, confirmed).bound
    own_subject = result("acct:alice@social.victim.example", SPLIT_ACTOR)
    assert not decide_binding(ALICE, SPLIT_ACTOR, "alice", handle_jrd, own_subject).bound


def test_evil_answer_never_binds_the_victims_handle() -> None:
    """TC17, pure: the only JRD naming the evil actor comes from evil.example."""
    evil_jrd = result(ALICE.acct, EVIL_ACTOR)
    victim_jrd = result(ALICE.acct, VICTIM_ACTOR)
    assert not decide_binding(ALICE, EVIL_ACTOR, "alice", victim_jrd, evil_jrd).bound


# -- live lookups ------------------------------------------------------------------


async def test_lookup_handle_sends_jrd_accept_and_the_resource(
    peers: Peers, wf: WebFingerClient
) -> None:
    handle = Handle.parse(f"alice@{peers.netloc('victim.example')}")
    actor = peers.url("victim.example", "/users/alice")
    captured: dict[str, str] = {}

    def answer(request: Any) -> Reply:
        captured["accept"] = request.headers["accept"]
        captured["resource"] = request.query_params["resource"]
        return peers.reply(
            b'{"subject": "%s", "links": [{"rel": "self", "type": "%s", "href": "%s"}]}'
            % (handle.acct.encode(), AP.encode(), actor.encode()),
            content_type="application/jrd+json",
        )

    peers.serve("victim.example", "/.well-known/webfinger", answer)
    found = await wf.lookup_handle(handle)
    assert found.actor_uri == actor
    assert captured == {"accept": "application/jrd+json, application/json", "resource": handle.acct}


async def test_lookup_url(peers: Peers, wf: WebFingerClient) -> None:
    profile = peers.url("victim.example", "/@alice")
    actor = peers.url("victim.example", "/users/alice")
    peers.webfinger(
        "victim.example", {profile: jrd(f"acct:alice@{peers.netloc('victim.example')}", actor)}
    )
    assert (await wf.lookup_url(profile)).actor_uri == actor
    with pytest.raises(InvalidDocument):
        await wf.lookup_url("ftp://victim.example/x")


async def test_tc17_evil_webfinger_claiming_victim_is_not_bound(
    peers: Peers, wf: WebFingerClient
) -> None:
    victim = peers.netloc("victim.example")
    handle = Handle.parse(f"alice@{victim}")
    victim_actor = peers.url("victim.example", "/users/alice")
    evil_actor = peers.url("evil.example", "/users/alice")
    peers.webfinger("victim.example", {handle.acct: jrd(handle.acct, victim_actor)})
    evil_answer = jrd(handle.acct, evil_actor)
    peers.webfinger(
        "evil.example",
        {f"acct:alice@{peers.netloc('evil.example')}": evil_answer, evil_actor: evil_answer},
    )
    # Forward: someone claims the handle is the evil actor.
    decision = await wf.bind_handle(handle, evil_actor, "alice")
    assert not decision.bound
    # Reverse: the evil actor's own host claims the victim's handle.
    reverse = await wf.handle_for_actor(evil_actor, "alice")
    assert not reverse.bound
    assert reverse.handle == handle  # the claim was checked against victim.example …
    assert peers.hits("victim.example", "/.well-known/webfinger") == 2
    # … and the victim's real actor still binds.
    assert (await wf.bind_handle(handle, victim_actor, "alice")).bound


async def test_tc17_victim_without_webfinger_binds_nothing(
    peers: Peers, wf: WebFingerClient
) -> None:
    evil_actor = peers.url("evil.example", "/users/alice")
    claim = f"acct:alice@{peers.netloc('victim.example')}"
    peers.webfinger(
        "evil.example", {f"acct:alice@{peers.netloc('evil.example')}": jrd(claim, evil_actor)}
    )
    with pytest.raises(HTTPStatusError):
        await wf.handle_for_actor(evil_actor, "alice")


async def test_split_domain_round_trip(peers: Peers, wf: WebFingerClient) -> None:
    handle = Handle.parse(f"alice@{peers.netloc('victim.example')}")
    actor = peers.url("social.victim.example", "/users/alice")
    peers.webfinger("victim.example", {handle.acct: jrd(handle.acct, actor)})
    peers.webfinger(
        "social.victim.example",
        {f"acct:alice@{peers.netloc('social.victim.example')}": jrd(handle.acct, actor)},
    )
    assert (await wf.bind_handle(handle, actor, "alice")).bound
    reverse = await wf.handle_for_actor(actor, "alice")
    assert reverse.bound
    assert reverse.handle == handle


async def test_split_domain_without_confirmation_is_refused(
    peers: Peers, wf: WebFingerClient
) -> None:
    handle = Handle.parse(f"alice@{peers.netloc('victim.example')}")
    actor = peers.url("social.victim.example", "/users/alice")
    own = f"acct:alice@{peers.netloc('social.victim.example')}"
    peers.webfinger("victim.example", {handle.acct: jrd(handle.acct, actor)})
    peers.webfinger("social.victim.example", {own: jrd(own, actor)})
    decision = await wf.bind_handle(handle, actor, "alice")
    assert not decision.bound
    assert "answers for" in (decision.reason or "")
    # The actor's own handle binds, though.
    reverse = await wf.handle_for_actor(actor, "alice")
    assert reverse.bound
    assert reverse.handle == Handle.parse(own)


async def test_bind_reuses_a_given_jrd(peers: Peers, wf: WebFingerClient) -> None:
    handle = Handle.parse(f"alice@{peers.netloc('victim.example')}")
    actor = peers.url("victim.example", "/users/alice")
    peers.webfinger("victim.example", {handle.acct: jrd(handle.acct, actor)})
    found = await wf.lookup_handle(handle)
    assert (await wf.bind_handle(handle, actor, "alice", handle_host_jrd=found)).bound
    assert peers.hits("victim.example") == 1


async def test_host_meta_fallback_to_another_host(peers: Peers, wf: WebFingerClient) -> None:
    handle = Handle.parse(f"alice@{peers.netloc('victim.example')}")
    actor = peers.url("victim.example", "/users/alice")
    template = peers.url("delegate.example", "/wf?resource={uri}")
    xrd = f'<?xml version="1.0"?><XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"><Link rel="lrdd" type="application/json" template="{template}"/></XRD>'
    peers.serve(
        "victim.example",
        "/.well-known/host-meta",
        peers.reply(xrd.encode(), content_type="application/xrd+xml"),
    )

    def delegate(request: Any) -> Reply:
        assert request.query_params["resource"] == handle.acct
        body = f'{{"subject": "{handle.acct}", "links": [{{"rel": "self", "type": "{AP}", "href": "{actor}"}}]}}'
        return peers.reply(body.encode(), content_type="application/jrd+json")

    peers.serve("delegate.example", "/wf", delegate)
    found = await wf.lookup_handle(handle)
    assert found.actor_uri == actor
    assert found.source_url.startswith(peers.base("delegate.example"))
    assert (await wf.bind_handle(handle, actor, "alice")).bound


async def test_host_meta_with_a_dtd_is_refused(peers: Peers, wf: WebFingerClient) -> None:
    xml = b'<?xml version="1.0"?><!DOCTYPE XRD [<!ENTITY e SYSTEM "http://127.0.0.1/">]><XRD><Link rel="lrdd" template="&e;{uri}"/></XRD>'
    peers.serve(
        "victim.example",
        "/.well-known/host-meta",
        peers.reply(xml, content_type="application/xrd+xml"),
    )
    with pytest.raises(InvalidDocument):
        await wf.lookup_handle(Handle.parse(f"alice@{peers.netloc('victim.example')}"))


async def test_no_webfinger_and_no_host_meta_reports_the_404(
    peers: Peers, wf: WebFingerClient
) -> None:
    with pytest.raises(HTTPStatusError) as info:
        await wf.lookup_handle(Handle.parse(f"alice@{peers.netloc('victim.example')}"))
    assert info.value.status == 404
    assert peers.hits("victim.example", "/.well-known/host-meta") == 1


@pytest.mark.parametrize("status", [410, 500])
async def test_other_statuses_do_not_fall_back(
    peers: Peers, wf: WebFingerClient, status: int
) -> None:
    peers.serve("victim.example", "/.well-known/webfinger", peers.reply(b"{}", status=status))
    with pytest.raises(HTTPStatusError) as info:
        await wf.lookup_handle(Handle.parse(f"alice@{peers.netloc('victim.example')}"))
    assert info.value.status == status
    assert info.value.retryable is (status == 500)
    assert peers.hits("victim.example", "/.well-known/host-meta") == 0


async def test_html_answer_is_refused(peers: Peers, wf: WebFingerClient) -> None:
    peers.serve(
        "victim.example",
        "/.well-known/webfinger",
        peers.reply(b"<html></html>", content_type="text/html"),
    )
    with pytest.raises(InvalidDocument):
        await wf.lookup_handle(Handle.parse(f"alice@{peers.netloc('victim.example')}"))


async def test_private_addresses_are_never_asked() -> None:
    async with make_client(resolver=table_resolver({"internal.example": ["10.0.0.1"]})) as strict:
        with pytest.raises(BlockedAddress):
            await WebFingerClient(strict).lookup_handle(Handle.parse("admin@internal.example"))
        with pytest.raises(FetchError):
            await WebFingerClient(strict).lookup_handle(Handle.parse("admin@127.0.0.1"))


async def test_real_shaped_answers_over_http(peers: Peers, wf: WebFingerClient) -> None:
    for name, subject, _ in REAL_JRDS:
        host = subject.split("@", 1)[1]
        document = peers.rehost(load(name), {host: host})
        handle = Handle.parse(subject.replace(host, peers.netloc(host)))
        document["subject"] = handle.acct
        peers.webfinger(host, {handle.acct: document})
        found = await wf.lookup_handle(handle)
        assert found.actor_uri is not None
        assert found.actor_uri.startswith(peers.base(host))
        assert found.subject_handle == handle


# -- serving -------------------------------------------------------------------------


def test_build_jrd_round_trip() -> None:
    doc = build_jrd(
        "acct:maths@uni-a.edu",
        ["https://uni-a.edu/c/maths", "https://uni-a.edu/c/maths"],
        "https://uni-a.edu/c/maths",
        "https://uni-a.edu/c/maths",
        "Group",
        subscribe_template="https://uni-a.edu/authorize_interaction?uri={uri}",
    )
    assert doc["aliases"] == ["https://uni-a.edu/c/maths"]
    self_link = doc["links"][0]
    assert self_link == {
        "rel": "self",
        "type": AP,
        "href": "https://uni-a.edu/c/maths",
        "properties": {"https://www.w3.org/ns/activitystreams#type": "Group"},
    }
    parsed = parse_jrd(doc, "u")
    assert parsed.actor_uri == "https://uni-a.edu/c/maths"
    assert parsed.profile_page == "https://uni-a.edu/c/maths"
    assert parsed.subscribe_template == "https://uni-a.edu/authorize_interaction?uri={uri}"
    assert {link["rel"] for link in doc["links"]} == {"self", PROFILE_PAGE_REL, SUBSCRIBE_REL}


def test_build_jrd_without_profile_page() -> None:
    doc = build_jrd("acct:a@uni-a.edu", [], "https://uni-a.edu/users/a", None, "Person")
    assert [link["rel"] for link in doc["links"]] == ["self"]


URIS = LocalURIs("https", "uni-a.edu")


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("acct:maths@uni-a.edu", LocalResource("maths", None)),
        ("maths@UNI-A.edu", LocalResource("maths", None)),
        ("@alice@uni-a.edu", LocalResource("alice", None)),
        ("acct:instance.actor@uni-a.edu", LocalResource("instance.actor", None)),
        (URIS.user("alice"), LocalResource("alice", Kind.USER)),
        (URIS.community("maths"), LocalResource("maths", Kind.COMMUNITY)),
        (URIS.instance_actor(), LocalResource(None, Kind.INSTANCE_ACTOR)),
    ],
)
def test_parse_resource(resource: str, expected: LocalResource) -> None:
    assert parse_resource(resource, "uni-a.edu") == expected


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "acct:alice@evil.example",
        "alice@uni-a.edu.evil.example",
        "alice",
        "acct:al%20ice@uni-a.edu",
        "https://evil.example/users/alice",
        "https://uni-a.edu/users/alice/inbox",
        "https://uni-a.edu/users/alice#main-key",
        "http://uni-a.edu/users/alice",
        "https://uni-a.edu/objects/1",
        "mailto:alice@uni-a.edu",
    ],
)
def test_parse_resource_refusals(resource: str) -> None:
    assert isinstance(parse_resource(resource, "uni-a.edu"), ResourceRefused)


def test_parse_resource_with_a_port() -> None:
    assert parse_resource(
        "acct:a@localhost:8000", "localhost:8000", scheme="http"
    ) == LocalResource("a", None)
    assert parse_resource(
        "http://localhost:8000/users/a", "localhost:8000", scheme="http"
    ) == LocalResource("a", Kind.USER)
