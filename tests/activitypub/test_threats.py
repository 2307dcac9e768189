"""THREATS.md cases at the protocol layer: one or more tests per case, each asserting the outcome.

What this layer can guarantee is a refusal (an exception of the package, a
``KeyRefusal``/``OriginRefusal``/unbound result or a 401 ``Reason``); the
"no side effect" half of each case is the inbox's and is tested there. The
longer variants of many cases live next to the module they exercise (see the
table in ``docs/activitypub.md``).
"""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from activitypub.actors import InvalidActor, KeyRefusal, RemoteActor, actor_key, resolve_key_owner
from activitypub.errors import (
    BlockedAddress,
    BodyTooLarge,
    InvalidDocument,
    RedirectLoop,
    RedirectRefused,
    Timeout,
    TooManyRedirects,
)
from activitypub.html import sanitize_html
from activitypub.http import HttpLimits, SafeHttpClient
from activitypub.jsonld import ContextNotAvailable, JsonLdError, is_plain_json, to_plain_json
from activitypub.jsonparse import JSONTooDeep, parse_json
from activitypub.keys import generate_ed25519_keypair, load_private_key_pem
from activitypub.netguard import AddressPolicy, AddressRefused, literal_address
from activitypub.origins import (
    OriginRefusal,
    check_authority,
    check_object_origin,
    safe_url,
)
from activitypub.signatures import (
    Reason,
    RequestParts,
    VerificationResult,
    digest_header,
    sign_request,
    verify_request,
)
from activitypub.signatures.cavage import cavage_signature_header
from activitypub.signatures.rfc9421 import rfc9421_headers
from activitypub.webfinger import (
    Handle,
    JrdLink,
    WebFingerClient,
    WebFingerResult,
    decide_binding,
)
from tests.activitypub.conftest import LiveServer, make_client

if TYPE_CHECKING:
    from tests.activitypub.conftest_discovery import Peers

pytest_plugins = ["tests.activitypub.conftest_discovery"]

AS2 = "application/activity+json"
ED_PRIVATE_PEM, ED_PUBLIC_PEM = generate_ed25519_keypair()
ED_PRIVATE = load_private_key_pem(ED_PRIVATE_PEM)
HOST = "a.example"
KEY_ID = "https://remote.example/users/r#main-key"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
BODY = b'{"id": "https://remote.example/a/1", "type": "Follow"}'


def note(note_id: str, author: str, **extra: Any) -> dict[str, Any]:
    return {"id": note_id, "type": "Note", "attributedTo": author, "content": "hi", **extra}


def actor_doc(actor_id: str, key_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": actor_id,
        "type": "Person",
        "inbox": actor_id + "/inbox",
        "publicKey": {"id": key_id, "owner": actor_id, "publicKeyPem": ED_PUBLIC_PEM},
        **extra,
    }


Signed = tuple[str, list[tuple[str, str]], bytes]


def signed(method: str = "POST", body: bytes = BODY, *, at: datetime = NOW) -> Signed:
    """A request signed the way we sign (draft-cavage): method, target, headers, body."""
    request = httpx.Request(
        method, f"https://{HOST}/inbox", content=body or None, headers={"Content-Type": AS2}
    )
    sign_request(request, KEY_ID, ED_PRIVATE, now=at)
    return method, list(request.headers.items()), body


def check(
    request: Signed,
    *,
    body: bytes | None = None,
    now: datetime = NOW,
    host: str = HOST,
) -> VerificationResult:
    method, headers, sent = request
    received = sent if body is None else body
    return verify_request(
        method, "/inbox", headers, received, ED_PUBLIC_PEM, expected_host=host, now=now
    )


def cavage(covered: tuple[str, ...], *, method: str = "POST", body: bytes = BODY) -> Signed:
    headers = {"Host": HOST, "Date": "Sun, 01 Mar 2026 12:00:00 GMT"}
    if body:
        headers["Digest"] = digest_header(body)
    parts = RequestParts.build(method, "/inbox", headers, body)
    headers["Signature"] = cavage_signature_header(parts, ED_PRIVATE, KEY_ID, covered)
    return method, list(headers.items()), body


