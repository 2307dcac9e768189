"""draft-cavage-http-signatures-12, as Mastodon speaks it.

Signature header: ``keyId="…",algorithm="rsa-sha256",headers="(request-target) host
date digest",signature="base64"``. The signing string is one ``name: value`` line per
covered header, joined with ``\\n``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import rsa

from activitypub.keys import PrivateKey
from activitypub.signatures._checks import CAVAGE_ALGORITHMS, encode_base, sign_bytes
from activitypub.signatures._model import (
    ParsedSignature,
    Reason,
    RequestParts,
    Scheme,
    VerificationResult,
)

__all__ = [
    "MissingHeaderError",
    "cavage_signature_header",
    "cavage_signing_string",
    "parse_cavage",
]

#: ``name="value"`` or ``name=value``; draft-cavage defines no escapes inside quotes.
_PARAM = re.compile(
    r'[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(?:"([^"]*)"|([^",\s]*))[ \t]*(,|\Z)'
)
_NUMBER = re.compile(r"^\d{1,12}(?:\.\d{1,9})?$")
_PSEUDO_TIMES = frozenset({"(created)", "(expires)"})
#: Mastodon's default when ``headers`` is absent (the draft says ``(created)``).
_DEFAULT_HEADERS = ("date",)


class MissingHeaderError(KeyError):
    """A covered header is absent from the request."""


def _fail(reason: Reason, detail: str, key_id: str | None = None) -> VerificationResult:
    return VerificationResult.fail(reason, detail, key_id, Scheme.CAVAGE)


def _split_params(value: str) -> dict[str, str] | None:
    params: dict[str, str] = {}
    pos = 0
    for match in _PARAM.finditer(value):
        name, quoted, bare, _ = match.groups()
        if match.start() != pos or name in params:
            return None
        params[name] = quoted if quoted is not None else bare
        pos = match.end()
    return params if pos == len(value) and params else None


def _timestamp(text: str | None) -> int | None:
    if text is None:
        return None
    if not _NUMBER.match(text):
        raise ValueError(text)
    return int(text.partition(".")[0])


def parse_cavage(value: str) -> ParsedSignature | VerificationResult:
    """Parse a ``Signature`` header value (or what follows ``Authorization: Signature``)."""
    params = _split_params(value.strip())
    if params is None:
        return _fail(Reason.MALFORMED, "Signature header is not a list of key=value pairs")
    key_id = params.get("keyId")
    encoded = params.get("signature")
    if not key_id or not encoded:
        return _fail(Reason.MALFORMED, "Signature header lacks keyId or signature", key_id)
    algorithm = params.get("algorithm")
    algorithm = algorithm.lower() if algorithm is not None else None
    if algorithm is not None and algorithm not in CAVAGE_ALGORITHMS:
        return _fail(
            Reason.UNSUPPORTED_ALGORITHM, f"algorithm {algorithm} is not supported", key_id
        )
    try:
        signature = base64.b64decode(encoded, validate=True)
        created = _timestamp(params.get("created"))
        expires = _timestamp(params.get("expires"))
    except (binascii.Error, ValueError):
        return _fail(Reason.MALFORMED, "signature, created or expires is not well-formed", key_id)
    headers = params.get("headers")
    covered = tuple(headers.lower().split()) if headers is not None else _DEFAULT_HEADERS
    if not covered or not signature:
        return _fail(Reason.MALFORMED, "empty headers or signature", key_id)
    if _PSEUDO_TIMES & set(covered) and algorithm not in (None, "hs2019", "ed25519"):
        return _fail(
            Reason.MALFORMED, f"(created)/(expires) are not allowed with {algorithm}", key_id
        )
    return ParsedSignature(
        scheme=Scheme.CAVAGE,
        key_id=key_id,
        algorithm=algorithm,
        covered=covered,
        signature=signature,
        created=created,
        expires=expires,
    )


def cavage_signing_string(
    covered: Sequence[str],
    request: RequestParts,
    *,
    created: int | None = None,
    expires: int | None = None,
    include_query: bool = True,
) -> str:
    """Build the string to sign; raise MissingHeaderError for an absent covered header."""
    target = request.target if include_query else request.path
    lines: list[str] = []
    for name in covered:
        if name == "(request-target)":
            value = f"{request.method.lower()} {target}"
        elif name == "(created)" or name == "(expires)":
            number = created if name == "(created)" else expires
            if number is None:
                raise MissingHeaderError(name)
            value = str(number)
        else:
            found = request.headers.get(name)
            if found is None:
                raise MissingHeaderError(name)
            value = found
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def cavage_signature_header(
    request: RequestParts,
    private_key: PrivateKey,
    key_id: str,
    covered: Sequence[str],
) -> str:
    """Sign ``request`` and return the ``Signature`` header value.

    RSA keys announce ``rsa-sha256`` (what Mastodon expects); other keys ``hs2019``.
    """
    text = cavage_signing_string(covered, request)
    signature = base64.b64encode(sign_bytes(private_key, encode_base(text))).decode("ascii")
    algorithm = "rsa-sha256" if isinstance(private_key, rsa.RSAPrivateKey) else "hs2019"
    quoted_id = key_id.replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'keyId="{quoted_id}",algorithm="{algorithm}",'
        f'headers="{" ".join(covered)}",signature="{signature}"'
    )
