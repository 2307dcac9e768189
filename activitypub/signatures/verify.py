"""Verification in two steps, so the key can be fetched in between.

1. :func:`parse_signature` reads the headers (no I/O) and exposes ``key_id``.
2. The caller fetches the public key (async, elsewhere).
3. :func:`verify` checks policy, time window, host, digest and signature.

Nothing here raises for a bad request: every failure is a :class:`VerificationResult`
with a :class:`Reason`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from activitypub.keys import InvalidKey, PublicKey, check_public_key, load_public_key_pem
from activitypub.signatures._checks import (
    check_content_digest,
    check_digest,
    check_window,
    encode_base,
    key_algorithm,
    normalize_authority,
    parse_http_date,
    timestamp,
    verify_bytes,
)
from activitypub.signatures._model import (
    HeaderInput,
    ParsedSignature,
    Reason,
    RequestParts,
    Scheme,
    VerificationResult,
    normalize_headers,
)
from activitypub.signatures.cavage import MissingHeaderError, cavage_signing_string, parse_cavage
from activitypub.signatures.rfc9421 import (
    UnsupportedComponentError,
    parse_rfc9421,
    rfc9421_signature_base,
)

__all__ = ["KeyInput", "KeyResolver", "parse_signature", "verify", "verify_request"]

KeyInput = PublicKey | str | bytes
KeyResolver = Callable[[str], KeyInput | None]

_BODYLESS = frozenset({"GET", "HEAD"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_CAVAGE_TARGETS = frozenset({"(request-target)", "digest"})
_RFC9421_TARGETS = frozenset({"@target-uri", "@path", "@request-target", "content-digest"})
_RFC9421_HOSTS = frozenset({"@authority", "host", "@target-uri"})


def parse_signature(headers: HeaderInput) -> ParsedSignature | VerificationResult:
    """Read ``Signature-Input``/``Signature`` (RFC 9421) or ``Signature`` (draft-cavage).

    A draft-cavage signature is also accepted in ``Authorization: Signature …``.
    """
    return _parse_fields(normalize_headers(headers))


def _parse_fields(fields: Mapping[str, str]) -> ParsedSignature | VerificationResult:
    if "signature-input" in fields:
        signature = fields.get("signature")
        if signature is None:
            return VerificationResult.fail(
                Reason.MALFORMED, "Signature-Input without Signature", None, Scheme.RFC9421
            )
        return parse_rfc9421(fields["signature-input"], signature)
    if "signature" in fields:
        return parse_cavage(fields["signature"])
    word, _, rest = fields.get("authorization", "").partition(" ")
    if word.lower() == "signature" and rest.strip():
        return parse_cavage(rest)
    return VerificationResult.fail(Reason.NO_SIGNATURE, "request is not signed")


def verify(
    parsed: ParsedSignature,
    request: RequestParts,
    public_key: KeyInput,
    *,
    expected_host: str,
    now: datetime | None = None,
    scheme: str = "https",
) -> VerificationResult:
    """Verify a parsed signature against the request and the signer's public key.

    ``expected_host`` is our own host (``example.com`` or ``127.0.0.1:8000``); ``now``
    defaults to the current UTC time; ``scheme`` is how peers reach us (for
    ``@target-uri``).
    """
    moment = _aware(now or datetime.now(UTC))
    failure = (
        _policy(parsed, request)
        or _host(parsed, request, expected_host)
        or _window(parsed, request, moment)
        or _digest(parsed, request)
    )
    if failure is not None:
        return failure
    try:
        key = (
            _cached_public_key(public_key)
            if isinstance(public_key, str | bytes)
            else check_public_key(public_key)
        )
    except InvalidKey as exc:
        return _fail(parsed, Reason.UNKNOWN_KEY, str(exc))
    if key_algorithm(parsed.scheme, parsed.algorithm, key) is None:
        return _fail(
            parsed,
            Reason.UNSUPPORTED_ALGORITHM,
            f"algorithm {parsed.algorithm} does not fit a {type(key).__name__}",
        )
    return _signature(parsed, request, key, scheme)


def verify_request(
    method: str,
    target: str,
    headers: HeaderInput,
    body: bytes | None,
    key: KeyInput | KeyResolver,
    *,
    expected_host: str,
    now: datetime | None = None,
    scheme: str = "https",
) -> VerificationResult:
    """Parse and verify in one call, with a key or a synchronous ``key_id -> key`` resolver."""
    request = RequestParts.build(method, target, headers, body)
    parsed = _parse_fields(request.headers)
    if isinstance(parsed, VerificationResult):
        return parsed
    public_key = key(parsed.key_id) if callable(key) else key
    if public_key is None:
        return _fail(parsed, Reason.UNKNOWN_KEY, "no public key for keyId")
    return verify(parsed, request, public_key, expected_host=expected_host, now=now, scheme=scheme)


@functools.lru_cache(maxsize=1024)
def _cached_public_key(pem: str | bytes) -> PublicKey:
    """PEM text to key object, cached: keys are immutable and peers sign many requests.

    A reused key object also verifies faster (OpenSSL keeps its Montgomery context).
    Failures are not cached (lru_cache does not store exceptions).
    """
    return load_public_key_pem(pem)


def _fail(parsed: ParsedSignature, reason: Reason, detail: str) -> VerificationResult:
    return VerificationResult.fail(reason, detail, parsed.key_id, parsed.scheme)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _needs_digest(request: RequestParts) -> bool:
    return request.method in _WITH_BODY or bool(request.body)


def _policy(parsed: ParsedSignature, request: RequestParts) -> VerificationResult | None:
    """What must be covered (Mastodon's ``verify_signature_strength!`` and its RFC 9421 twin)."""
    covered = set(parsed.covered)
    cavage = parsed.scheme is Scheme.CAVAGE
    missing: str | None = None
    if cavage and not covered & {"date", "(created)"}:
        missing = "date or (created) must be signed"
    elif not cavage and parsed.created is None:
        missing = "created parameter is required"
    elif not covered & (_CAVAGE_TARGETS if cavage else _RFC9421_TARGETS):
        missing = "the request target or the digest must be signed"
    elif request.method in _BODYLESS and not covered & ({"host"} if cavage else _RFC9421_HOSTS):
        missing = "host must be signed on GET"
    elif _needs_digest(request) and ("digest" if cavage else "content-digest") not in covered:
        missing = "digest must be signed on requests with a body"
    return None if missing is None else _fail(parsed, Reason.MISSING_REQUIRED_HEADER, missing)


def _host(
    parsed: ParsedSignature, request: RequestParts, expected_host: str
) -> VerificationResult | None:
    host = request.headers.get("host")
    if host is None:
        return _fail(parsed, Reason.MISSING_REQUIRED_HEADER, "Host header is missing")
    if normalize_authority(host) != normalize_authority(expected_host):
        return _fail(parsed, Reason.WRONG_HOST, "Host is not this server")
    return None


def _window(
    parsed: ParsedSignature, request: RequestParts, now: datetime
) -> VerificationResult | None:
    created: datetime | None
    expires: datetime | None
    covered = parsed.covered
    rfc9421 = parsed.scheme is Scheme.RFC9421
    try:
        expires = timestamp(parsed.expires) if rfc9421 or "(expires)" in covered else None
        if rfc9421 or "(created)" in covered:
            created = timestamp(parsed.created)
        else:
            created = parse_http_date(request.headers.get("date", ""))
            if created is None:
                return _fail(parsed, Reason.MALFORMED, "Date header is missing or unreadable")
    except ValueError:
        return _fail(parsed, Reason.MALFORMED, "created or expires is out of range")
    problem = check_window(created, expires, now)
    return None if problem is None else _fail(parsed, Reason.EXPIRED, problem)


def _digest(parsed: ParsedSignature, request: RequestParts) -> VerificationResult | None:
    name = "digest" if parsed.scheme is Scheme.CAVAGE else "content-digest"
    if name not in parsed.covered:
        return None
    value = request.headers.get(name)
    if value is None:
        return _fail(parsed, Reason.MISSING_REQUIRED_HEADER, f"{name} header is missing")
    check = check_digest if name == "digest" else check_content_digest
    problem = check(value, request.body)
    return None if problem is None else _fail(parsed, Reason.BAD_DIGEST, problem)


def _signature(
    parsed: ParsedSignature, request: RequestParts, key: PublicKey, scheme: str
) -> VerificationResult:
    try:
        for base in _bases(parsed, request, scheme):
            if verify_bytes(key, parsed.signature, encode_base(base)):
                return VerificationResult.ok(parsed.key_id, parsed.scheme)
    except MissingHeaderError as exc:
        return _fail(
            parsed, Reason.MISSING_REQUIRED_HEADER, f"signed header {exc.args[0]} is absent"
        )
    except UnsupportedComponentError as exc:
        return _fail(parsed, Reason.MALFORMED, f"unsupported component {exc.args[0]}")
    return _fail(parsed, Reason.BAD_SIGNATURE, "signature does not verify")


def _bases(parsed: ParsedSignature, request: RequestParts, scheme: str) -> list[str]:
    if parsed.scheme is Scheme.RFC9421:
        assert parsed.signature_params is not None
        return [rfc9421_signature_base(parsed.signature_params, request, scheme=scheme)]
    # Mastodon tries the target with its query string, then without it.
    variants = (True, False) if request.query is not None else (True,)
    return [
        cavage_signing_string(
            parsed.covered,
            request,
            created=parsed.created,
            expires=parsed.expires,
            include_query=include,
        )
        for include in variants
    ]
