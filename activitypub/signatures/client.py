"""Signing outgoing requests: an ``httpx.Auth`` with RFC 9421 → draft-cavage fallback.

:class:`HttpSignatureAuth` without preferences signs with draft-cavage only (what
Mastodon expects). Given a :class:`SignaturePreferences` it "double-knocks" as Fedify
does: it tries the preferred scheme (RFC 9421 for an unknown server), retries once
with the other scheme on 401, and remembers per origin which one got a success
(status below 400); an error other than 401 is returned as is and teaches nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Generator
from datetime import UTC, datetime

import httpx

from activitypub.keys import PrivateKey, load_private_key_pem
from activitypub.signatures._checks import content_digest_header, digest_header, format_http_date
from activitypub.signatures._model import RequestParts, Scheme
from activitypub.signatures.cavage import cavage_signature_header
from activitypub.signatures.rfc9421 import rfc9421_headers

__all__ = ["HttpSignatureAuth", "SignaturePreferences", "origin_of_url", "sign_request"]

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_SIGNATURE_FIELDS = ("signature", "signature-input", "digest", "content-digest")


def origin_of_url(url: httpx.URL) -> str:
    """``scheme://host[:port]`` with the default port omitted."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


class SignaturePreferences:
    """Which scheme each origin accepted, in memory, bounded (least recently used out).

    One instance is meant to be shared by every delivery of the process.
    """

    def __init__(self, default: Scheme = Scheme.RFC9421, max_origins: int = 10_000) -> None:
        self.default = default
        self._max = max_origins
        self._known: OrderedDict[str, Scheme] = OrderedDict()

    def preferred(self, origin: str) -> Scheme | None:
        """The scheme that last worked for ``origin``, if any."""
        scheme = self._known.get(origin)
        if scheme is not None:
            self._known.move_to_end(origin)
        return scheme

    def order(self, origin: str) -> tuple[Scheme, Scheme]:
        """Schemes to try for ``origin``: the remembered (or default) one, then the other."""
        first = self.preferred(origin) or self.default
        second = Scheme.CAVAGE if first is Scheme.RFC9421 else Scheme.RFC9421
        return first, second

    def remember(self, origin: str, scheme: Scheme) -> None:
        self._known[origin] = scheme
        self._known.move_to_end(origin)
        while len(self._known) > self._max:
            self._known.popitem(last=False)

    def __len__(self) -> int:
        return len(self._known)


def sign_request(
    request: httpx.Request,
    key_id: str,
    private_key: PrivateKey,
    *,
    scheme: Scheme = Scheme.CAVAGE,
    now: datetime | None = None,
) -> None:
    """Sign an ``httpx.Request`` in place (its body must already be read).

    Adds ``Date`` when missing and, for a request with a body, ``Digest`` (draft-cavage)
    or ``Content-Digest`` (RFC 9421). Covers the target, ``host``, ``date``, the digest
    and ``content-type`` when present.
    """
    for name in _SIGNATURE_FIELDS:
        request.headers.pop(name, None)
    moment = now or datetime.now(UTC)
    if "date" not in request.headers:
        request.headers["Date"] = format_http_date(moment)
    body = request.content
    with_body = bool(body) or request.method.upper() in _WITH_BODY
    if scheme is Scheme.CAVAGE:
        if with_body:
            request.headers["Digest"] = digest_header(body)
        covered = ["(request-target)", "host", "date"] + (["digest"] if with_body else [])
    else:
        if with_body:
            request.headers["Content-Digest"] = content_digest_header(body)
        covered = ["@method", "@target-uri", "@authority", "date"]
        covered += ["content-digest"] if with_body else []
    if "content-type" in request.headers:
        covered.append("content-type")
    parts = RequestParts.build(
        request.method,
        request.url.raw_path.decode("ascii"),
        request.headers.multi_items(),
        body,
    )
    if scheme is Scheme.CAVAGE:
        request.headers["Signature"] = cavage_signature_header(parts, private_key, key_id, covered)
        return
    signature_input, signature = rfc9421_headers(
        parts,
        private_key,
        key_id,
        covered,
        created=int(moment.timestamp()),
        scheme=request.url.scheme,
    )
    request.headers["Signature-Input"] = signature_input
    request.headers["Signature"] = signature


class HttpSignatureAuth(httpx.Auth):
    """Sign every request of an ``httpx`` client with one actor's key.

    ``private_key`` is PEM text or a key object (RSA or Ed25519). ``clock`` returns the
    current aware datetime (injectable for tests).
    """

    requires_request_body = True

    def __init__(
        self,
        key_id: str,
        private_key: PrivateKey | str | bytes,
        *,
        preferences: SignaturePreferences | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.key_id = key_id
        self._key = (
            load_private_key_pem(private_key)
            if isinstance(private_key, str | bytes)
            else private_key
        )
        self._preferences = preferences
        self._clock = clock or (lambda: datetime.now(UTC))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._preferences is None:
            sign_request(request, self.key_id, self._key, now=self._clock())
            yield request
            return
        origin = origin_of_url(request.url)
        first, second = self._preferences.order(origin)
        sign_request(request, self.key_id, self._key, scheme=first, now=self._clock())
        response = yield request
        if response.status_code != httpx.codes.UNAUTHORIZED:
            if response.status_code < httpx.codes.BAD_REQUEST:
                self._preferences.remember(origin, first)
            return
        sign_request(request, self.key_id, self._key, scheme=second, now=self._clock())
        response = yield request
        if response.status_code < httpx.codes.BAD_REQUEST:
            self._preferences.remember(origin, second)