# -- TC01: fetched id must equal the final URL ------------------------------------


async def test_tc01_fetched_id_differing_from_the_url_is_refused(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    url = f"http://victim.example:{live_server.port}/ap/notes-1"
    for other in (url.replace("notes-1", "notes-2"), url.replace("victim", "evil")):
        with pytest.raises(InvalidDocument, match="differs from the fetched URL"):
            await safe_client.fetch_ap(str(httpx.URL(url, params={"id": other})))


def test_tc01_object_fetched_from_another_origin_is_refused() -> None:
    result = check_object_origin(
        note("https://victim.example/notes/2", "https://victim.example/users/v"),
        fetched_from="https://evil.example/notes/1",
    )
    assert result == OriginRefusal(
        "'https://victim.example/notes/2' was fetched from another origin: "
        "'https://evil.example/notes/1'"
    )


# -- TC02: AS2 content type only ------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/octet-stream", "image/png"]
)
async def test_tc02_non_activitystreams_content_type_is_refused(
    safe_client: SafeHttpClient, live_server: LiveServer, content_type: str
) -> None:
    url = str(httpx.URL(live_server.url("/ap/n"), params={"ct": content_type}))
    with pytest.raises(InvalidDocument, match="is not ActivityStreams"):
        await safe_client.fetch_ap(url)


