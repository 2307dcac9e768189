"""SafeHttpClient against a real server on loopback (TC01-TC03, TC19-TC23, TC25)."""

from __future__ import annotations

import ast
import time
import tracemalloc
from collections.abc import Generator
from pathlib import Path

import httpx
import pytest

import activitypub
from activitypub.errors import (
    BlockedAddress,
    BodyTooLarge,
    ConnectError,
    FetchError,
    HTTPStatusError,
    InvalidDocument,
    InvalidURL,
    RedirectLoop,
    RedirectRefused,
    Timeout,
    TooManyRedirects,
)
from activitypub.http import (
    AP_ACCEPT,
    HttpLimits,
    SafeHttpClient,
    is_activity_json,
    parse_media_type,
    parse_retry_after,
)
from tests.activitypub.conftest import LiveServer, make_client, table_resolver
from tests.activitypub.test_netguard import NUMERIC_SPELLINGS, TC19_LITERALS

# -- TC19: SSRF on the first hop ------------------------------------------------


@pytest.mark.parametrize(("host", "address"), TC19_LITERALS)
async def test_tc19_literal_addresses_refused_before_connecting(
    strict_client: SafeHttpClient, live_server: LiveServer, host: str, address: str
) -> None:
    before = len(live_server.hits)
    with pytest.raises(BlockedAddress) as info:
        await strict_client.fetch_ap(f"http://{host}:{live_server.port}/echo")
    assert info.value.retryable is False
    assert len(live_server.hits) == before


@pytest.mark.parametrize(("host", "address"), TC19_LITERALS)
async def test_tc19_hostnames_resolving_to_refused_addresses(
    live_server: LiveServer, host: str, address: str
) -> None:
    resolver = table_resolver({"rebind.example": [address]})
    before = len(live_server.hits)
    async with make_client(resolver=resolver) as http:
        with pytest.raises(BlockedAddress, match="refused address"):
            await http.fetch_ap(f"http://rebind.example:{live_server.port}/echo")
    assert len(live_server.hits) == before


@pytest.mark.parametrize("host", NUMERIC_SPELLINGS)
async def test_tc19_numeric_spellings_refused_even_when_loopback_is_allowed(
    safe_client: SafeHttpClient, live_server: LiveServer, host: str
) -> None:
    before = len(live_server.hits)
    with pytest.raises(BlockedAddress, match="non-canonical numeric IPv4"):
        await safe_client.fetch_ap(f"http://{host}:{live_server.port}/echo")
    assert len(live_server.hits) == before


async def test_tc19_every_resolved_address_is_checked(live_server: LiveServer) -> None:
    resolver = table_resolver({"mixed.example": ["93.184.216.34", "127.0.0.1"]})
    async with make_client(resolver=resolver) as http:
        with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1 is loopback"):
            await http.request("GET", f"http://mixed.example:{live_server.port}/echo")


async def test_tc19_allowed_network_opens_an_exception(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    response = await safe_client.request("GET", live_server.url("/echo"))
    assert response.status == 200


async def test_connection_goes_to_the_checked_address_with_the_original_host(
    live_server: LiveServer,
) -> None:
    """The name is resolved once per connection; URL, Host header and pool keep the name."""
    calls: list[str] = []
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])

    async def rebinding_resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    async with make_client(allowed_networks=["127.0.0.0/8"], resolver=rebinding_resolver) as http:
        url = f"http://pinned.example:{live_server.port}/echo"
        one = await http.request("GET", url)
        two = await http.request("GET", url)
    host_header = f"pinned.example:{live_server.port}"
    for response in (one, two):
        seen = httpx.Response(200, content=response.body).json()
        assert seen["headers"]["host"] == host_header
    ports = {httpx.Response(200, content=r.body).json()["client_port"] for r in (one, two)}
    assert len(ports) == 1  # kept alive: one connection, one resolution
    assert calls == ["pinned.example"]


