"""The signer as ``httpx.Auth``: draft-cavage by default, RFC 9421 first with fallback on 401."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest

from activitypub.keys import generate_ed25519_keypair, generate_rsa_keypair
from activitypub.signatures import (
    HttpSignatureAuth,
    Scheme,
    SignaturePreferences,
    VerificationResult,
    origin_of_url,
    verify_request,
)

KEY_ID = "https://cop.example/users/alice#main-key"
RSA_PRIVATE, RSA_PUBLIC = generate_rsa_keypair()
ED_PRIVATE, ED_PUBLIC = generate_ed25519_keypair()
BODY = b'{"type": "Create"}'
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def verifying_handler(
    public_pem: str, accept: frozenset[Scheme], seen: list[VerificationResult]
) -> Callable[[httpx.Request], httpx.Response]:
    """A fake remote that verifies with our verifier and answers 401 to other schemes."""

    def handle(request: httpx.Request) -> httpx.Response:
        result = verify_request(
            request.method,
            request.url.raw_path.decode(),
            request.headers.multi_items(),
            request.read(),
            public_pem,
            expected_host=request.url.netloc.decode(),
            now=NOW,
        )
        seen.append(result)
        ok = result.verified and result.scheme in accept
        return httpx.Response(202 if ok else 401)

    return handle


def test_default_is_draft_cavage_with_digest_and_date() -> None:
    seen: list[VerificationResult] = []
    transport = httpx.MockTransport(verifying_handler(RSA_PUBLIC, frozenset(Scheme), seen))
    auth = HttpSignatureAuth(KEY_ID, RSA_PRIVATE, clock=clock)
    with httpx.Client(transport=transport, auth=auth) as client:
        response = client.post(
            "https://remote.example/inbox",
            content=BODY,
            headers={"Content-Type": "application/activity+json"},
        )
    assert response.status_code == 202
    request = response.request
    assert request.headers["Date"] == "Sun, 01 Mar 2026 12:00:00 GMT"
    assert request.headers["Digest"].startswith("SHA-256=")
    assert 'algorithm="rsa-sha256"' in request.headers["Signature"]
    assert (
        'headers="(request-target) host date digest content-type"' in (request.headers["Signature"])
    )
    assert seen == [VerificationResult.ok(KEY_ID, Scheme.CAVAGE)]


def test_get_is_signed_without_digest_and_keeps_an_existing_date() -> None:
    seen: list[VerificationResult] = []
    transport = httpx.MockTransport(verifying_handler(ED_PUBLIC, frozenset(Scheme), seen))
    auth = HttpSignatureAuth(KEY_ID, ED_PRIVATE, clock=clock)
    with httpx.Client(transport=transport, auth=auth) as client:
        date = "Sun, 01 Mar 2026 11:59:00 GMT"
        response = client.get("https://remote.example/users/bob?page=1", headers={"Date": date})
    assert response.status_code == 202
    assert "Digest" not in response.request.headers
    assert response.request.headers["Date"] == date
    assert 'headers="(request-target) host date"' in response.request.headers["Signature"]
    assert seen[0].verified


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (frozenset({Scheme.RFC9421}), [Scheme.RFC9421]),
        (frozenset({Scheme.CAVAGE}), [Scheme.RFC9421, Scheme.CAVAGE]),
    ],
)
async def test_double_knock_remembers_what_worked(
    accept: frozenset[Scheme], expected: list[Scheme]
) -> None:
    seen: list[VerificationResult] = []
    transport = httpx.MockTransport(verifying_handler(RSA_PUBLIC, accept, seen))
    preferences = SignaturePreferences()
    auth = HttpSignatureAuth(KEY_ID, RSA_PRIVATE, preferences=preferences, clock=clock)
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        first = await client.post("https://remote.example/inbox", content=BODY)
        assert first.status_code == 202
        assert [r.scheme for r in seen] == expected
        assert all(r.verified for r in seen)
        origin = "https://remote.example"
        assert preferences.preferred(origin) is expected[-1]
        seen.clear()
        second = await client.post("https://remote.example/inbox", content=BODY)
    assert second.status_code == 202
    assert [r.scheme for r in seen] == [expected[-1]]


async def test_streamed_body_is_read_once_and_signed_twice() -> None:
    seen: list[VerificationResult] = []
    transport = httpx.MockTransport(verifying_handler(ED_PUBLIC, frozenset({Scheme.CAVAGE}), seen))
    auth = HttpSignatureAuth(KEY_ID, ED_PRIVATE, preferences=SignaturePreferences(), clock=clock)

    async def chunks() -> AsyncIterator[bytes]:
        yield BODY[:5]
        yield BODY[5:]

    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        response = await client.post("https://remote.example/inbox", content=chunks())
    assert response.status_code == 202
    assert [r.verified for r in seen] == [True, True]
    assert "Signature-Input" not in response.request.headers
    assert "Content-Digest" not in response.request.headers


def test_nothing_is_remembered_when_both_schemes_fail() -> None:
    seen: list[VerificationResult] = []
    transport = httpx.MockTransport(verifying_handler(RSA_PUBLIC, frozenset(), seen))
    preferences = SignaturePreferences()
    auth = HttpSignatureAuth(KEY_ID, RSA_PRIVATE, preferences=preferences, clock=clock)
    with httpx.Client(transport=transport, auth=auth) as client:
        response = client.post("https://remote.example/inbox", content=BODY)
    assert response.status_code == 401
    assert len(seen) == 2
    assert len(preferences) == 0


def test_server_errors_are_not_remembered_nor_retried() -> None:
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    preferences = SignaturePreferences()
    auth = HttpSignatureAuth(KEY_ID, RSA_PRIVATE, preferences=preferences, clock=clock)
    with httpx.Client(transport=httpx.MockTransport(handle), auth=auth) as client:
        assert client.post("https://remote.example/inbox", content=BODY).status_code == 500
    assert len(calls) == 1
    assert "Signature-Input" in calls[0].headers
    assert len(preferences) == 0


def test_preferences_are_per_origin_and_bounded() -> None:
    preferences = SignaturePreferences(max_origins=2)
    assert preferences.order("https://a.example") == (Scheme.RFC9421, Scheme.CAVAGE)
    preferences.remember("https://a.example", Scheme.CAVAGE)
    preferences.remember("https://b.example", Scheme.RFC9421)
    assert preferences.order("https://a.example") == (Scheme.CAVAGE, Scheme.RFC9421)
    preferences.remember("https://c.example", Scheme.CAVAGE)
    assert preferences.preferred("https://b.example") is None
    assert preferences.preferred("https://a.example") is Scheme.CAVAGE
    assert len(preferences) == 2


def test_origin_of_url() -> None:
    assert origin_of_url(httpx.URL("https://Remote.Example/inbox")) == "https://remote.example"
    assert origin_of_url(httpx.URL("http://127.0.0.1:8000/x")) == "http://127.0.0.1:8000"
