"""Throughput of HTTP signatures: our API next to the raw ``cryptography`` operations.

Run by hand: ``.venv/bin/python bench/signatures.py [seconds-per-case]``.

"raw sign" is one RSA-2048 PKCS#1 v1.5 signature; "raw parse+verify" loads the PEM
public key and verifies one signature, which is the floor of any verifier that is
handed PEM text. Our figures include header parsing, policy checks, the digest and
building the signing string.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from activitypub.keys import generate_rsa_keypair, load_private_key_pem, load_public_key_pem
from activitypub.signatures import (
    RequestParts,
    Scheme,
    VerificationResult,
    parse_signature,
    sign_request,
    verify,
    verify_request,
)

KEY_ID = "https://bench.example/users/a#main-key"
BODY = b'{"type": "Create", "object": {"type": "Note", "content": "' + b"x" * 1500 + b'"}}'
URL = "https://example.com/inbox"


def best_rates(
    cases: dict[str, Callable[[], object]], seconds: float, rounds: int = 7
) -> dict[str, float]:
    """Operations per CPU second of each case: the best of ``rounds`` interleaved batches.

    CPU time (not wall time), interleaving and keeping the best batch make the ratios
    robust to other load on the machine.
    """
    best = dict.fromkeys(cases, 0.0)
    for operation in cases.values():
        operation()
    for _ in range(rounds):
        for label, operation in cases.items():
            count = 0
            start = time.process_time()
            deadline = start + seconds / rounds
            while time.process_time() < deadline:
                for _ in range(10):
                    operation()
                count += 10
            best[label] = max(best[label], count / (time.process_time() - start))
    return best


def signed_headers(scheme: Scheme, private: rsa.RSAPrivateKey, now: datetime) -> dict[str, str]:
    request = httpx.Request("POST", URL, content=BODY, headers={"Content-Type": "application/json"})
    sign_request(request, KEY_ID, private, scheme=scheme, now=now)
    return dict(request.headers)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    private_pem, public_pem = generate_rsa_keypair()
    private = load_private_key_pem(private_pem)
    assert isinstance(private, rsa.RSAPrivateKey)
    now = datetime.now(UTC)
    message = b"(request-target): post /inbox\nhost: example.com\ndate: x\ndigest: y"
    raw_signature = private.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def raw_sign() -> object:
        return private.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def raw_parse_verify() -> object:
        key = serialization.load_pem_public_key(public_pem.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(raw_signature, message, padding.PKCS1v15(), hashes.SHA256())
        return key

    print(
        f"RSA-2048, body {len(BODY)} bytes, best of interleaved batches, {seconds:g} CPU s per case"
    )
    cases: dict[str, Callable[[], object]] = {
        "raw cryptography sign": raw_sign,
        "raw cryptography load PEM + verify": raw_parse_verify,
    }
    for scheme in (Scheme.CAVAGE, Scheme.RFC9421):
        headers = signed_headers(scheme, private, now)
        parts = RequestParts.build("POST", "/inbox", headers, BODY)
        cases[f"{scheme.value}: our sign (httpx.Request)"] = partial(
            signed_headers, scheme, private, now
        )
        cases[f"{scheme.value}: our verify_request (PEM)"] = partial(
            verify_request,
            "POST",
            "/inbox",
            headers,
            BODY,
            public_pem,
            expected_host="example.com",
            now=now,
        )
        cases[f"{scheme.value}: our parse_signature + verify"] = partial(
            parse_and_verify, parts, public_pem, now
        )
        cases[f"{scheme.value}: our verify, PEM loaded per call"] = partial(
            parse_and_verify_uncached, parts, public_pem, now
        )
        assert verify_request(
            "POST", "/inbox", headers, BODY, public_pem, expected_host="example.com", now=now
        ).verified
    rates = best_rates(cases, seconds * len(cases))
    for label, per_second in rates.items():
        print(f"  {label:<48} {per_second:>9,.0f} /s")
    raw_sign_rate = rates["raw cryptography sign"]
    raw_verify_rate = rates["raw cryptography load PEM + verify"]
    for scheme in (Scheme.CAVAGE, Scheme.RFC9421):
        sign_ratio = rates[f"{scheme.value}: our sign (httpx.Request)"] / raw_sign_rate
        verify_ratio = rates[f"{scheme.value}: our verify_request (PEM)"] / raw_verify_rate
        uncached = rates[f"{scheme.value}: our verify, PEM loaded per call"] / raw_verify_rate
        print(
            f"  {scheme.value}: sign ours/raw {sign_ratio:.2f}, verify ours/raw"
            f" {verify_ratio:.2f} (key cache) {uncached:.2f} (PEM loaded per call)"
        )


def parse_and_verify_uncached(
    parts: RequestParts, public_pem: str, now: datetime
) -> VerificationResult:
    parsed = parse_signature(parts.headers)
    if isinstance(parsed, VerificationResult):
        return parsed
    key = load_public_key_pem(public_pem)
    return verify(parsed, parts, key, expected_host="example.com", now=now)


def parse_and_verify(parts: RequestParts, public_pem: str, now: datetime) -> VerificationResult:
    parsed = parse_signature(parts.headers)
    if isinstance(parsed, VerificationResult):
        return parsed
    return verify(parsed, parts, public_pem, expected_host="example.com", now=now)


if __name__ == "__main__":
    main()
