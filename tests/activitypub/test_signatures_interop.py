"""Cross-checks with independent implementations: http_message_signatures (RFC 9421)
and bovine (draft-cavage). Both use the real clock, so these tests do too."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from bovine.crypto.http_signature import build_signature
from bovine.crypto.signature_checker import SignatureChecker
from bovine.crypto.types import CryptographicIdentifier, CryptographicSecret
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver
from http_message_signatures.algorithms import ED25519, RSA_V1_5_SHA256

from activitypub.keys import (
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_private_key_pem,
)
from activitypub.signatures import (
    RequestParts,
    Scheme,
    VerificationResult,
    sign_request,
    verify_request,
)
from activitypub.signatures._checks import format_http_date
from activitypub.signatures.rfc9421 import rfc9421_headers

KEY_ID = "https://cop.example/users/alice#main-key"
OWNER = "https://cop.example/users/alice"
BODY = b'{"type": "Like", "object": "https://remote.example/notes/1"}'
URL = "https://remote.example/inbox"
RSA_PRIVATE, RSA_PUBLIC = generate_rsa_keypair()
ED_PRIVATE, ED_PUBLIC = generate_ed25519_keypair()
KEYS = [
    pytest.param(RSA_V1_5_SHA256, RSA_PRIVATE, RSA_PUBLIC, id="rsa-v1_5-sha256"),
    pytest.param(ED25519, ED_PRIVATE, ED_PUBLIC, id="ed25519"),
]


class Message:
    """The request interface http_message_signatures reads."""

    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method = method
        self.url = url
        self.headers = headers


def _their_handler(algorithm: Any, private_pem: str, public_pem: str) -> tuple[Any, Any]:
    resolver = MappingKeyResolver(
        public_keys={KEY_ID: public_pem.encode()},
        private_keys={KEY_ID: private_pem.encode()},
    )
    signer = HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=resolver)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithm, key_resolver=resolver)
    return signer, verifier


@pytest.mark.parametrize(("algorithm", "private_pem", "public_pem"), KEYS)
def test_ours_verify_with_http_message_signatures(
    algorithm: Any, private_pem: str, public_pem: str
) -> None:
    request = httpx.Request("POST", URL, content=BODY, headers={"Content-Type": "application/json"})
    sign_request(request, KEY_ID, load_private_key_pem(private_pem), scheme=Scheme.RFC9421)
    _, verifier = _their_handler(algorithm, private_pem, public_pem)
    message = Message("POST", URL, dict(request.headers))
    results = verifier.verify(
        message, body=BODY, require_components=("@method", "@target-uri", "content-digest")
    )
    assert len(results) == 1
    assert results[0].parameters["keyid"] == KEY_ID


@pytest.mark.parametrize(("algorithm", "private_pem", "public_pem"), KEYS)
def test_theirs_verify_with_ours(algorithm: Any, private_pem: str, public_pem: str) -> None:
    signer, _ = _their_handler(algorithm, private_pem, public_pem)
    headers = {"Host": "remote.example", "Content-Type": "application/json"}
    message = Message("POST", URL + "?x=1", headers)
    signer.sign(
        message,
        key_id=KEY_ID,
        label="sig1",
        covered_component_ids=("@method", "@authority", "@target-uri", "content-type"),
        body=BODY,
    )
    result = verify_request(
        "POST", "/inbox?x=1", headers, BODY, public_pem, expected_host="remote.example"
    )
    assert result == VerificationResult.ok(KEY_ID, Scheme.RFC9421)


@pytest.mark.parametrize(("algorithm", "private_pem", "public_pem"), KEYS)
def test_same_input_gives_byte_identical_headers(
    algorithm: Any, private_pem: str, public_pem: str
) -> None:
    components = ("@method", "@target-uri", "@authority", "content-digest")
    created = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(BODY).digest()).decode() + ":"
    headers = {"Host": "remote.example", "Content-Digest": digest}
    signer, _ = _their_handler(algorithm, private_pem, public_pem)
    message = Message("POST", URL, dict(headers))
    signer.sign(
        message,
        key_id=KEY_ID,
        label="sig1",
        created=created,
        covered_component_ids=components,
        use_existing_digest=True,
    )
    ours = rfc9421_headers(
        RequestParts.build("POST", "/inbox", headers, BODY),
        load_private_key_pem(private_pem),
        KEY_ID,
        components,
        created=int(created.timestamp()),
    )
    assert ours == (message.headers["Signature-Input"], message.headers["Signature"])


async def _bovine_check(method: str, url: str, headers: dict[str, str], body: bytes) -> Any:
    async def key_retriever(key_id: str) -> CryptographicIdentifier | None:
        return CryptographicIdentifier.from_pem(RSA_PUBLIC, OWNER) if key_id == KEY_ID else None

    async def read_body() -> bytes:
        return body

    checker = SignatureChecker(key_retriever=key_retriever)
    lowered = {name.lower(): value for name, value in headers.items()}
    return await checker.validate_signature(method, url, lowered, read_body)


async def test_ours_verify_with_bovine() -> None:
    request = httpx.Request("POST", URL, content=BODY, headers={"Content-Type": "application/json"})
    sign_request(request, KEY_ID, load_private_key_pem(RSA_PRIVATE))
    assert await _bovine_check("post", URL, dict(request.headers), BODY) == OWNER
    tampered = dict(request.headers)
    tampered["content-type"] = "text/plain"
    assert await _bovine_check("post", URL, tampered, BODY) is None


async def test_bovine_verifies_with_ours() -> None:
    date = format_http_date(datetime.now(UTC))
    digest = "sha-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    helper = (
        build_signature("remote.example", "post", "/inbox")  # type: ignore[no-untyped-call]
        .with_field("date", date)
        .with_field("digest", digest)
        .with_field("content-type", "application/activity+json")
    )
    signature = helper.sign_for_http_draft(CryptographicSecret.from_pem(KEY_ID, RSA_PRIVATE))
    headers = {**helper.headers, "signature": signature}
    result = verify_request(
        "POST", "/inbox", headers, BODY, RSA_PUBLIC, expected_host="remote.example"
    )
    assert result == VerificationResult.ok(KEY_ID, Scheme.CAVAGE)
