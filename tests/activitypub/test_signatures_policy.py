"""Every branch that decides trust: each failure reason and each edge of the time window."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from activitypub.keys import (
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_private_key_pem,
    load_public_key_pem,
)
from activitypub.signatures import (
    PrivateKey,
    Reason,
    RequestParts,
    Scheme,
    VerificationResult,
    digest_header,
    parse_signature,
    sign_request,
    verify,
    verify_request,
)
from activitypub.signatures._checks import format_http_date, sign_bytes
from activitypub.signatures.cavage import cavage_signature_header, cavage_signing_string
from activitypub.signatures.rfc9421 import rfc9421_headers

HOST = "example.com"
KEY_ID = "https://remote.example/users/alice#main-key"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
BODY = b'{"type": "Follow", "actor": "https://remote.example/users/alice"}'
RSA_PRIVATE_PEM, RSA_PUBLIC_PEM = generate_rsa_keypair()
ED_PRIVATE_PEM, ED_PUBLIC_PEM = generate_ed25519_keypair()
RSA_PRIVATE = load_private_key_pem(RSA_PRIVATE_PEM)
ED_PRIVATE = load_private_key_pem(ED_PRIVATE_PEM)
POST_COVERED = ("(request-target)", "host", "date", "digest", "content-type")
GET_COVERED = ("(request-target)", "host", "date")


def cavage_headers(
    method: str = "POST",
    target: str = "/inbox",
    body: bytes = BODY,
    *,
    covered: Sequence[str] | None = None,
    date: datetime = NOW,
    key: PrivateKey = RSA_PRIVATE,
    host: str = HOST,
) -> dict[str, str]:
    headers = {"Host": host, "Date": format_http_date(date)}
    if body:
        headers |= {"Digest": digest_header(body), "Content-Type": "application/activity+json"}
    default = POST_COVERED if body else GET_COVERED
    parts = RequestParts.build(method, target, headers, body)
    headers["Signature"] = cavage_signature_header(parts, key, KEY_ID, covered or default)
    return headers


def check(
    headers: dict[str, str],
    method: str = "POST",
    target: str = "/inbox",
    body: bytes = BODY,
    *,
    key: object = RSA_PUBLIC_PEM,
    now: datetime = NOW,
    host: str = HOST,
) -> VerificationResult:
    return verify_request(
        method,
        target,
        headers,
        body,
        key,  # type: ignore[arg-type]
        expected_host=host,
        now=now,
    )


# draft-cavage: what is accepted


def test_signed_post_verifies() -> None:
    assert check(cavage_headers()) == VerificationResult.ok(KEY_ID, Scheme.CAVAGE)


def test_signed_get_verifies_without_digest() -> None:
    headers = cavage_headers("GET", "/users/bob", b"")
    assert "Digest" not in headers
    assert check(headers, "GET", "/users/bob", b"").verified


def test_hs2019_with_rsa_and_ed25519() -> None:
    rsa_headers = cavage_headers()
    rsa_headers["Signature"] = rsa_headers["Signature"].replace("rsa-sha256", "hs2019")
    assert check(rsa_headers).verified
    ed_headers = cavage_headers(key=ED_PRIVATE)
    assert 'algorithm="hs2019"' in ed_headers["Signature"]
    assert check(ed_headers, key=ED_PUBLIC_PEM).verified


def test_key_objects_and_resolvers_are_accepted() -> None:
    headers = cavage_headers()
    assert check(headers, key=load_public_key_pem(RSA_PUBLIC_PEM)).verified
    resolved: list[str] = []

    def resolver(key_id: str) -> str:
        resolved.append(key_id)
        return RSA_PUBLIC_PEM

    assert check(headers, key=resolver).verified
    assert resolved == [KEY_ID]


def test_header_names_are_case_insensitive() -> None:
    headers = {name.upper(): value for name, value in cavage_headers().items()}
    assert check(headers).verified
    pairs = [(name.lower(), value) for name, value in cavage_headers().items()]
    assert verify_request(
        "post", "/inbox", pairs, BODY, RSA_PUBLIC_PEM, expected_host=HOST, now=NOW
    ).verified


def test_authorization_signature_is_accepted() -> None:
    headers = cavage_headers()
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    assert check(headers).verified


@pytest.mark.parametrize("expected_host", ["example.com", "EXAMPLE.com", "example.com:443"])
def test_host_comparison_ignores_case_and_default_port(expected_host: str) -> None:
    assert check(cavage_headers(), host=expected_host).verified


def test_host_with_port() -> None:
    headers = cavage_headers(host="127.0.0.1:8000")
    assert check(headers, host="127.0.0.1:8000").verified
    assert check(headers, host="127.0.0.1:8001").reason is Reason.WRONG_HOST


def test_query_string_variant_accepted() -> None:
    signed_without_query = cavage_headers("GET", "/outbox", b"")
    assert check(signed_without_query, "GET", "/outbox?page=true", b"").verified
    signed_with_query = cavage_headers("GET", "/outbox?page=true", b"")
    assert check(signed_with_query, "GET", "/outbox?page=true", b"").verified
    assert check(signed_with_query, "GET", "/outbox?page=false", b"").reason is (
        Reason.BAD_SIGNATURE
    )


def test_digest_with_sha256_among_others_is_accepted() -> None:
    headers = cavage_headers()
    headers["Digest"] = "SHA-512=AAAA," + headers["Digest"]
    body_less = {k: v for k, v in headers.items() if k != "Signature"}
    parts = RequestParts.build("POST", "/inbox", body_less, BODY)
    headers["Signature"] = cavage_signature_header(parts, RSA_PRIVATE, KEY_ID, POST_COVERED)
    assert check(headers).verified


# draft-cavage: the time window (Mastodon: 1 h ahead, 5 min validity + 1 h skew)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(minutes=-30), True),
        (timedelta(minutes=-64), True),
        (timedelta(minutes=-66), False),
        (timedelta(hours=-2), False),
        (timedelta(minutes=59), True),
        (timedelta(minutes=70), False),
    ],
    ids=["30min-old", "64min-old", "66min-old", "2h-old", "59min-ahead", "70min-ahead"],
)
def test_date_window(offset: timedelta, accepted: bool) -> None:
    result = check(cavage_headers(date=NOW + offset))
    assert result.verified is accepted
    if not accepted:
        assert result.reason is Reason.EXPIRED
        assert result.key_id == KEY_ID


def _created_expires_header(
    created: int, expires: int, algorithm: str = "hs2019"
) -> dict[str, str]:
    headers = {
        "Host": HOST,
        "Digest": digest_header(BODY),
        "Content-Type": "application/activity+json",
    }
    covered = ("(request-target)", "(created)", "(expires)", "host", "digest")
    parts = RequestParts.build("POST", "/inbox", headers, BODY)
    text = cavage_signing_string(covered, parts, created=created, expires=expires)
    signature = base64.b64encode(sign_bytes(ED_PRIVATE, text.encode())).decode()
    headers["Signature"] = (
        f'keyId="{KEY_ID}",algorithm="{algorithm}",headers="{" ".join(covered)}",'
        f'created={created},expires={expires},signature="{signature}"'
    )
    return headers


def test_created_and_expires_pseudo_headers() -> None:
    now = int(NOW.timestamp())
    assert check(_created_expires_header(now - 10, now + 300), key=ED_PUBLIC_PEM).verified
    expired = check(_created_expires_header(now - 400, now - 100), key=ED_PUBLIC_PEM)
    assert expired.reason is Reason.EXPIRED
    ahead = check(_created_expires_header(now + 4200, now + 4500), key=ED_PUBLIC_PEM)
    assert ahead.reason is Reason.EXPIRED


def test_created_pseudo_header_refused_with_rsa_sha256() -> None:
    now = int(NOW.timestamp())
    headers = _created_expires_header(now, now + 300, algorithm="rsa-sha256")
    assert check(headers, key=ED_PUBLIC_PEM).reason is Reason.MALFORMED


def test_unreadable_date_is_malformed() -> None:
    headers = cavage_headers()
    headers["Date"] = "yesterday"
    assert check(headers).reason is Reason.MALFORMED


# draft-cavage: what is refused


def test_body_modified_after_signing() -> None:
    result = check(cavage_headers(), body=BODY.replace(b"Follow", b"Delete"))
    assert result.reason is Reason.BAD_DIGEST


def test_post_without_digest_signed() -> None:
    headers = cavage_headers(covered=("(request-target)", "host", "date"))
    assert check(headers).reason is Reason.MISSING_REQUIRED_HEADER


def test_get_without_host_signed() -> None:
    headers = cavage_headers("GET", "/users/bob", b"", covered=("(request-target)", "date"))
    assert check(headers, "GET", "/users/bob", b"").reason is Reason.MISSING_REQUIRED_HEADER


def test_neither_date_nor_created_signed() -> None:
    headers = cavage_headers(covered=("(request-target)", "host", "digest"))
    assert check(headers).reason is Reason.MISSING_REQUIRED_HEADER


def test_get_without_request_target_or_digest_signed() -> None:
    headers = cavage_headers("GET", "/users/bob", b"", covered=("host", "date"))
    assert check(headers, "GET", "/users/bob", b"").reason is Reason.MISSING_REQUIRED_HEADER


def test_wrong_host() -> None:
    headers = cavage_headers(host="other.example")
    assert check(headers).reason is Reason.WRONG_HOST


def test_missing_host_header() -> None:
    headers = cavage_headers()
    del headers["Host"]
    assert check(headers).reason is Reason.MISSING_REQUIRED_HEADER


def test_sha512_only_digest_refused() -> None:
    headers = cavage_headers()
    headers["Digest"] = "SHA-512=" + base64.b64encode(b"x" * 64).decode()
    result = check(headers)
    assert result.reason is Reason.BAD_DIGEST
    assert "SHA-256" in result.detail


def test_signed_header_missing_from_request() -> None:
    headers = {"Host": HOST, "Date": format_http_date(NOW), "X-Extra": "1"}
    headers |= {"Digest": digest_header(BODY), "Content-Type": "application/activity+json"}
    parts = RequestParts.build("POST", "/inbox", headers, BODY)
    covered = (*POST_COVERED, "x-extra")
    headers["Signature"] = cavage_signature_header(parts, RSA_PRIVATE, KEY_ID, covered)
    assert check(headers).verified
    del headers["X-Extra"]
    assert check(headers).reason is Reason.MISSING_REQUIRED_HEADER


def test_signed_header_changed() -> None:
    headers = cavage_headers()
    headers["Content-Type"] = "text/plain"
    assert check(headers).reason is Reason.BAD_SIGNATURE


def test_wrong_key() -> None:
    _, other_public = generate_ed25519_keypair()
    headers = cavage_headers(key=ED_PRIVATE)
    assert check(headers, key=other_public).reason is Reason.BAD_SIGNATURE


def test_declared_algorithm_must_fit_the_key() -> None:
    headers = cavage_headers(key=ED_PRIVATE)
    headers["Signature"] = headers["Signature"].replace("hs2019", "rsa-sha256")
    assert check(headers, key=ED_PUBLIC_PEM).reason is Reason.UNSUPPORTED_ALGORITHM


def test_unsupported_algorithm() -> None:
    headers = cavage_headers()
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", "rsa-sha512")
    result = check(headers)
    assert result.reason is Reason.UNSUPPORTED_ALGORITHM
    assert result.key_id == KEY_ID


def test_unknown_key() -> None:
    assert check(cavage_headers(), key=lambda _key_id: None).reason is Reason.UNKNOWN_KEY
    assert check(cavage_headers(), key="not a pem").reason is Reason.UNKNOWN_KEY
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert check(cavage_headers(), key=ec_key).reason is Reason.UNKNOWN_KEY


def test_no_signature() -> None:
    headers = cavage_headers()
    del headers["Signature"]
    result = check(headers)
    assert result.reason is Reason.NO_SIGNATURE
    assert check({**headers, "Authorization": "Bearer abc"}).reason is Reason.NO_SIGNATURE


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        'algorithm="rsa-sha256",signature="AAAA"',
        'keyId="k",algorithm="rsa-sha256"',
        'keyId="k",signature="not base64!"',
        'keyId="k",keyId="j",signature="AAAA"',
        'keyId="k",headers="",signature="AAAA"',
        'keyId="k",signature="AAAA",created="soon"',
        'keyId="k" signature="AAAA"',
    ],
)
def test_malformed_signature_header(value: str) -> None:
    headers = cavage_headers()
    headers["Signature"] = value
    assert check(headers).reason is Reason.MALFORMED


def test_parse_exposes_key_id_without_io() -> None:
    parsed = parse_signature(cavage_headers())
    assert not isinstance(parsed, VerificationResult)
    assert parsed.key_id == KEY_ID
    assert parsed.scheme is Scheme.CAVAGE
    assert parsed.covered == POST_COVERED


# RFC 9421


def rfc9421_request(
    method: str = "POST",
    url: str = "https://example.com/inbox",
    body: bytes = BODY,
    *,
    key: PrivateKey = RSA_PRIVATE,
    now: datetime = NOW,
) -> tuple[str, str, dict[str, str], bytes]:
    request = httpx.Request(method, url, content=body or None)
    sign_request(request, KEY_ID, key, scheme=Scheme.RFC9421, now=now)
    return method, request.url.raw_path.decode(), dict(request.headers), body


def check_9421(
    parts: tuple[str, str, dict[str, str], bytes],
    *,
    key: object = RSA_PUBLIC_PEM,
    now: datetime = NOW,
) -> VerificationResult:
    method, target, headers, body = parts
    return verify_request(
        method,
        target,
        headers,
        body,
        key,  # type: ignore[arg-type]
        expected_host=HOST,
        now=now,
    )


@pytest.mark.parametrize(
    ("private", "public"), [(RSA_PRIVATE, RSA_PUBLIC_PEM), (ED_PRIVATE, ED_PUBLIC_PEM)]
)
def test_rfc9421_post_and_get(private: PrivateKey, public: str) -> None:
    post = rfc9421_request(key=private)
    assert check_9421(post, key=public) == VerificationResult.ok(KEY_ID, Scheme.RFC9421)
    get = rfc9421_request("GET", "https://example.com/users/bob?page=1", b"", key=private)
    assert "content-digest" not in get[2]
    assert check_9421(get, key=public).verified


def test_rfc9421_body_modified() -> None:
    method, target, headers, _ = rfc9421_request()
    result = check_9421((method, target, headers, BODY + b" "))
    assert result.reason is Reason.BAD_DIGEST


def test_rfc9421_window() -> None:
    assert check_9421(rfc9421_request(now=NOW - timedelta(minutes=30))).verified
    old = check_9421(rfc9421_request(now=NOW - timedelta(hours=2)))
    assert old.reason is Reason.EXPIRED
    ahead = check_9421(rfc9421_request(now=NOW + timedelta(minutes=70)))
    assert ahead.reason is Reason.EXPIRED


def _custom_9421(
    components: Sequence[str],
    *,
    method: str = "POST",
    created: int | None = None,
    expires: int | None = None,
    body: bytes = BODY,
) -> tuple[str, str, dict[str, str], bytes]:
    headers = {"Host": HOST, "Date": format_http_date(NOW)}
    if body:
        headers["Content-Digest"] = "sha-256=:" + digest_header(body)[8:] + ":"
    parts = RequestParts.build(method, "/inbox", headers, body)
    signature_input, signature = rfc9421_headers(
        parts,
        RSA_PRIVATE,
        KEY_ID,
        components,
        created=int(NOW.timestamp()) if created is None else created,
        expires=expires,
    )
    headers |= {"Signature-Input": signature_input, "Signature": signature}
    return method, "/inbox", headers, body


def test_rfc9421_expired() -> None:
    now = int(NOW.timestamp())
    parts = _custom_9421(["@method", "@path", "content-digest"], created=now - 60, expires=now - 1)
    assert check_9421(parts).reason is Reason.EXPIRED


def test_rfc9421_post_without_content_digest_signed() -> None:
    parts = _custom_9421(["@method", "@target-uri", "date"])
    assert check_9421(parts).reason is Reason.MISSING_REQUIRED_HEADER


def test_rfc9421_get_without_authority_signed() -> None:
    parts = _custom_9421(["@method", "@path", "date"], method="GET", body=b"")
    assert check_9421(parts).reason is Reason.MISSING_REQUIRED_HEADER
    parts = _custom_9421(["@method", "@path", "@authority"], method="GET", body=b"")
    assert check_9421(parts).verified


def test_rfc9421_created_is_required() -> None:
    method, target, headers, body = _custom_9421(["@method", "@path", "content-digest"])
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        f"created={int(NOW.timestamp())};", ""
    )
    result = check_9421((method, target, headers, body))
    assert result.reason is Reason.MISSING_REQUIRED_HEADER


def test_rfc9421_multiple_labels_first_supported_wins() -> None:
    method, target, headers, body = _custom_9421(["@method", "@path", "content-digest"])
    label_input = headers["Signature-Input"].removeprefix("sig1=")
    label_signature = headers["Signature"].removeprefix("sig1=")
    headers["Signature-Input"] = (
        'pss=("@method");created=1;keyid="x";alg="rsa-pss-sha512", mine=' + label_input
    )
    headers["Signature"] = "pss=:AAAA:, mine=" + label_signature
    assert check_9421((method, target, headers, body)).verified
    headers["Signature-Input"] = 'pss=("@method");created=1;keyid="x";alg="rsa-pss-sha512"'
    headers["Signature"] = "pss=:AAAA:"
    assert check_9421((method, target, headers, body)).reason is Reason.UNSUPPORTED_ALGORITHM


def test_rfc9421_unsupported_component_is_malformed() -> None:
    method, target, headers, body = _custom_9421(["@method", "@path", "content-digest"])
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        '"@path"', '"@query-param";name="a"'
    )
    assert check_9421((method, target, headers, body)).reason is Reason.MALFORMED


@pytest.mark.parametrize(
    ("signature_input", "signature"),
    [
        ('sig1=("@method");created=1;keyid="k"', None),
        ('sig1=("@method");created=1;keyid="k"', "other=:AAAA:"),
        ('sig1=("@method");created=1', "sig1=:AAAA:"),
        ('sig1=("@Method");created=1;keyid="k"', "sig1=:AAAA:"),
        ('sig1=("@method" "@method");created=1;keyid="k"', "sig1=:AAAA:"),
        ("sig1=(@method", "sig1=:AAAA:"),
        ('sig1=("@method");created=1;keyid="k"', "sig1=:not base64:"),
    ],
)
def test_rfc9421_malformed(signature_input: str, signature: str | None) -> None:
    headers = {"Host": HOST, "Signature-Input": signature_input}
    if signature is not None:
        headers["Signature"] = signature
    result = verify_request("GET", "/", headers, b"", RSA_PUBLIC_PEM, expected_host=HOST, now=NOW)
    assert result.reason is Reason.MALFORMED


def test_rfc9421_algorithm_must_fit_the_key() -> None:
    parts = rfc9421_request(key=ED_PRIVATE)
    parts[2]["signature-input"] = parts[2]["signature-input"].replace(
        'alg="ed25519"', 'alg="rsa-v1_5-sha256"'
    )
    assert check_9421(parts, key=ED_PUBLIC_PEM).reason is Reason.UNSUPPORTED_ALGORITHM


def test_verify_accepts_a_parsed_signature_and_parts() -> None:
    method, target, headers, body = rfc9421_request()
    parsed = parse_signature(headers)
    assert not isinstance(parsed, VerificationResult)
    assert parsed.key_id == KEY_ID
    request = RequestParts.build(method, target, headers, body)
    result = verify(parsed, request, RSA_PUBLIC_PEM, expected_host=HOST, now=NOW)
    assert result.verified
    assert verify(parsed, request, RSA_PUBLIC_PEM, expected_host=HOST, now=NOW, scheme="http")
    assert not verify(
        parsed, request, RSA_PUBLIC_PEM, expected_host=HOST, now=NOW, scheme="http"
    ).verified


# Never raises


@pytest.mark.parametrize("created", [10**14, -(10**14), 999999999999])
def test_out_of_range_times_are_refused(created: int) -> None:
    parts = _custom_9421(["@method", "@path", "content-digest"], created=created)
    assert check_9421(parts).reason in (Reason.MALFORMED, Reason.EXPIRED)
    headers = _created_expires_header(created, created)
    assert check(headers, key=ED_PUBLIC_PEM).reason in (Reason.MALFORMED, Reason.EXPIRED)


_TEXT = st.text(max_size=200)
_SIGNATURE_LIKE = st.one_of(
    _TEXT,
    st.builds(
        lambda key, alg, headers, sig: (
            f'keyId="{key}",algorithm="{alg}",headers="{headers}",signature="{sig}"'
        ),
        _TEXT,
        st.sampled_from(["rsa-sha256", "hs2019", "ed25519", "x"]),
        _TEXT,
        st.sampled_from(["AAAA", "", "====", "!"]),
    ),
)


@given(signature=_SIGNATURE_LIKE, signature_input=st.one_of(st.none(), _TEXT), date=_TEXT)
def test_verification_never_raises(signature: str, signature_input: str | None, date: str) -> None:
    headers = {"Host": HOST, "Date": date, "Signature": signature, "Digest": date}
    if signature_input is not None:
        headers["Signature-Input"] = signature_input
    result = verify_request(
        "POST", "/inbox", headers, BODY, RSA_PUBLIC_PEM, expected_host=HOST, now=NOW
    )
    assert isinstance(result, VerificationResult)
    assert not result.verified
    assert result.reason is not None
