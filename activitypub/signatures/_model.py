"""Values shared by the signature modules: schemes, reasons, results, request parts."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from activitypub.signatures._sfv import InnerList

__all__ = [
    "HeaderInput",
    "ParsedSignature",
    "Reason",
    "RequestParts",
    "Scheme",
    "VerificationResult",
    "normalize_headers",
]


class Scheme(enum.Enum):
    """The two signature formats in use on the fediverse."""

    CAVAGE = "draft-cavage-12"
    RFC9421 = "rfc9421"


class Reason(enum.Enum):
    """Why a request is not authenticated. Every value means: answer 401."""

    NO_SIGNATURE = "no_signature"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_DIGEST = "bad_digest"
    EXPIRED = "expired"
    WRONG_HOST = "wrong_host"
    BAD_SIGNATURE = "bad_signature"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    MISSING_REQUIRED_HEADER = "missing_required_header"


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The outcome of parsing or verifying: ``verified`` or a ``reason`` with a short detail.

    ``detail`` is safe to log and to return to the peer; ``key_id`` is set whenever a
    signature could be parsed, so a failure can still be attributed.
    """

    verified: bool
    reason: Reason | None = None
    detail: str = ""
    key_id: str | None = None
    scheme: Scheme | None = None

    @classmethod
    def ok(cls, key_id: str, scheme: Scheme) -> VerificationResult:
        return cls(True, None, "", key_id, scheme)

    @classmethod
    def fail(
        cls,
        reason: Reason,
        detail: str,
        key_id: str | None = None,
        scheme: Scheme | None = None,
    ) -> VerificationResult:
        return cls(False, reason, detail, key_id, scheme)


@dataclass(frozen=True, slots=True)
class ParsedSignature:
    """A signature header read without any I/O: enough to fetch the key, then verify.

    ``covered`` lists what the signature covers: header names and ``(pseudo-headers)``
    for draft-cavage, component names (``@method``, ``content-digest``) for RFC 9421.
    ``algorithm`` is the declared algorithm, lowercased, or None when absent.
    """

    scheme: Scheme
    key_id: str
    algorithm: str | None
    covered: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None
    label: str | None = None
    signature_params: InnerList | None = None


HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]


def normalize_headers(headers: HeaderInput) -> dict[str, str]:
    """Lowercase names, trim values, join repeated fields with ``", "`` (RFC 9110 5.3)."""
    pairs: Iterable[tuple[str, str]] = (
        headers.items() if isinstance(headers, dict | Mapping) else headers
    )
    result: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        text = value.strip()
        result[key] = f"{result[key]}, {text}" if key in result else text
    return result


@dataclass(frozen=True, slots=True)
class RequestParts:
    """The parts of an HTTP request a signature can cover.

    ``target`` is the request target as received: the raw (still percent-encoded) path
    plus ``?query`` when there is one. ``headers`` must come from
    :func:`normalize_headers` (use :meth:`build`).
    """

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes = b""

    @classmethod
    def build(
        cls, method: str, target: str, headers: HeaderInput, body: bytes | None = None
    ) -> RequestParts:
        return cls(method.upper(), target or "/", normalize_headers(headers), body or b"")

    @property
    def path(self) -> str:
        return self.target.partition("?")[0] or "/"

    @property
    def query(self) -> str | None:
        _, sep, query = self.target.partition("?")
        return query if sep else None
