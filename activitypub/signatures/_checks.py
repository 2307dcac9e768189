"""Small pure checks shared by both schemes: algorithms, digests, time window, host."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from activitypub.keys import PrivateKey, PublicKey
from activitypub.signatures._model import Scheme
from activitypub.signatures._sfv import InnerList, StructuredFieldError, parse_dictionary

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_VALIDITY",
    "MAX_VALIDITY",
    "check_content_digest",
    "check_digest",
    "check_window",
    "content_digest_header",
    "digest_header",
    "encode_base",
    "format_http_date",
    "key_algorithm",
    "normalize_authority",
    "parse_http_date",
    "sign_bytes",
    "verify_bytes",
]

#: Mastodon's margins (app/controllers/concerns/signature_verification.rb): a signature
#: may be dated up to an hour ahead; without ``expires`` it is valid five minutes,
#: never more than twelve hours, plus the hour of clock skew.
CLOCK_SKEW = timedelta(hours=1)
DEFAULT_VALIDITY = timedelta(minutes=5)
MAX_VALIDITY = timedelta(hours=12)

CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019", "ed25519"})
RFC9421_ALGORITHMS = frozenset({"rsa-v1_5-sha256", "ed25519"})

_RSA_ONLY = frozenset({"rsa-sha256", "rsa-v1_5-sha256"})
_ED25519_ONLY = frozenset({"ed25519"})


def key_algorithm(scheme: Scheme, declared: str | None, key: PublicKey) -> str | None:
    """The algorithm to verify with (``"rsa"`` or ``"ed25519"``), or None on a mismatch.

    An absent algorithm and ``hs2019`` mean: decide by the key type.
    """
    supported = CAVAGE_ALGORITHMS if scheme is Scheme.CAVAGE else RFC9421_ALGORITHMS
    if declared is not None and declared not in supported:
        return None
    if isinstance(key, rsa.RSAPublicKey):
        return None if declared in _ED25519_ONLY else "rsa"
    return None if declared in _RSA_ONLY else "ed25519"


def sign_bytes(key: PrivateKey, data: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 for RSA keys, plain Ed25519 otherwise."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


def verify_bytes(key: PublicKey, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is valid for ``data`` under ``key``."""
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _b64_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def digest_header(body: bytes) -> str:
    """The RFC 3230 ``Digest`` value Mastodon expects."""
    return f"SHA-256={_b64_sha256(body)}"


def content_digest_header(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value."""
    return f"sha-256=:{_b64_sha256(body)}:"


def check_digest(value: str, body: bytes) -> str | None:
    """None when the ``Digest`` has a SHA-256 entry matching ``body``; else why not.

    Like Mastodon, a ``Digest`` without SHA-256 is refused even if it has SHA-512.
    """
    offered: dict[str, str] = {}
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if sep:
            offered.setdefault(name.strip().lower(), encoded.strip())
    expected = offered.get("sha-256")
    if expected is None:
        names = ", ".join(sorted(offered)) or "none"
        return f"Digest has no SHA-256 value (offered: {names})"
    if not hmac.compare_digest(expected.encode("ascii", "replace"), _b64_sha256(body).encode()):
        return "Digest does not match the body"
    return None


_CONTENT_DIGEST_ALGORITHMS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def check_content_digest(value: str, body: bytes) -> str | None:
    """None when every SHA-256/SHA-512 entry of ``Content-Digest`` matches and one exists."""
    try:
        members = parse_dictionary(value)
    except StructuredFieldError:
        return "Content-Digest is not a structured dictionary"
    checked = 0
    for name, member in members.items():
        algorithm = _CONTENT_DIGEST_ALGORITHMS.get(name)
        if algorithm is None:
            continue
        if isinstance(member, InnerList) or not isinstance(member.value, bytes):
            return f"Content-Digest {name} is not a byte sequence"
        if not hmac.compare_digest(member.value, algorithm(body).digest()):
            return "Content-Digest does not match the body"
        checked += 1
    if not checked:
        return "Content-Digest has no sha-256 or sha-512 value"
    return None


_IMF_FIXDATE = re.compile(r"[A-Z][a-z]{2}, (\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def parse_http_date(value: str) -> datetime | None:
    """Parse an HTTP date (``Sun, 05 Jan 2014 21:31:40 GMT``); None if unreadable."""
    match = _IMF_FIXDATE.fullmatch(value)
    if match is not None and match.group(2) in _MONTHS:
        day, _, year, hour, minute, second = match.groups()
        try:
            return datetime(
                int(year),
                _MONTHS[match.group(2)],
                int(day),
                int(hour),
                int(minute),
                int(second),
                tzinfo=UTC,
            )
        except ValueError:
            return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_http_date(moment: datetime) -> str:
    """Format an aware datetime as an IMF-fixdate."""
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def check_window(created: datetime | None, expires: datetime | None, now: datetime) -> str | None:
    """None when the signature time is acceptable at ``now``; else why not (Mastodon's rule).

    ``expires`` in the past is refused outright (no skew margin on an explicit expiry).
    """
    if created is not None and created > now + CLOCK_SKEW:
        return "signature is dated in the future"
    if expires is not None and now > expires:
        return "signature has expired"
    if created is not None:
        limit = min(expires or created + DEFAULT_VALIDITY, created + MAX_VALIDITY)
        if now > limit + CLOCK_SKEW:
            return "signature is too old"
    return None


def timestamp(value: int | None) -> datetime | None:
    """UTC datetime of a Unix time; raise ValueError when it is out of range."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(value) from exc


def encode_base(text: str) -> bytes:
    """Bytes of a signing string or signature base.

    Header values decoded as Latin-1 (ASGI servers, httpx) get their bytes back;
    anything else is UTF-8.
    """
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


@functools.lru_cache(maxsize=256)
def normalize_authority(value: str) -> str:
    """Lowercase host[:port] without a trailing dot and without port 80 or 443."""
    text = value.strip().lower()
    if text.startswith("["):
        host, _, rest = text.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else rest
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    host = host.rstrip(".")
    return host if port in ("", "80", "443") else f"{host}:{port}"
