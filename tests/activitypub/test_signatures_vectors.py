"""Published test vectors: draft-cavage-http-signatures-12 Appendix C, RFC 9421 B.2.6, RFC 9530.

Keys are in ``data/`` (see its README); signatures are copied from the documents.
RSASSA-PKCS1-v1_5 and Ed25519 are deterministic, so signing must reproduce them
byte for byte, which also checks the transcription of the private keys.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from activitypub.keys import load_private_key_pem, load_public_key_pem
from activitypub.signatures import (
    Reason,
    RequestParts,
    Scheme,
    VerificationResult,
    content_digest_header,
    digest_header,
    parse_signature,
    verify,
)
from activitypub.signatures._checks import check_content_digest, sign_bytes, verify_bytes
from activitypub.signatures.cavage import cavage_signing_string
from activitypub.signatures.rfc9421 import rfc9421_headers, rfc9421_signature_base

DATA = Path(__file__).parent / "data"
BODY = b'{"hello": "world"}'


def _pem(name: str) -> str:
    return (DATA / name).read_text()


# draft-cavage-http-signatures-12, Appendix C: the request and the three signatures.
CAVAGE_HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}
CAVAGE_TARGET = "/foo?param=value&pet=dog"
CAVAGE_NOW = datetime(2014, 1, 5, 21, 35, 0, tzinfo=UTC)

C1_DEFAULT = (
    "SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz"
    "6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25WqS+lavg7T8hc0GppauB"
    "6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM="
)
C2_BASIC = (
    "qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn"
    "7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBs"
    "kLu6kd9Fswtemr3lgdDEmn04swr2Os0="
)
C3_ALL_HEADERS = (
    "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs"
    "8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZF"
    "ukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE="
)
C2_STRING = (
    "(request-target): post /foo?param=value&pet=dog\n"
    "host: example.com\n"
    "date: Sun, 05 Jan 2014 21:31:40 GMT"
)
C3_STRING = (
    C2_STRING + "\ncontent-type: application/json\n"
    "digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\n"
    "content-length: 18"
)

CAVAGE_CASES = [
    pytest.param(None, "date: Sun, 05 Jan 2014 21:31:40 GMT", C1_DEFAULT, id="C.1-default"),
    pytest.param("(request-target) host date", C2_STRING, C2_BASIC, id="C.2-basic"),
    pytest.param(
        "(request-target) host date content-type digest content-length",
        C3_STRING,
        C3_ALL_HEADERS,
        id="C.3-all-headers",
    ),
]


def _cavage_request(signature_header: str) -> RequestParts:
    return RequestParts.build(
        "POST", CAVAGE_TARGET, {**CAVAGE_HEADERS, "Signature": signature_header}, BODY
    )


def _cavage_header(headers: str | None, signature: str) -> str:
    listed = f'headers="{headers}",' if headers is not None else ""
    return f'keyId="Test",algorithm="rsa-sha256",{listed}signature="{signature}"'


@pytest.mark.parametrize(("headers", "expected_string", "signature"), CAVAGE_CASES)
def test_cavage_signing_string_and_signature(
    headers: str | None, expected_string: str, signature: str
) -> None:
    request = _cavage_request(_cavage_header(headers, signature))
    parsed = parse_signature(request.headers)
    assert not isinstance(parsed, VerificationResult)
    assert parsed.key_id == "Test"
    text = cavage_signing_string(parsed.covered, request)
    assert text == expected_string
    public = load_public_key_pem(_pem("cavage12_public.pem"))
    assert verify_bytes(public, parsed.signature, text.encode())
    private = load_private_key_pem(_pem("cavage12_private.pem"))
    assert base64.b64encode(sign_bytes(private, text.encode())).decode() == signature


def test_cavage_all_headers_passes_the_full_policy() -> None:
    request = _cavage_request(
        _cavage_header(
            "(request-target) host date content-type digest content-length", C3_ALL_HEADERS
        )
    )
    parsed = parse_signature(request.headers)
    assert not isinstance(parsed, VerificationResult)
    result = verify(
        parsed,
        request,
        _pem("cavage12_public.pem"),
        expected_host="example.com",
        now=CAVAGE_NOW,
    )
    assert result == VerificationResult.ok("Test", Scheme.CAVAGE)


@pytest.mark.parametrize(
    ("headers", "signature"), [(None, C1_DEFAULT), ("(request-target) host date", C2_BASIC)]
)
def test_cavage_vectors_without_digest_are_refused_on_post(
    headers: str | None, signature: str
) -> None:
    request = _cavage_request(_cavage_header(headers, signature))
    parsed = parse_signature(request.headers)
    assert not isinstance(parsed, VerificationResult)
    result = verify(
        parsed, request, _pem("cavage12_public.pem"), expected_host="example.com", now=CAVAGE_NOW
    )
    assert result.reason is Reason.MISSING_REQUIRED_HEADER


def test_cavage_digest_of_the_test_body() -> None:
    assert digest_header(BODY) == CAVAGE_HEADERS["Digest"]


# RFC 9421 Appendix B.2: the test request; B.2.6: signing it with ed25519.
RFC9421_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    ),
    "Content-Length": "18",
}
B26_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1"
    "u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
)
B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_NOW = datetime(2021, 4, 20, 2, 10, 0, tzinfo=UTC)


def _b26_request() -> RequestParts:
    headers = {**RFC9421_HEADERS, "Signature-Input": B26_INPUT, "Signature": B26_SIGNATURE}
    return RequestParts.build("POST", "/foo?param=Value&Pet=dog", headers, BODY)


def test_rfc9421_b26_signature_base_and_signature() -> None:
    request = _b26_request()
    parsed = parse_signature(request.headers)
    assert not isinstance(parsed, VerificationResult)
    assert (parsed.scheme, parsed.key_id, parsed.label) == (
        Scheme.RFC9421,
        "test-key-ed25519",
        "sig-b26",
    )
    assert parsed.signature_params is not None
    base = rfc9421_signature_base(parsed.signature_params, request)
    assert base == B26_BASE
    public = load_public_key_pem(_pem("rfc9421_ed25519_public.pem"))
    assert verify_bytes(public, parsed.signature, base.encode())


def test_rfc9421_b26_signing_reproduces_the_headers() -> None:
    request = RequestParts.build("POST", "/foo?param=Value&Pet=dog", RFC9421_HEADERS, BODY)
    signature_input, signature = rfc9421_headers(
        request,
        load_private_key_pem(_pem("rfc9421_ed25519_private.pem")),
        "test-key-ed25519",
        ["date", "@method", "@path", "@authority", "content-type", "content-length"],
        created=1618884473,
        label="sig-b26",
        include_alg=False,
    )
    assert (signature_input, signature) == (B26_INPUT, B26_SIGNATURE)


def test_rfc9421_b26_without_content_digest_is_refused_by_policy() -> None:
    request = _b26_request()
    parsed = parse_signature(request.headers)
    assert not isinstance(parsed, VerificationResult)
    result = verify(
        parsed,
        request,
        _pem("rfc9421_ed25519_public.pem"),
        expected_host="example.com",
        now=B26_NOW,
    )
    assert result.reason is Reason.MISSING_REQUIRED_HEADER
    assert result.key_id == "test-key-ed25519"


def test_rfc9530_content_digest_of_the_test_body() -> None:
    assert check_content_digest(RFC9421_HEADERS["Content-Digest"], BODY) is None
    sha256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert content_digest_header(BODY) == f"sha-256=:{sha256}:"
    assert sha256 == "X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    assert check_content_digest(RFC9421_HEADERS["Content-Digest"], BODY + b" ") is not None
