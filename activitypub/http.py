"""The one outbound HTTP client of the server.

Every outbound request (actor, object and key fetches, WebFinger, NodeInfo,
media, deliveries) goes through one :class:`SafeHttpClient`, created once
at startup and closed at shutdown. It wraps a single ``httpx.AsyncClient``
so connections are pooled per origin and kept alive.

What it guarantees
------------------
* **SSRF guard.** The transport's network backend
  (:class:`activitypub.netguard.GuardedNetworkBackend`) resolves every host
  itself, refuses the connection if any address is not public (unless it is
  in ``allowed_networks``) and connects to the checked address, so DNS
  rebinding cannot swap the address between check and connect. URLs with IP
  literals or numeric host spellings are also refused before any work.
* **Redirects** are followed by this class, not by httpx: at most
  ``limits.max_redirects`` hops, http(s) only, loops refused, every hop going
  through the same guarded connect; optionally no cross-origin hop. Only GET
  and HEAD follow redirects; a POST is never re-sent elsewhere.
* **Deadlines.** Connect, read, write and pool timeouts per operation, and one
  deadline for the whole call (all hops plus the body), so a server trickling
  one byte per second cannot hold a worker.
* **Body caps** on *decoded* bytes. ``Content-Length`` above the cap is
  refused before reading; otherwise the raw stream is read chunk by chunk and
  decompressed here with a bounded ``max_length`` (gzip and deflate only are
  offered), so a compression bomb never inflates more than the cap plus one
  chunk in memory. (httpx's own decoders inflate a whole network chunk at
  once, which for gzip can be ~1000 times the chunk.)
* **No cookies.** ``Set-Cookie`` is dropped by the transport, so nothing is
  carried from one peer to another. Environment proxies are ignored.
* **Errors** are translated into :mod:`activitypub.errors`; nothing from
  httpx, httpcore, ``ssl`` or ``OSError`` escapes.

ActivityPub fetches (:meth:`SafeHttpClient.fetch_ap`) additionally require an
AS2 ``Content-Type``, parse JSON with a depth limit, and require the
document's ``id`` to equal the final URL (FEP-fe34 origin rules).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import re
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpcore
import httpx

from activitypub.domains import InvalidDomain, Origin, origin_of
from activitypub.errors import (
    BlockedAddress,
    BodyTooLarge,
    ConnectError,
    FetchError,
    HTTPStatusError,
    InvalidDocument,
    InvalidURL,
    ProtocolError,
    RedirectLoop,
    RedirectRefused,
    Timeout,
    TooManyRedirects,
)
from activitypub.jsonparse import InvalidJSON, parse_json
from activitypub.netguard import (
    AddressPolicy,
    AddressRefused,
    GuardedNetworkBackend,
    ResolutionFailed,
    Resolver,
    literal_address,
    system_resolver,
)

__all__ = [
    "AP_ACCEPT",
    "AS_CONTEXT",
    "ApDocument",
    "HttpLimits",
    "Response",
    "SafeHttpClient",
    "is_activity_json",
    "parse_media_type",
    "parse_retry_after",
]

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
AP_ACCEPT = f'application/activity+json, application/ld+json; profile="{AS_CONTEXT}"'
_AS_PROFILES = frozenset({AS_CONTEXT, "http://www.w3.org/ns/activitystreams"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MiB = 1024 * 1024
# httpx.AsyncClient parses ``Location`` itself (even when not following), and
# raises untranslated errors on odd values such as ``data:``; the transport
# hides the header under this name and this module alone interprets it.
_LOCATION_ALIAS = b"x-safe-http-location"


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Timeouts (seconds), caps (bytes) and pool sizes of the outbound client.

    Defaults follow Mastodon: connect 5 s, read 10 s, write 10 s, 30 s for
    the whole call, 1 MiB of JSON, 5 redirects.
    """

    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    write_timeout: float = 10.0
    pool_timeout: float = 5.0
    total_timeout: float = 30.0
    max_redirects: int = 5
    max_json_body: int = 1 * _MiB
    max_media_body: int = 40 * _MiB
    max_short_body: int = 4096
    """Bodies kept from delivery answers and error responses (truncated, not refused)."""
    max_json_depth: int = 64
    max_connections: int = 100
    max_keepalive_connections: int = 20
    keepalive_expiry: float = 30.0

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.write_timeout,
            pool=self.pool_timeout,
        )

    @property
    def pool(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
            keepalive_expiry=self.keepalive_expiry,
        )