async def test_unresolvable_name_is_a_retryable_connect_error(
    strict_client: SafeHttpClient,
) -> None:
    with pytest.raises(ConnectError) as info:
        await strict_client.request("GET", "http://nowhere.example/")
    assert info.value.retryable is True


async def test_closed_port_is_a_retryable_connect_error(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    with pytest.raises(ConnectError) as info:
        await safe_client.request("GET", "http://127.0.0.3:9/")
    assert info.value.retryable is True


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/x", "http://user:pw@example.com/", "http:///x", "x"],
)
async def test_non_http_urls_are_refused(strict_client: SafeHttpClient, url: str) -> None:
    with pytest.raises(InvalidURL):
        await strict_client.request("GET", url)


# -- TC20: redirects ---------------------------------------------------------------


async def test_tc20_redirect_to_loopback_refused(live_server: LiveServer) -> None:
    """127.0.0.2 is allowed, 127.0.0.1 (where /ap/secret is served) is not."""
    target = live_server.url("/ap/secret")
    async with make_client(allowed_networks=["127.0.0.2/32"]) as http:
        ok = await http.request("GET", live_server.url("/echo", host="127.0.0.2"))
        assert ok.status == 200
        for location in (target, f"http://victim.example:{live_server.port}/ap/secret"):
            start = live_server.url("/redirect", host="127.0.0.2")
            start_url = str(httpx.URL(start, params={"to": location}))
            with pytest.raises(BlockedAddress) as info:
                await http.request("GET", start_url)
            assert info.value.retryable is False
    assert live_server.hit_count("/ap/secret") == 0