async def test_tc02_ld_json_with_the_as_profile_in_any_case_is_accepted(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    ct = 'APPLICATION/LD+JSON; PROFILE="https://www.w3.org/ns/activitystreams"'
    doc = await safe_client.fetch_ap(str(httpx.URL(live_server.url("/ap/n"), params={"ct": ct})))
    assert doc.document["type"] == "Note"


# -- TC03: redirects across origins ---------------------------------------------------


async def test_tc03_cross_origin_redirect_is_refused_and_never_attributed_to_the_victim(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    victim = f"http://victim.example:{live_server.port}/ap/u-a"
    evil = f"http://evil.example:{live_server.port}/ap/u-a"
    claiming = str(httpx.URL(evil, params={"id": victim}))
    start = str(httpx.URL(victim.replace("/ap/u-a", "/redirect"), params={"to": claiming}))
    with pytest.raises(RedirectRefused, match="cross-origin"):
        await safe_client.fetch_ap(start)
    with pytest.raises(InvalidDocument, match="differs from the fetched URL"):
        await safe_client.fetch_ap(start, allow_cross_origin_redirects=True)
    honest = str(httpx.URL(victim.replace("/ap/u-a", "/redirect"), params={"to": evil}))
    doc = await safe_client.fetch_ap(honest, allow_cross_origin_redirects=True)
    assert doc.origin.host == "evil.example"
    assert check_object_origin(doc.document, fetched_from=doc.final_url) == doc.origin


# -- TC04: author origin must be the object's origin ------------------------------------


def test_tc04_note_attributed_to_another_origin_is_refused() -> None:
    obj = note("https://victim.example/notes/1", "https://other.example/users/x")
    expected = OriginRefusal(
        "attributedTo 'https://other.example/users/x' is not on the origin of "
        "'https://victim.example/notes/1'"
    )
    assert check_object_origin(obj, fetched_from="https://victim.example/notes/1") == expected
    # Delivered by the claimed author: the object is still not theirs to speak for.
    delivered = check_object_origin(obj, delivered_by_actor="https://other.example/users/x")
    assert isinstance(delivered, OriginRefusal)
    assert "of another origin" in delivered.reason


def test_tc04_same_origin_author_is_accepted() -> None:
    obj = note("https://victim.example/notes/1", "https://victim.example/users/v")
    origin = check_object_origin(obj, delivered_by_actor="https://victim.example/users/v")
    assert str(origin) == "https://victim.example"


def test_tc04_unauthenticated_object_is_refused() -> None:
    obj = note("https://victim.example/notes/1", "https://victim.example/users/v")
    assert isinstance(check_object_origin(obj), OriginRefusal)


# -- TC05: origin from id only; url kept only on the id's host ------------------------


def test_tc05_url_on_another_host_is_dropped_and_origin_comes_from_id() -> None:
    obj = note(
        "https://evil.example/notes/1",
        "https://evil.example/users/e",
        url="https://victim.example/@v/1",
    )
    assert safe_url(obj) is None
    origin = check_object_origin(obj, delivered_by_actor="https://evil.example/users/e")
    assert str(origin) == "https://evil.example"


def test_tc05_url_on_the_same_host_is_kept() -> None:
    obj = note(
        "https://evil.example/notes/1",
        "https://evil.example/users/e",
        url=[{"type": "Link", "mediaType": "text/html", "href": "https://evil.example/@e/1"}],
    )
    assert safe_url(obj) == "https://evil.example/@e/1"


def test_tc05_actor_profile_url_on_another_host_is_dropped() -> None:
    doc = actor_doc(
        "https://evil.example/users/e",
        "https://evil.example/users/e#main-key",
        url="https://victim.example/@v",
    )
    assert RemoteActor.from_document(doc).url is None


# -- TC07: a key document cannot name an owner elsewhere; the actor must list the key --


def test_tc07_key_document_naming_the_victim_as_owner_is_refused() -> None:
    evil_key = "https://evil.example/keys/1"
    victim = actor_doc("https://victim.example/users/v", "https://victim.example/users/v#main-key")
    key_doc = {"id": evil_key, "owner": victim["id"], "publicKeyPem": ED_PUBLIC_PEM}
    result = actor_key(victim, evil_key, key_document=key_doc)
    assert result == KeyRefusal(
        f"key {evil_key!r} is not on the origin of 'https://victim.example/users/v'"
    )


# -- TC08: an actor URL answering with another actor gives nothing -----------------------


def test_tc08_keys_of_another_actor_document_are_not_attributed() -> None:
    evil = actor_doc("https://evil.example/users/e", "https://evil.example/users/e#main-key")
    victim_id = "https://victim.example/users/v"
    result = actor_key(evil, evil["publicKey"]["id"], expected_actor_id=victim_id)
    assert isinstance(result, KeyRefusal)
    assert result.reason.startswith("document is the actor 'https://evil.example/users/e'")
    with pytest.raises(InvalidActor, match=r"not 'https://victim\.example/users/v'"):
        RemoteActor.from_document(evil, expected_id=victim_id)


async def test_tc08_actor_url_redirecting_to_another_origin_is_refused(
    peers: Peers, http: SafeHttpClient
) -> None:
    evil_id = peers.url("evil.example", "/users/e")
    peers.serve_ap("evil.example", "/users/e", actor_doc(evil_id, evil_id + "#main-key"))
    peers.redirect("victim.example", "/users/v", evil_id)
    with pytest.raises(RedirectRefused):
        await http.fetch_ap(peers.url("victim.example", "/users/v"))


# -- TC09: digest, required headers, host ----------------------------------------------


def test_tc09_body_modified_after_signing_is_refused() -> None:
    result = check(signed(), body=BODY.replace(b"Follow", b"Delete"))
    assert result.reason is Reason.BAD_DIGEST


def test_tc09_required_headers_and_host() -> None:
    assert check(signed()).verified
    no_digest = cavage(("(request-target)", "host", "date"))
    assert check(no_digest).reason is Reason.MISSING_REQUIRED_HEADER
    get_without_host = cavage(("(request-target)", "date"), method="GET", body=b"")
    assert check(get_without_host).reason is Reason.MISSING_REQUIRED_HEADER
    assert check(signed(), host="other.example").reason is Reason.WRONG_HOST


def test_tc09_sha512_only_digest_is_refused() -> None:
    method, headers, body = signed()
    headers = [
        (k, "SHA-512=" + "A" * 86 + "==" if k.lower() == "digest" else v) for k, v in headers
    ]
    result = check((method, headers, body))
    assert result.reason is Reason.BAD_DIGEST


# -- TC10: the time window -------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "verified"),
    [
        (timedelta(hours=2), False),
        (timedelta(minutes=-70), False),
        (timedelta(minutes=30), True),
    ],
    ids=["2h-old", "70min-ahead", "30min-old"],
)
def test_tc10_date_window(age: timedelta, verified: bool) -> None:
    result = check(signed(at=NOW - age))
    assert result.verified is verified
    assert result.reason is (None if verified else Reason.EXPIRED)


def test_tc10_expires_in_the_past_is_refused() -> None:
    parts = RequestParts.build("GET", "/inbox", {"Host": HOST})
    created = int((NOW - timedelta(minutes=10)).timestamp())
    signature_input, signature = rfc9421_headers(
        parts,
        ED_PRIVATE,
        KEY_ID,
        ("@method", "@target-uri"),
        created=created,
        expires=created + 60,
    )
    headers = {"Host": HOST, "Signature-Input": signature_input, "Signature": signature}
    result = verify_request(
        "GET", "/inbox", headers, b"", ED_PUBLIC_PEM, expected_host=HOST, now=NOW
    )
    assert result.reason is Reason.EXPIRED
    fresh = verify_request(
        "GET",
        "/inbox",
        headers,
        b"",
        ED_PUBLIC_PEM,
        expected_host=HOST,
        now=NOW - timedelta(minutes=9),
    )
    assert fresh.verified


# -- TC11: replay ----------------------------------------------------------------------


def test_tc11_replayed_request_still_verifies_within_the_window() -> None:
    """Verification is stateless: the same signed POST verifies every time it arrives.

    Idempotency (one Note, one Announce, one notification) is the inbox's job,
    keyed on the activity id after authentication; this layer only guarantees
    that a replay outside the window is refused.
    """
    request = signed()
    assert check(request).verified
    assert check(request).verified
    assert check(request, now=NOW + timedelta(minutes=30)).verified
    assert check(request, now=NOW + timedelta(hours=2)).reason is Reason.EXPIRED


# -- TC14 (pure rule; the inbox applies it) --------------------------------------------


def test_tc14_update_and_delete_only_by_the_owner() -> None:
    alice = "https://a2.example/users/alice"
    mallory = "https://a2.example/users/mallory"
    bob = {"id": "https://a2.example/users/bob", "type": "Person"}
    stored = note("https://a2.example/notes/alice-1", alice)
    update = {"type": "Update", "actor": mallory, "object": stored}
    refused = check_authority(update)
    assert isinstance(refused, OriginRefusal)
    assert "may not Update" in refused.reason
    delete = {"type": "Delete", "actor": mallory, "object": bob["id"]}
    assert isinstance(check_authority(delete, bob), OriginRefusal)
    # A forged embedded copy does not help when the stored copy is given.
    forged = {**update, "object": note(stored["id"], mallory)}
    assert isinstance(check_authority(forged, stored), OriginRefusal)
    assert check_authority({**update, "actor": alice}, stored) is None
    assert check_authority({"type": "Delete", "actor": bob["id"], "object": bob["id"]}) is None


# -- TC17: WebFinger answers of another host bind nothing -----------------------------


def test_tc17_evil_webfinger_claiming_the_victim_handle_is_not_bound() -> None:
    alice = Handle.parse("alice@victim.example")
    evil_actor = "https://evil.example/users/alice"

    def jrd(actor: str, source: str) -> WebFingerResult:
        link = JrdLink(rel="self", type=AS2, href=actor)
        return WebFingerResult(subject=alice.acct, aliases=(), links=(link,), source_url=source)

    evil_answer = jrd(evil_actor, "https://evil.example/.well-known/webfinger")
    victim_answer = jrd("https://victim.example/users/alice", "https://victim.example/")
    decision = decide_binding(alice, evil_actor, "alice", victim_answer, evil_answer)
    assert not decision.bound
    assert decision.reason == (
        "WebFinger at victim.example points to 'https://victim.example/users/alice', "
        "not 'https://evil.example/users/alice'"
    )


async def test_tc17_live_lookup_does_not_bind(peers: Peers, http: SafeHttpClient) -> None:
    handle = Handle(username="alice", domain=peers.netloc("victim.example"))
    evil_actor = peers.url("evil.example", "/users/alice")
    peers.webfinger(
        "evil.example",
        {f"acct:alice@{peers.netloc('evil.example')}": _jrd(handle.acct, evil_actor)},
    )
    victim_actor = peers.url("victim.example", "/users/alice")
    peers.webfinger("victim.example", {handle.acct: _jrd(handle.acct, victim_actor)})
    binding = await WebFingerClient(http, scheme="http").bind_handle(handle, evil_actor, "alice")
    assert not binding.bound


def _jrd(subject: str, actor: str) -> dict[str, Any]:
    return {"subject": subject, "links": [{"rel": "self", "type": AS2, "href": actor}]}


# -- TC19: SSRF targets ------------------------------------------------------------------

TC19_HOSTS = [
    "127.0.0.1", "0.0.0.0", "10.1.2.3", "172.16.0.1", "192.168.0.1", "100.64.0.1",
    "169.254.169.254", "198.18.0.1", "224.0.0.1", "[::1]", "[::]", "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]", "[64:ff9b::a9fe:a9fe]", "[2002:7f00:1::]", "[fe80::1]", "[fc00::1]",
]  # fmt: skip
TC19_SPELLINGS = ["127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1"]


@pytest.mark.parametrize("host", TC19_HOSTS)
def test_tc19_every_listed_address_is_refused(host: str) -> None:
    address = literal_address(host)
    assert address is not None
    with pytest.raises(AddressRefused):
        AddressPolicy().check(host, address)


@pytest.mark.parametrize("host", TC19_SPELLINGS)
def test_tc19_numeric_spellings_are_refused(host: str) -> None:
    with pytest.raises(AddressRefused, match="non-canonical numeric IPv4"):
        literal_address(host)


async def test_tc19_no_connection_is_made(
    strict_client: SafeHttpClient, live_server: LiveServer
) -> None:
    before = len(live_server.hits)
    for url in (live_server.url("/echo"), f"http://victim.example:{live_server.port}/echo"):
        with pytest.raises(BlockedAddress):
            await strict_client.fetch_ap(url)
    assert len(live_server.hits) == before


# -- TC20: redirects are re-checked, bounded and http(s) only ---------------------------


async def test_tc20_redirects(safe_client: SafeHttpClient, live_server: LiveServer) -> None:
    with pytest.raises(TooManyRedirects):
        await safe_client.fetch_ap(live_server.url("/chain/6"))
    with pytest.raises(RedirectLoop):
        await safe_client.fetch_ap(live_server.url("/loop/a"))
    for location in ("file:///etc/passwd", "data:text/plain,x", "gopher://127.0.0.1:6379/_"):
        url = str(httpx.URL(live_server.url("/redirect"), params={"to": location}))
        with pytest.raises(RedirectRefused, match="non-http"):
            await safe_client.fetch_ap(url)


async def test_tc20_redirect_to_loopback_is_refused(live_server: LiveServer) -> None:
    target = live_server.url("/ap/secret-tc20")
    start = live_server.url("/redirect", host="127.0.0.2")
    async with make_client(allowed_networks=["127.0.0.2/32"]) as http:
        with pytest.raises(BlockedAddress):
            await http.fetch_ap(str(httpx.URL(start, params={"to": target})))
    assert live_server.hit_count("/ap/secret-tc20") == 0


# -- TC21: a bogus keyId on loopback is never fetched -----------------------------------


async def test_tc21_key_id_on_loopback_is_never_fetched(
    strict_client: SafeHttpClient, live_server: LiveServer
) -> None:
    before = len(live_server.hits)
    with pytest.raises(BlockedAddress):
        await resolve_key_owner(strict_client, live_server.url("/admin"))
    owner = await resolve_key_owner(strict_client, live_server.url("/admin#main-key"))
    assert owner == live_server.url("/admin")
    with pytest.raises(BlockedAddress):
        await strict_client.fetch_ap(owner)
    assert len(live_server.hits) == before


# -- TC22: total deadline ---------------------------------------------------------------


async def test_tc22_trickling_server_hits_the_total_deadline(live_server: LiveServer) -> None:
    limits = HttpLimits(connect_timeout=1, read_timeout=10, total_timeout=0.6)
    async with make_client(limits=limits, allowed_networks=["127.0.0.0/8"]) as http:
        start = time.monotonic()
        with pytest.raises(Timeout):
            await http.fetch_ap(live_server.url("/slow"))
    assert time.monotonic() - start < 1.5


# -- TC23: decoded body cap -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big-declared", "/chunked-big", "/gzip-bomb"])
async def test_tc23_bodies_over_one_mib_are_aborted(
    safe_client: SafeHttpClient, live_server: LiveServer, path: str
) -> None:
    with pytest.raises(BodyTooLarge) as info:
        await safe_client.fetch_ap(live_server.url(path))
    assert info.value.limit == 1024 * 1024


# -- TC24: the client and parser limit (the inbox's 413 is tested with the inbox) ----------


async def test_tc24_json_over_one_mib_is_refused_before_parsing(
    peers: Peers, http: SafeHttpClient
) -> None:
    assert HttpLimits().max_json_body == 1024 * 1024
    url = peers.url("victim.example", "/notes/big")
    padding = 1_500_000
    body = json.dumps({"id": url, "type": "Note", "content": "x" * padding}).encode()
    peers.serve("victim.example", "/notes/big", peers.reply(body, content_type=AS2))
    with pytest.raises(BodyTooLarge, match="Content-Length"):
        await http.fetch_ap(url)
    fits = json.dumps({"id": url, "type": "Note", "content": "x" * 1_000_000}).encode()
    peers.serve("victim.example", "/notes/big", peers.reply(fits, content_type=AS2))
    assert (await http.fetch_ap(url)).document["type"] == "Note"


# -- TC25: deep JSON, unknown contexts ----------------------------------------------------


def test_tc25_deep_json_is_refused_in_milliseconds() -> None:
    start = time.perf_counter()
    with pytest.raises(JSONTooDeep):
        parse_json(b"[" * 100_000 + b"]" * 100_000)
    assert time.perf_counter() - start < 0.1


def test_tc25_unknown_context_is_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    doc = {"@context": "https://evil.example/ctx.jsonld", "id": "https://e.example/1"}
    assert not is_plain_json(doc)
    with pytest.raises(ContextNotAvailable):
        to_plain_json(doc)


def test_tc25_deeply_nested_document_leaves_the_fast_path_without_recursion_error() -> None:
    deep: dict[str, Any] = {"@context": {"@vocab": "https://v.example/"}}
    for _ in range(5000):
        deep = {"a": deep}
    deep["@context"] = "https://www.w3.org/ns/activitystreams"
    assert not is_plain_json(deep)
    with pytest.raises(JsonLdError):
        to_plain_json(deep)


# -- TC30: remote HTML ---------------------------------------------------------------------

REL = 'target="_blank" rel="nofollow noopener noreferrer"'


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<script>alert(1)</script>t", "t"),
        ("<img src=x onerror=alert(1)>", ""),
        ('<a href="javascript:alert(1)">x</a>', "x"),
        ('<a href=" jAvAsCrIpT:alert(1)">x</a>', "x"),
        ('<iframe src="https://e.x/"></iframe>ok', "ok"),
        ("<style>p{color:red}</style>t", "t"),
        ("<svg onload=alert(1)><circle r=1 /></svg>t", "t"),
        ('<p style="color:red">s</p>', "<p>s</p>"),
        (
            '<a href="https://e.x/u" class="mention u-url evil">@u</a>',
            f'<a href="https://e.x/u" class="mention u-url" {REL}>@u</a>',
        ),
        ('<form action="https://e.x/"><button>go</button></form>', "go"),
        ("<math><mi>x</mi></math>m", "m"),
        ("<!--><script>alert(1)</script>-->", "--&gt;"),
        (
            '<img src="https://e.x/a.png" alt="cat">',
            f'<a href="https://e.x/a.png" {REL}>cat</a>',
        ),
    ],
)
def test_tc30_remote_html_keeps_only_the_allow_list(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty) == clean