@dataclass(frozen=True, slots=True)
class Response:
    """A fully read response. ``final_url`` is the URL after redirects."""

    status: int
    headers: httpx.Headers
    body: bytes
    final_url: str

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))

    def raise_for_status(self) -> None:
        """Raise HTTPStatusError unless the status is 2xx."""
        if not self.is_success:
            raise HTTPStatusError(
                f"HTTP {self.status}",
                url=self.final_url,
                status=self.status,
                retry_after=self.retry_after,
            )


@dataclass(frozen=True, slots=True)
class ApDocument:
    """An ActivityPub document whose ``id`` equals ``final_url``; attribute it to ``origin``."""

    document: dict[str, Any]
    final_url: str
    origin: Origin


class SafeHttpClient:
    """SSRF-guarded, size- and time-limited HTTP client; create one and share it.

    ``allowed_networks`` (CIDR strings) are the only exceptions to the address
    policy. ``resolver`` replaces ``getaddrinfo`` (tests use it to make a name
    resolve to a chosen address); ``ssl_context`` replaces the certifi one.
    """

    def __init__(
        self,
        *,
        user_agent: str,
        limits: HttpLimits | None = None,
        allowed_networks: list[str] | tuple[str, ...] = (),
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.limits = limits if limits is not None else HttpLimits()
        self.policy = AddressPolicy(allowed_networks)
        backend = GuardedNetworkBackend(self.policy, resolver)
        transport = _GuardedTransport(
            backend,
            ssl_context if ssl_context is not None else httpx.create_ssl_context(),
            self.limits.pool,
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=self.limits.timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- generic request ---------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        auth: httpx.Auth | None = None,
        max_body: int | None = None,
        allow_cross_origin_redirects: bool = True,
        follow_redirects: bool | None = None,
        truncate_body: bool = False,
    ) -> Response:
        """Send one request (following redirects for GET/HEAD) and read the body.

        Any status is returned; bodies of 2xx answers over ``max_body`` (default
        ``limits.max_json_body``) raise BodyTooLarge, other bodies, and all
        bodies when ``truncate_body`` is set, are cut at ``limits.max_short_body``
        or ``max_body``, whichever is smaller.
        """
        method = method.upper()
        if follow_redirects is None:
            follow_redirects = method in ("GET", "HEAD")
        cap = self.limits.max_json_body if max_body is None else max_body
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._request(
                    method,
                    url,
                    headers=headers,
                    content=content,
                    auth=auth,
                    cap=cap,
                    truncate=truncate_body,
                    follow_redirects=follow_redirects,
                    allow_cross_origin=allow_cross_origin_redirects,
                )
        except TimeoutError:
            raise Timeout(
                f"no complete answer within {self.limits.total_timeout:g} s", url=url
            ) from None

    async def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        auth: httpx.Auth | None,
        cap: int,
        truncate: bool,
        follow_redirects: bool,
        allow_cross_origin: bool,
    ) -> Response:
        current = self._prepare_url(url, url)
        start_origin = _origin(current, url)
        visited = {_without_fragment(current)}
        redirects = 0
        while True:
            current_text = str(current)
            try:
                request = self._client.build_request(
                    method, current, headers=headers, content=content
                )
                response = await self._client.send(request, auth=auth, stream=True)
            except FetchError:
                raise
            except Exception as exc:
                raise _translate(exc, current_text) from exc
            try:
                location = response.headers.get(_LOCATION_ALIAS.decode())
                if follow_redirects and response.status_code in _REDIRECT_STATUSES and location:
                    redirects += 1
                    current = self._next_hop(
                        current, location, visited, redirects, start_origin, allow_cross_origin
                    )
                    status = response.status_code
                    if (status == 303 and method != "HEAD") or (
                        status in (301, 302) and method == "POST"
                    ):
                        method, content = "GET", None
                    # Drain a short redirect body so the connection can be reused.
                    with contextlib.suppress(FetchError):
                        await _read_body(response, self.limits.max_short_body, current_text, True)
                    continue
                if method == "HEAD":
                    body = b""
                elif truncate or not 200 <= response.status_code < 300:
                    body = await _read_body(
                        response, min(cap, self.limits.max_short_body), current_text, True
                    )
                else:
                    body = await _read_body(response, cap, current_text, False)
                return Response(response.status_code, _public_headers(response), body, current_text)
            finally:
                # Closing an unread response drops the connection; it cannot fail usefully.
                with contextlib.suppress(Exception):
                    await response.aclose()

    def _next_hop(
        self,
        current: httpx.URL,
        location: str,
        visited: set[str],
        redirects: int,
        start_origin: Origin,
        allow_cross_origin: bool,
    ) -> httpx.URL:
        try:
            target = current.join(location)
        except (httpx.InvalidURL, ValueError):
            raise RedirectRefused(f"unusable Location {location!r}", url=str(current)) from None
        text = str(target)
        if target.scheme not in ("http", "https"):
            raise RedirectRefused(f"redirect to a non-http(s) URL {location!r}", url=str(current))
        key = _without_fragment(target)
        if key in visited:
            raise RedirectLoop(f"redirect loop back to {text}", url=str(current))
        visited.add(key)
        if redirects > self.limits.max_redirects:
            raise TooManyRedirects(
                f"more than {self.limits.max_redirects} redirects", url=str(current)
            )
        nxt = self._prepare_url(text, str(current))
        if not allow_cross_origin and _origin(nxt, text) != start_origin:
            raise RedirectRefused(f"cross-origin redirect to {text}", url=str(current))
        return nxt

    def _prepare_url(self, url: str, reported: str) -> httpx.URL:
        """Check scheme, credentials and literal addresses; raise InvalidURL/BlockedAddress."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # raises ValueError for an invalid port
        except ValueError:
            raise InvalidURL(f"invalid URL {url!r}", url=reported) from None
        if parts.scheme.lower() not in ("http", "https"):
            raise InvalidURL(f"only http and https URLs are fetched, not {url!r}", url=reported)
        if not host:
            raise InvalidURL(f"URL without host {url!r}", url=reported)
        if parts.username is not None or parts.password is not None:
            raise InvalidURL("URL carries credentials", url=reported)
        try:
            address = literal_address(host)
            if address is not None:
                self.policy.check(host, address)
        except AddressRefused as exc:
            raise BlockedAddress(f"refused address: {exc.reason}", url=url) from None
        try:
            return httpx.URL(url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise InvalidURL(f"invalid URL: {exc}", url=reported) from None

    # -- typed operations --------------------------------------------------

    async def get_json(
        self,
        url: str,
        *,
        accept: str = "application/json",
        auth: httpx.Auth | None = None,
        allow_cross_origin_redirects: bool = True,
    ) -> Any:
        """GET a JSON document (WebFinger, NodeInfo): 2xx, a JSON content type, depth-limited."""
        response = await self.request(
            "GET",
            url,
            headers={"Accept": accept},
            auth=auth,
            allow_cross_origin_redirects=allow_cross_origin_redirects,
        )
        response.raise_for_status()
        media_type, _ = parse_media_type(_single_content_type(response))
        if media_type != "application/json" and not re.fullmatch(
            r"application/[a-z0-9.+-]+\+json", media_type
        ):
            raise InvalidDocument(
                f"content type {media_type!r} is not JSON", url=response.final_url
            )
        return self._parse(response)

    async def fetch_ap(
        self,
        url: str,
        *,
        auth: httpx.Auth | None = None,
        allow_cross_origin_redirects: bool = False,
    ) -> ApDocument:
        """GET an ActivityPub document, signed with ``auth`` when given.

        Refuses (InvalidDocument) a non-AS2 ``Content-Type``, invalid or too deep
        JSON, a non-object, and an ``id`` that is not the final URL (a fragment
        of the requested URL may be kept, so ``…/actor#main-key`` can return
        itself or ``…/actor``). Cross-origin redirects are refused unless
        allowed; when allowed, the document belongs to the final origin only.
        """
        response = await self.request(
            "GET",
            url,
            headers={"Accept": AP_ACCEPT},
            auth=auth,
            allow_cross_origin_redirects=allow_cross_origin_redirects,
        )
        response.raise_for_status()
        content_type = _single_content_type(response)
        if not is_activity_json(content_type):
            raise InvalidDocument(
                f"content type {content_type!r} is not ActivityStreams", url=response.final_url
            )
        document = self._parse(response)
        if not isinstance(document, dict):
            raise InvalidDocument("document is not a JSON object", url=response.final_url)
        origin = _check_id(document, url, response.final_url)
        return ApDocument(document, response.final_url, origin)

    async def fetch_media(self, url: str, *, max_body: int | None = None) -> Response:
        """GET a media file (2xx required), capped at ``limits.max_media_body``."""
        response = await self.request(
            "GET",
            url,
            max_body=self.limits.max_media_body if max_body is None else max_body,
        )
        response.raise_for_status()
        return response

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/activity+json",
    ) -> Response:
        """POST (a delivery). Any status is returned, with at most ``max_short_body`` bytes.

        Redirects are not followed. Transport failures raise FetchError.
        """
        all_headers = {"Content-Type": content_type, "Accept": AP_ACCEPT, **(headers or {})}
        return await self.request(
            "POST", url, headers=all_headers, content=content, auth=auth, truncate_body=True
        )

    def _parse(self, response: Response) -> Any:
        try:
            return parse_json(response.body, self.limits.max_json_depth)
        except InvalidJSON as exc:
            raise InvalidDocument(str(exc), url=response.final_url) from None


# -- helpers ---------------------------------------------------------------


_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(rf';\s*({_TCHARS})\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s"]*)\s*')


def parse_media_type(value: str | None) -> tuple[str, dict[str, str]]:
    """Split a Content-Type into a lowercased ``type/subtype`` and parameters.

    Parameter names are lowercased; quoted values are unquoted. An unparsable
    header yields ``("", {})``.
    """
    if not value:
        return "", {}
    head, sep, rest = value.partition(";")
    media_type = head.strip().lower()
    if not re.fullmatch(rf"{_TCHARS}/{_TCHARS}", media_type):
        return "", {}
    params: dict[str, str] = {}
    rest = sep + rest
    pos = 0
    while pos < len(rest.rstrip()):
        match = _PARAM.match(rest, pos)
        if match is None:
            return media_type, params
        raw = match.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(match.group(1).lower(), raw)
        pos = match.end()
    return media_type, params


def is_activity_json(content_type: str | None) -> bool:
    """True for ``application/activity+json`` or ``application/ld+json`` with the AS profile."""
    media_type, params = parse_media_type(content_type)
    if media_type == "application/activity+json":
        return True
    if media_type == "application/ld+json":
        return any(p in _AS_PROFILES for p in params.get("profile", "").split())
    return False


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _single_content_type(response: Response) -> str | None:
    values = response.headers.get_list("content-type")
    if len(values) > 1:
        raise InvalidDocument("several Content-Type headers", url=response.final_url)
    return values[0] if values else None


def _public_headers(response: httpx.Response) -> httpx.Headers:
    alias = _LOCATION_ALIAS.decode()
    return httpx.Headers(
        [("location" if k == alias else k, v) for k, v in response.headers.multi_items()]
    )


def _without_fragment(url: httpx.URL) -> str:
    return str(url.copy_with(fragment=None))


def _origin(url: httpx.URL, reported: str) -> Origin:
    try:
        return origin_of(str(url))
    except InvalidDomain as exc:
        raise InvalidURL(str(exc), url=reported) from None


def _check_id(document: dict[str, Any], requested_url: str, final_url: str) -> Origin:
    doc_id = document.get("id")
    if not isinstance(doc_id, str):
        raise InvalidDocument("document has no id", url=final_url)
    try:
        id_url = httpx.URL(doc_id)
        final = httpx.URL(final_url)
        id_origin = origin_of(doc_id)
        final_origin = origin_of(final_url)
    except (httpx.InvalidURL, InvalidDomain, ValueError):
        raise InvalidDocument(f"document id {doc_id!r} is not a valid URL", url=final_url) from None
    requested_fragment = urlsplit(requested_url).fragment
    same_resource = _without_fragment(id_url) == _without_fragment(final)
    fragment_ok = id_url.fragment in ("", requested_fragment)
    if not (same_resource and fragment_ok):
        raise InvalidDocument(f"document id {doc_id!r} differs from the fetched URL", url=final_url)
    if id_origin != final_origin:
        raise InvalidDocument(
            f"document id {doc_id!r} is not on the origin it was fetched from", url=final_url
        )
    return final_origin


class _BoundedDecoder:
    """Decodes one Content-Encoding layer without ever producing more than asked for."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)
        self._first = True

    def decode(self, data: bytes, max_length: int) -> tuple[bytes, bytes]:
        """Return (output of at most max_length bytes, unconsumed input)."""
        try:
            out = self._zlib.decompress(data, max_length)
        except zlib.error:
            if not (self._first and self.encoding == "deflate"):
                raise
            # Some servers send raw deflate without the zlib header.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(data, max_length)
        self._first = False
        if self._zlib.eof:
            return out, b""
        return out, self._zlib.unconsumed_tail

    def flush(self) -> bytes:
        return self._zlib.flush()