async def test_tc20_redirect_to_numeric_spelling_refused(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    url = str(
        httpx.URL(
            live_server.url("/redirect"), params={"to": f"http://127.1:{live_server.port}/echo"}
        )
    )
    with pytest.raises(BlockedAddress):
        await safe_client.request("GET", url)


async def test_tc20_five_redirects_are_followed_six_are_not(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    doc = await safe_client.fetch_ap(live_server.url("/chain/5"))
    assert doc.final_url == live_server.url("/chain/0")
    assert doc.document["id"] == live_server.url("/chain/0")
    with pytest.raises(TooManyRedirects) as info:
        await safe_client.fetch_ap(live_server.url("/chain/6"))
    assert info.value.retryable is False
    assert live_server.hit_count("/chain/0") == 1


async def test_tc20_redirect_loop_detected(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    with pytest.raises(RedirectLoop, match="loop"):
        await safe_client.request("GET", live_server.url("/loop/a"))
    assert live_server.hit_count("/loop/a") == 1
    assert live_server.hit_count("/loop/b") == 1


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc/passwd",
        "data:text/plain,hello",
        "gopher://127.0.0.1:6379/_INFO",
        "ftp://example.com/",
    ],
)
async def test_tc20_redirect_to_other_schemes_refused(
    safe_client: SafeHttpClient, live_server: LiveServer, location: str
) -> None:
    url = str(httpx.URL(live_server.url("/redirect"), params={"to": location}))
    with pytest.raises(RedirectRefused, match="non-http"):
        await safe_client.request("GET", url)


async def test_post_is_not_redirected(safe_client: SafeHttpClient, live_server: LiveServer) -> None:
    url = str(httpx.URL(live_server.url("/redirect"), params={"to": "/inbox", "status": "307"}))
    before = len(live_server.requests)
    response = await safe_client.post(url, content=b"{}")
    assert response.status == 307
    assert len(live_server.requests) == before


# -- TC22: slow server ----------------------------------------------------------


async def test_tc22_trickling_body_hits_the_total_deadline(live_server: LiveServer) -> None:
    limits = HttpLimits(connect_timeout=1, read_timeout=10, total_timeout=1.5)
    async with make_client(limits=limits, allowed_networks=["127.0.0.0/8"]) as http:
        start = time.monotonic()
        with pytest.raises(Timeout) as info:
            await http.fetch_ap(live_server.url("/slow"))
        elapsed = time.monotonic() - start
    assert 1.4 <= elapsed < 2.5
    assert info.value.retryable is True


# -- TC23: body caps ---------------------------------------------------------------


async def test_tc23_declared_length_refused_before_reading(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    start = time.monotonic()
    with pytest.raises(BodyTooLarge, match="Content-Length 5000000") as info:
        await safe_client.fetch_ap(live_server.url("/big-declared"))
    assert time.monotonic() - start < 1
    assert info.value.limit == 1024 * 1024
    assert info.value.retryable is False


async def test_head_ignores_the_declared_length(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    response = await safe_client.request("HEAD", live_server.url("/ap/x"))
    assert response.status == 200
    assert response.body == b""


async def test_tc23_chunked_body_aborted_at_the_cap(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    with pytest.raises(BodyTooLarge, match="body exceeds the 1048576-byte limit"):
        await safe_client.fetch_ap(live_server.url("/chunked-big"))


async def test_tc23_media_cap_is_separate(live_server: LiveServer) -> None:
    limits = HttpLimits(max_media_body=6 * 1024 * 1024)
    async with make_client(limits=limits, allowed_networks=["127.0.0.0/8"]) as http:
        response = await http.fetch_media(live_server.url("/chunked-big"))
        assert len(response.body) == 80 * 65536
        with pytest.raises(BodyTooLarge):
            await http.fetch_media(live_server.url("/chunked-big"), max_body=5 * 1024 * 1024 - 1)


@pytest.fixture
def traced_memory() -> Generator[None, None, None]:
    tracemalloc.start()
    yield
    tracemalloc.stop()


async def test_tc23_gzip_bomb_aborted_with_bounded_memory(
    safe_client: SafeHttpClient, live_server: LiveServer, traced_memory: None
) -> None:
    """1 GiB of zeros in ~1 MiB of gzip: aborted just past 1 MiB decoded."""
    tracemalloc.reset_peak()
    with pytest.raises(BodyTooLarge, match="body exceeds"):
        await safe_client.fetch_ap(live_server.url("/gzip-bomb"))
    _, peak = tracemalloc.get_traced_memory()
    assert peak < 12 * 1024 * 1024


async def test_gzip_body_is_decoded(safe_client: SafeHttpClient, live_server: LiveServer) -> None:
    doc = await safe_client.fetch_ap(live_server.url("/gzip-small"))
    assert doc.document["type"] == "Note"


async def test_unsupported_encoding_refused(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    with pytest.raises(InvalidDocument, match="Content-Encoding"):
        await safe_client.fetch_ap(live_server.url("/brotli"))


# -- TC01 / TC02 / TC03: document checks ---------------------------------------------


async def test_fetch_ap_sends_accept_and_user_agent(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    response = await safe_client.request(
        "GET", live_server.url("/echo"), headers={"Accept": AP_ACCEPT}
    )
    headers = httpx.Response(200, content=response.body).json()["headers"]
    assert headers["accept"] == AP_ACCEPT
    assert headers["user-agent"] == "fediverse-cop-test/1.0"
    assert headers["accept-encoding"] == "gzip, deflate"


async def test_fetch_ap_accepts_a_matching_document(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    url = f"http://victim.example:{live_server.port}/ap/note1"
    doc = await safe_client.fetch_ap(url)
    assert doc.document["id"] == url
    assert doc.final_url == url
    assert str(doc.origin) == f"http://victim.example:{live_server.port}"


@pytest.mark.parametrize(
    "other_id",
    [
        "http://victim.example:{port}/ap/note2",
        "http://evil.example:{port}/ap/note1",
        "https://victim.example:{port}/ap/note1",
        "http://victim.example:{port}/ap/note1#frag",
        "http://victim.example:{port}/ap/note1?x=1",
        "not a url",
    ],
)
async def test_tc01_id_differing_from_final_url_refused(
    safe_client: SafeHttpClient, live_server: LiveServer, other_id: str
) -> None:
    url = f"http://victim.example:{live_server.port}/ap/note1"
    fetch = str(httpx.URL(url, params={"id": other_id.format(port=live_server.port)}))
    with pytest.raises(InvalidDocument, match="id") as info:
        await safe_client.fetch_ap(fetch)
    assert info.value.retryable is False


async def test_fragment_of_the_requested_url_may_be_kept(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    base = f"http://victim.example:{live_server.port}/ap/actor"
    doc = await safe_client.fetch_ap(base + "#main-key")
    assert doc.document["id"] == base


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "text/plain",
        "application/octet-stream",
        "image/png",
        "text/html; charset=utf-8",
        "application/ld+json",
        'application/ld+json; profile="https://example.com/other"',
        "",
    ],
)
async def test_tc02_non_as2_content_types_refused(
    safe_client: SafeHttpClient, live_server: LiveServer, content_type: str
) -> None:
    url = str(httpx.URL(live_server.url("/ap/n"), params={"ct": content_type}))
    with pytest.raises(InvalidDocument, match="not ActivityStreams"):
        await safe_client.fetch_ap(url)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/activity+json",
        "Application/Activity+JSON; charset=utf-8",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        'application/ld+json;PROFILE="https://www.w3.org/ns/activitystreams"; charset=utf-8',
        'APPLICATION/LD+JSON; charset="utf-8"; Profile="https://www.w3.org/ns/activitystreams"',
    ],
)
async def test_tc02_as2_content_types_accepted(
    safe_client: SafeHttpClient, live_server: LiveServer, content_type: str
) -> None:
    url = str(httpx.URL(live_server.url("/ap/n"), params={"ct": content_type}))
    doc = await safe_client.fetch_ap(url, allow_cross_origin_redirects=False)
    assert doc.document["type"] == "Note"


async def test_tc03_cross_origin_redirect_claiming_the_original_id(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    victim = f"http://victim.example:{live_server.port}/ap/u-a"
    evil = str(httpx.URL(f"http://evil.example:{live_server.port}/ap/u-a", params={"id": victim}))
    start = str(
        httpx.URL(f"http://victim.example:{live_server.port}/redirect", params={"to": evil})
    )
    with pytest.raises(RedirectRefused, match="cross-origin"):
        await safe_client.fetch_ap(start)
    with pytest.raises(InvalidDocument, match="differs from the fetched URL"):
        await safe_client.fetch_ap(start, allow_cross_origin_redirects=True)


async def test_tc03_cross_origin_redirect_is_attributed_to_the_final_origin(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    evil = f"http://evil.example:{live_server.port}/ap/u-a"
    start = str(
        httpx.URL(f"http://victim.example:{live_server.port}/redirect", params={"to": evil})
    )
    with pytest.raises(RedirectRefused):
        await safe_client.fetch_ap(start)
    doc = await safe_client.fetch_ap(start, allow_cross_origin_redirects=True)
    assert doc.final_url == evil
    assert doc.origin.host == "evil.example"


async def test_tc25_deep_json_refused_quickly(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    start = time.monotonic()
    with pytest.raises(InvalidDocument, match="deeper than 64"):
        await safe_client.fetch_ap(live_server.url("/deep"))
    assert time.monotonic() - start < 0.5


async def test_non_object_document_refused(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    with pytest.raises(InvalidDocument, match="not a JSON object"):
        await safe_client.fetch_ap(live_server.url("/array"))


# -- status codes, auth, delivery -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "retryable"),
    [(404, False), (410, False), (400, False), (408, True), (429, True), (500, True), (503, True)],
)
async def test_status_errors_say_whether_to_retry(
    safe_client: SafeHttpClient, live_server: LiveServer, code: int, retryable: bool
) -> None:
    with pytest.raises(HTTPStatusError) as info:
        await safe_client.fetch_ap(live_server.url(f"/status/{code}?retry_after=120"))
    assert info.value.status == code
    assert info.value.retryable is retryable
    assert info.value.retry_after == 120.0


async def test_error_bodies_are_truncated_not_refused(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    response = await safe_client.request("GET", live_server.url("/status/503"))
    assert response.status == 503
    assert len(response.body) == 4096


class HeaderSigner(httpx.Auth):
    """Stands in for the HTTP-signature signer: signs what it sees, per request."""

    def __init__(self) -> None:
        self.signed: list[str] = []

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.signed.append(str(request.url))
        request.headers["Signature"] = f'keyId="k",host="{request.headers["host"]}"'
        yield request


async def test_auth_signs_every_hop(safe_client: SafeHttpClient, live_server: LiveServer) -> None:
    signer = HeaderSigner()
    target = live_server.url("/echo")
    start = str(httpx.URL(live_server.url("/redirect"), params={"to": target}))
    response = await safe_client.request("GET", start, auth=signer)
    headers = httpx.Response(200, content=response.body).json()["headers"]
    assert headers["signature"] == f'keyId="k",host="127.0.0.1:{live_server.port}"'
    assert signer.signed == [start, target]
    assert response.final_url == target


async def test_post_returns_status_and_short_body(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    signer = HeaderSigner()
    response = await safe_client.post(
        live_server.url("/inbox"), content=b'{"type":"Follow"}', auth=signer
    )
    assert response.status == 202
    assert response.body.startswith(b"accepted ")
    assert len(response.body) == 4096
    received = live_server.requests[-1]
    assert received["body"] == b'{"type":"Follow"}'
    assert received["headers"]["content-type"] == "application/activity+json"
    assert "signature" in received["headers"]


async def test_cookies_are_never_stored(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    await safe_client.fetch_ap(live_server.url("/cookie"))
    response = await safe_client.request("GET", live_server.url("/echo"))
    headers = httpx.Response(200, content=response.body).json()["headers"]
    assert "cookie" not in headers


async def test_get_json_for_webfinger(safe_client: SafeHttpClient, live_server: LiveServer) -> None:
    url = live_server.url("/.well-known/webfinger?resource=acct:a@victim.example")
    data = await safe_client.get_json(url, accept="application/jrd+json")
    assert data["subject"] == "acct:a@victim.example"
    with pytest.raises(InvalidDocument, match="not JSON"):
        await safe_client.get_json(live_server.url("/status/200"))


async def test_only_fetch_errors_escape(
    safe_client: SafeHttpClient, live_server: LiveServer
) -> None:
    """A sample of failure kinds, all inside the hierarchy."""
    urls = [
        "http://[::1]/",
        live_server.url("/loop/a"),
        live_server.url("/deep"),
        "http://127.0.0.3:9/",
        f"https://127.0.0.1:{live_server.port}/echo",
    ]
    for url in urls:
        with pytest.raises(FetchError):
            await safe_client.fetch_ap(url)


# -- helpers ------------------------------------------------------------------------------


def test_parse_media_type() -> None:
    assert parse_media_type('Application/LD+JSON; Profile="a b"; charset=UTF-8') == (
        "application/ld+json",
        {"profile": "a b", "charset": "UTF-8"},
    )
    assert parse_media_type("garbage") == ("", {})
    assert parse_media_type(None) == ("", {})
    assert is_activity_json(
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams https://example.com/x"'
    )
    assert not is_activity_json("application/activity+jsonx")


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 + 60) == 0.0
    assert parse_retry_after("soon") is None
    # Digits to str.isdigit(), not to int().
    assert parse_retry_after("\u00b9\u00b2") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("module", ["http", "netguard", "errors", "jsonparse"])
def test_http_layer_imports_nothing_from_the_app(module: str) -> None:
    source = Path(activitypub.__file__).with_name(f"{module}.py").read_text()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"fediverse_cop", "inbox", "outbox", "tortoise"}