def _decoder_for(response: httpx.Response, url: str) -> _BoundedDecoder | None:
    encodings = [
        token.strip().lower()
        for token in ",".join(response.headers.get_list("content-encoding")).split(",")
        if token.strip() and token.strip().lower() != "identity"
    ]
    if not encodings:
        return None
    if len(encodings) == 1 and encodings[0] in ("gzip", "x-gzip", "deflate"):
        return _BoundedDecoder(encodings[0])
    raise InvalidDocument(f"unsupported Content-Encoding {encodings!r}", url=url)


async def _read_body(response: httpx.Response, cap: int, url: str, truncate: bool) -> bytes:
    """Read the decoded body, refusing (or, with ``truncate``, cutting) past ``cap`` bytes."""
    declared = (response.headers.get("content-length") or "").strip()
    # isdigit() alone lets "²" through to int().
    if not truncate and declared.isascii() and declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge(
            f"Content-Length {int(declared)} exceeds the {cap}-byte limit", url=url, limit=cap
        )
    decoder = _decoder_for(response, url)
    raw_cap = 2 * cap + 65536
    parts: list[bytes] = []
    size = raw_size = 0

    def add(piece: bytes) -> bool:
        nonlocal size
        parts.append(piece)
        size += len(piece)
        if size <= cap:
            return False
        if truncate:
            return True
        raise BodyTooLarge(f"body exceeds the {cap}-byte limit", url=url, limit=cap)

    try:
        async for chunk in _raw_chunks(response):
            raw_size += len(chunk)
            if raw_size > raw_cap and not truncate:
                raise BodyTooLarge(f"body exceeds the {cap}-byte limit", url=url, limit=cap)
            if decoder is None:
                if add(chunk):
                    break
                continue
            pending = chunk
            full = False
            while pending and not full:
                out, pending = decoder.decode(pending, cap - size + 1)
                full = add(out)
            if full:
                break
        else:
            if decoder is not None:
                add(decoder.flush())
    except FetchError:
        raise
    except zlib.error as exc:
        raise InvalidDocument(
            f"cannot decode {_decoder_name(decoder)} body: {exc}", url=url
        ) from None
    except Exception as exc:
        raise _translate(exc, url) from exc
    return b"".join(parts)[:cap]


def _decoder_name(decoder: _BoundedDecoder | None) -> str:
    return decoder.encoding if decoder is not None else "identity"


async def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    async for chunk in response.aiter_raw():
        if chunk:
            yield chunk


def _translate(exc: BaseException, url: str) -> FetchError:
    """Map any lower-level exception to the FetchError hierarchy."""
    match exc:
        case FetchError():
            return exc
        case AddressRefused():
            return BlockedAddress(f"refused address: {exc.reason}", url=url)
        case ResolutionFailed():
            return ConnectError(str(exc), url=url)
        case httpx.TimeoutException() | httpcore.TimeoutException() | TimeoutError():
            return Timeout(f"timed out ({type(exc).__name__})", url=url)
        case httpx.UnsupportedProtocol() | httpcore.UnsupportedProtocol() | httpx.InvalidURL():
            return InvalidURL(str(exc) or "unsupported URL", url=url)
        case httpx.ConnectError() | httpcore.ConnectError() | ssl.SSLError():
            return ConnectError(f"cannot connect: {exc}", url=url)
        case (
            httpx.ProtocolError()
            | httpcore.ProtocolError()
            | httpx.NetworkError()
            | httpcore.NetworkError()
            | httpx.StreamError()
        ):
            return ProtocolError(f"connection failed: {type(exc).__name__}: {exc}", url=url)
        case OSError():
            return ConnectError(f"network error: {exc}", url=url)
        case _:
            return ProtocolError(
                f"request failed: {type(exc).__name__}: {exc}", url=url, retryable=False
            )


class _CoreResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpcore.Response) -> None:
        self._response = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._response.aiter_stream():
            yield part

    async def aclose(self) -> None:
        await self._response.aclose()


class _GuardedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore pool whose sockets come from the guarded backend."""

    def __init__(
        self, backend: GuardedNetworkBackend, ssl_context: ssl.SSLContext, limits: httpx.Limits
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        core_response = await self._pool.handle_async_request(core_request)
        headers = [
            (_LOCATION_ALIAS if k.lower() == b"location" else k, v)
            for k, v in core_response.headers
            if k.lower() != b"set-cookie"
        ]
        return httpx.Response(
            status_code=core_response.status,
            headers=headers,
            stream=_CoreResponseStream(core_response),
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
